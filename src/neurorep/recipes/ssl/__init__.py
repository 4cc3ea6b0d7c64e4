"""Recipe ssl: pretrain any registered encoder with any registered objective on any prepared cache, then
linear probe at label fractions, fine-tuning, latent-space benchmark, plots and report; its benchmark
grid compares random-init, supervised, each SSL paradigm x encoder and the task's classic baselines."""

from __future__ import annotations

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.ssl.config import SSLConfig
from neurorep.recipes.ssl.grid import benchmark_ssl
from neurorep.recipes.ssl.pipeline import run_ssl

RECIPE = register_recipe(Recipe(
    name="ssl", config_cls=SSLConfig, run=run_ssl, benchmark=benchmark_ssl,
    description="SSL objectives x encoders on any prepared cache; linear probe, fine-tuning, latent-space "
    "benchmark, classic baselines"))

__all__ = ["SSLConfig", "benchmark_ssl", "run_ssl"]
