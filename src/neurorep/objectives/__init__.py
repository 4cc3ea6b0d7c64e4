"""Training objectives: one file per objective, all registered by name."""

from neurorep.objectives.base import Objective
from neurorep.objectives.registry import (
    OBJECTIVES,
    create_objective,
    list_objectives,
    register_objective,
)

# Built-in objectives (importing registers them).
from neurorep.objectives import contrastive, hybrid, masked  # noqa: E402,F401  isort: skip
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
