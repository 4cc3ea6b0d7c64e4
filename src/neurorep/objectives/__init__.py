"""Training objectives: one file per objective, all registered by name."""

from neurorep.objectives.base import Objective
from neurorep.objectives.registry import (
    OBJECTIVES,
    create_objective,
    list_objectives,
    register_objective,
)

# Built-in objectives: every module of this package registers itself on import.
from neurorep.registry import import_submodules

import_submodules("neurorep.objectives", skip=("base", "registry"))
from neurorep.objectives.composite import SumObjective, weighted_sum
from neurorep.objectives.contrastive import Contrastive, nt_xent
from neurorep.objectives.hybrid import Hybrid
from neurorep.objectives.masked import MaskedPrediction, masked_mse

__all__ = [
    "OBJECTIVES",
    "Contrastive",
    "Hybrid",
    "MaskedPrediction",
    "Objective",
    "SumObjective",
    "create_objective",
    "list_objectives",
    "masked_mse",
    "nt_xent",
    "register_objective",
    "weighted_sum",
]
