"""Recipe meg-ablation: CNN over MEG sensor images + transformer; 2^3 pretraining ablation scored by F1."""

from __future__ import annotations

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.meg_ablation.config import MegAblationConfig
from neurorep.recipes.meg_ablation.grid import benchmark_meg_ablation
from neurorep.recipes.meg_ablation.pipeline import run_meg_ablation

RECIPE = register_recipe(Recipe(
    name="meg-ablation", config_cls=MegAblationConfig, run=run_meg_ablation, benchmark=benchmark_meg_ablation,
    description="HCP-style MEG: sensor-image CNN + transformer; denoising / masked-sensor / masked-sequence "
    "pretraining, 2^3 ablation scored by macro-F1 (Intra and Cross)"))

__all__ = ["MegAblationConfig", "benchmark_meg_ablation", "run_meg_ablation"]
