"""Recipe sleep-ssl: the ``ssl`` recipe with sleep presets (a simulated Sleep-EDF-style corpus when no
data is given, 30-s windows, the sleep classic baselines). Its modules are those of ``ssl``."""

from __future__ import annotations

import sys
from pathlib import Path

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.sleep_ssl.config import SleepSSLConfig
from neurorep.recipes.ssl import data, grid, pipeline, plots, report, tables
from neurorep.recipes.ssl.grid import SSLBenchmark
from neurorep.recipes.ssl.pipeline import run_ssl

# `neurorep.recipes.sleep_ssl.pipeline` and the rest name the ssl modules themselves
for _module in (data, grid, pipeline, plots, report, tables):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module

run_sleep_ssl = run_ssl


class SleepSSLBenchmark(SSLBenchmark, recipe="sleep-ssl", package=__name__, corpus="sleep"):
    """The ssl grid with the sleep-ssl presets; without ``--data`` the simulated corpus goes to ``<out>/data``."""

    config_cls = SleepSSLConfig
    needs_data = False


def benchmark_sleep_ssl(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/sleep-ssl",
                        seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                        progress: bool = True, jobs: int = 1) -> Path:
    """The ssl grid with the sleep-ssl presets; without ``data`` the simulated corpus goes to ``<out>/data``."""
    return SleepSSLBenchmark(preset, data, out, seeds, overrides, overwrite, progress, jobs).run()


RECIPE = register_recipe(Recipe(
    name="sleep-ssl", config_cls=SleepSSLConfig, run=run_ssl, benchmark=benchmark_sleep_ssl,
    description="SSL paradigms x encoders for sleep staging (Sleep-EDF); linear probe; latent-space benchmark "
    "(a preset of ssl)"))

__all__ = ["SleepSSLBenchmark", "SleepSSLConfig", "benchmark_sleep_ssl", "run_sleep_ssl"]
