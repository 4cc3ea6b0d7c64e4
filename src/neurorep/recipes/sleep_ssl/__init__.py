"""Recipe sleep-ssl: SSL paradigms x encoders for sleep staging; linear probe; latent-space benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.sleep_ssl.config import SleepSSLConfig
from neurorep.recipes.sleep_ssl.grid import benchmark_sleep_ssl
from neurorep.recipes.sleep_ssl.pipeline import run_sleep_ssl


def _run(cfg: SleepSSLConfig, out: Path, overwrite: bool = False, resume: bool = False) -> dict[str, Any]:
    return run_sleep_ssl(cfg, out, overwrite=overwrite, resume=resume)


RECIPE = register_recipe(Recipe(
    name="sleep-ssl",
    description="SSL paradigms x encoders for sleep staging (Sleep-EDF); linear probe; latent-space benchmark",
    config_cls=SleepSSLConfig,
    run=_run,
    benchmark=benchmark_sleep_ssl,
))

__all__ = ["SleepSSLConfig", "benchmark_sleep_ssl", "run_sleep_ssl"]
