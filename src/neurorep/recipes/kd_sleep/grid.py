"""The kd-sleep benchmark: every mode x 3/4-class x seeds, in dependency order, with report.html.

Stage 1 trains ``eeg_base`` and ``ecg_base``; stage 2 ``feat_train`` and ``kd_temp`` from that
seed's EEG teacher; stage 3 ``feat_temp`` and ``feat_wce`` from that seed's ``feat_train`` student.
Each seed draws its own subject split, saved to ``<out>/splits/seed<k>.json`` and shared by every
mode and class scheme of that seed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.errors import DataError
from neurorep.recipes.base import Benchmark
from neurorep.recipes.kd_sleep.baselines import PriorMatchRule, baseline_rows, write_fold_splits
from neurorep.recipes.kd_sleep.config import MODE_LABELS, NEEDS_TEACHER, KDSleepConfig
from neurorep.recipes.kd_sleep.data import prepare_caches, setup_kd_data
from neurorep.recipes.kd_sleep.pipeline import run_kd_sleep
from neurorep.recipes.kd_sleep.report import write_grid_report
from neurorep.recipes.kd_sleep.tables import COLUMNS, gain_table, results_table
from neurorep.sweep import Task

TrainMode = Literal["eeg_base", "ecg_base", "feat_train", "feat_temp", "feat_wce", "kd_temp"]
STAGES: tuple[tuple[str, ...], ...] = (("eeg_base", "ecg_base"), ("feat_train", "kd_temp"), ("feat_temp", "feat_wce"))


class GridConfig(Strict):
    """A benchmark preset."""

    seeds: int = Field(3, ge=1)
    schemes: list[Literal["3class", "4class"]] = Field(default_factory=lambda: ["3class", "4class"])
    modes: list[TrainMode] = Field(default_factory=lambda: ["eeg_base", "ecg_base", "feat_train", "feat_temp",
                                                            "feat_wce", "kd_temp"])
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (a kd-sleep config)")
    folds: int | None = Field(
        None, ge=2, description="record-wise cross-validation: `folds` subject folds (one per 'seed', which then "
        "counts the folds) instead of `seeds` random subject splits")
    val_subjects: int = Field(1, ge=1, description="with folds: validation subjects per fold")
    baselines: list[Literal["hrv_lr", "hrv_gb"]] = Field(
        default_factory=lambda: ["hrv_lr", "hrv_gb"], min_length=1,
        description="classic rows on the same splits (every table has at least one)")
    baseline_context: int = Field(4, ge=0, description="30-s windows either side whose beats join an HRV feature")


def _worker(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    cfg = validate(KDSleepConfig, config, source=f"grid run {name}")
    m = run_kd_sleep(cfg, Path(out) / "runs" / name, overwrite=True)
    return {**m["summary"], "label": MODE_LABELS[cfg.mode]}


def run_name(mode: str, scheme: str, seed: int) -> str:
    """The run folder name of one mode, class scheme and seed (under ``<out>/runs``)."""
    return f"{mode}_{scheme}_s{seed}"


class KDSleepBenchmark(Benchmark, recipe="kd-sleep", grid_cls=GridConfig, worker=_worker,
                       report=write_grid_report, corpus="mass"):
    """Every mode x class scheme x seed in dependency order, the HRV classic rows, the gain table."""

    def configure_base(self, base: dict[str, Any]) -> None:
        if self.data is None:
            base["data"]["source"] = str((self.out / "data").resolve())
        base["plots"] = True

    def configure_runs(self) -> None:
        self.first = validate(KDSleepConfig, {**self.base, "recipe": "kd-sleep", "mode": "ecg_base"},
                              source=f"preset {self.preset}")

    def prepare_data(self) -> None:
        grid, first, out = self.grid, self.first, self.out
        need_eeg = first.data.eeg is not None and any(m in grid.modes for m in ("eeg_base", *NEEDS_TEACHER))
        if grid.folds is not None:  # record-wise cross-validation: the split files are the folds
            grid.seeds = grid.folds
            subjects = prepare_caches(first.data, need_eeg=False, progress=self.progress)["ecg"].subjects
            write_fold_splits(list(subjects), grid.folds, grid.val_subjects, out / "splits")
        self.data_cfgs = {}
        for seed in range(grid.seeds):
            for scheme in grid.schemes:
                d = first.data.model_copy(update={"scheme": scheme,
                                                  "split_file": str((out / "splits" / f"seed{seed}.json").resolve()),
                                                  "split": first.data.split.model_copy(update={"seed": seed})})
                setup_kd_data(d, need_eeg=need_eeg, progress=self.progress)  # caches built once; runs reuse them
                self.data_cfgs[seed, scheme] = d

    def configure_tasks(self) -> list[list[Task]]:
        grid = self.grid
        return [[Task(run_name(mode, scheme, seed), _config(self.base, mode, scheme, seed, self.out))
                 for seed in range(grid.seeds) for scheme in grid.schemes for mode in stage if mode in grid.modes]
                for stage in STAGES]

    def describe(self, row: dict[str, Any]) -> str:
        return f"weighted F1 {row['weighted_f1']:.3f}"

    def extra_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        features: dict[str, Any] = {}
        extra: list[dict[str, Any]] = []
        first = self.first
        rule = PriorMatchRule(first.prior_match_bound, tuple(first.prior_match_candidates)) \
            if first.decision == "prior_match" else None  # the classic rows decide by the students' rule
        for (seed, _), d in self.data_cfgs.items():
            extra += baseline_rows(d, list(self.grid.baselines), seed, self.out / "baselines",
                                   self.grid.baseline_context, features, prior_match=rule)
        return extra

    def check_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        grid = self.grid
        order = {m: i for i, m in enumerate([*grid.modes, *grid.baselines])}
        rows = sorted(rows, key=lambda r: (r["scheme"], order.get(r["mode"], 99), r["seed"]))
        lacking = {(r["scheme"], r["seed"]) for r in rows} - {(r["scheme"], r["seed"]) for r in rows
                                                              if r["mode"] in grid.baselines}
        if lacking:  # a table without its classic rows is not written
            raise DataError(f"{self.out}: no classic baseline row for {sorted(lacking)[0]}")
        return rows

    def configure_tables(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        return {"results": results_table(rows), "gains": gain_table(rows)}


def benchmark_kd_sleep(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/kd-sleep",
                       seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                       progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid; writes ``results.csv/json/md`` and ``report.html`` into ``out`` and returns the report path.

    Without ``data`` the simulated MASS-layout corpus is written into ``<out>/data``.
    """
    return KDSleepBenchmark(preset, data, out, seeds, overrides, overwrite, progress, jobs).run()


def _config(base: dict[str, Any], mode: str, scheme: str, seed: int, out: Path) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    cfg.update({"recipe": "kd-sleep", "mode": mode, "seed": seed})
    cfg["data"] = {**cfg["data"], "scheme": scheme, "split_file": str((out / "splits" / f"seed{seed}.json").resolve())}
    cfg["data"]["split"] = {**cfg["data"].get("split", {}), "seed": seed}
    runs = (out / "runs").resolve()
    if mode in ("feat_train", "feat_temp", "feat_wce", "kd_temp"):
        cfg["teacher"] = str(runs / run_name("eeg_base", scheme, seed))
    if mode in ("feat_temp", "feat_wce"):
        cfg["init"] = str(runs / run_name("feat_train", scheme, seed))
    validate(KDSleepConfig, cfg, source=f"grid run {run_name(mode, scheme, seed)}")
    return cfg


__all__ = ["COLUMNS", "GridConfig", "KDSleepBenchmark", "benchmark_kd_sleep", "gain_table", "run_name"]
