"""Training objectives: one file per objective, all registered by name."""

from neurorep.objectives.base import Objective
from neurorep.objectives.registry import OBJECTIVES, create_objective, list_objectives, register_objective

__all__ = ["OBJECTIVES", "Objective", "create_objective", "list_objectives", "register_objective"]
