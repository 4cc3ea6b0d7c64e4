"""Recipe foundation: multi-scale patch transformer with channel attention, masked + contrastive
pretraining, fine-tuning on HMS expert-vote distributions, and a transfer-vs-scratch benchmark."""

from __future__ import annotations

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.foundation.config import (
    FoundationConfig,
    HMSDataConfig,
    PretrainConfig,
)
from neurorep.recipes.foundation.grid import benchmark_foundation
from neurorep.recipes.foundation.pipeline import (
    TransferLearningPipeline,
    run_foundation,
)

RECIPE = register_recipe(Recipe(
    name="foundation", config_cls=FoundationConfig, run=run_foundation, benchmark=benchmark_foundation,
    description="EEG foundation model (HMS): masked + contrastive pretraining, soft-label fine-tuning, transfer vs scratch"))

__all__ = ["FoundationConfig", "HMSDataConfig", "PretrainConfig", "TransferLearningPipeline", "benchmark_foundation",
           "run_foundation"]
