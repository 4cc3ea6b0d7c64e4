"""Recipe sleep-ssl: SSL paradigms x encoders for sleep staging; linear probe; latent-space benchmark."""

from __future__ import annotations

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.sleep_ssl.config import SleepSSLConfig
from neurorep.recipes.sleep_ssl.grid import benchmark_sleep_ssl
from neurorep.recipes.sleep_ssl.pipeline import run_sleep_ssl

RECIPE = register_recipe(Recipe(
    name="sleep-ssl",
    description="SSL paradigms x encoders for sleep staging (Sleep-EDF); linear probe; latent-space benchmark",
    config_cls=SleepSSLConfig,
    run=run_sleep_ssl,
    benchmark=benchmark_sleep_ssl,
))

__all__ = ["SleepSSLConfig", "benchmark_sleep_ssl", "run_sleep_ssl"]
