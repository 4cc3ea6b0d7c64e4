"""Recipe kd-sleep: EEG-teacher -> ECG-student knowledge distillation for sleep staging (U-Time base)."""

from __future__ import annotations

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.kd_sleep.config import KDSleepConfig
from neurorep.recipes.kd_sleep.grid import benchmark_kd_sleep
from neurorep.recipes.kd_sleep.pipeline import run_kd_sleep

RECIPE = register_recipe(Recipe(
    name="kd-sleep", config_cls=KDSleepConfig, run=run_kd_sleep, benchmark=benchmark_kd_sleep,
    description="EEG -> ECG knowledge distillation for sleep staging (U-Time; SD, AT, CL; 3/4-class; MASS layout)"))

__all__ = ["KDSleepConfig", "benchmark_kd_sleep", "run_kd_sleep"]
