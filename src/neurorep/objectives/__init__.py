"""Training objectives: one file per objective, all registered by name."""

from neurorep.objectives.base import Objective
from neurorep.objectives.registry import (
    OBJECTIVES,
    create_objective,
    list_objectives,
    register_objective,
)

# Built-in objectives: every module of this package registers itself on import.
from neurorep.registry import import_submodules  # noqa: E402  isort: skip

import_submodules("neurorep.objectives", skip=("base", "registry"))
from neurorep.objectives.contrastive import Contrastive, nt_xent  # noqa: E402
from neurorep.objectives.hybrid import Hybrid  # noqa: E402
from neurorep.objectives.masked import MaskedPrediction, masked_mse  # noqa: E402

__all__ = [
    "OBJECTIVES",
    "Contrastive",
    "Hybrid",
    "MaskedPrediction",
    "Objective",
    "create_objective",
    "list_objectives",
    "masked_mse",
    "nt_xent",
    "register_objective",
]
