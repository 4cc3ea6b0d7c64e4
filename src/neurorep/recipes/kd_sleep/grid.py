"""The kd-sleep benchmark: every mode x 3/4-class x seeds, in dependency order, with report.html.

Stage 1 trains ``eeg_base`` and ``ecg_base``; stage 2 ``feat_train`` and ``kd_temp`` from that
seed's EEG teacher; stage 3 ``feat_temp`` and ``feat_wce`` from that seed's ``feat_train`` student.
Each seed draws its own subject split, saved to ``<out>/splits/seed<k>.json`` and shared by every
mode and class scheme of that seed.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.grid import (
    Task,
    check_jobs,
    grouped_table,
    resolve_preset,
    run_settings,
    run_tasks,
    write_results,
)
from neurorep.errors import DataError
from neurorep.progress import GridProgress
from neurorep.recipes.kd_sleep.baselines import baseline_rows, write_fold_splits
from neurorep.recipes.kd_sleep.config import MODE_LABELS, NEEDS_TEACHER, KDSleepConfig
from neurorep.recipes.kd_sleep.data import prepare_caches, setup_kd_data
from neurorep.recipes.kd_sleep.pipeline import run_kd_sleep
from neurorep.runs import prepare_run_dir

TrainMode = Literal["eeg_base", "ecg_base", "feat_train", "feat_temp", "feat_wce", "kd_temp"]
STAGES: tuple[tuple[str, ...], ...] = (("eeg_base", "ecg_base"), ("feat_train", "kd_temp"), ("feat_temp", "feat_wce"))
COLUMNS = [("weighted_f1", "Weighted F1"), ("macro_f1", "Macro F1"), ("accuracy", "Accuracy"), ("kappa", "Kappa")]


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
    return f"{mode}_{scheme}_s{seed}"


def benchmark_kd_sleep(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/kd-sleep",
                       seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                       progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid; writes ``results.csv/json/md`` and ``report.html`` into ``out`` and returns the report path.

    Without ``data`` the simulated MASS-layout corpus is written into ``<out>/data``.
    """
    check_jobs(jobs)
    grid = resolve_preset(__package__, preset, overrides, GridConfig)
    if seeds is not None:
        grid.seeds = seeds
    out = Path(out)
    base = run_settings(grid.base, data, out, progress and jobs == 1, corpus="mass")
    if data is None:
        base["data"]["source"] = str((out / "data").resolve())
    base["plots"] = True
    first = validate(KDSleepConfig, {**base, "recipe": "kd-sleep", "mode": "ecg_base"}, source=f"preset {preset}")
    t0 = time.time()
    out = prepare_run_dir(out, overwrite=overwrite)
    need_eeg = first.data.eeg is not None and any(m in grid.modes for m in ("eeg_base", *NEEDS_TEACHER))
    if grid.folds is not None:  # record-wise cross-validation: the split files are the folds
        grid.seeds = grid.folds
        subjects = prepare_caches(first.data, need_eeg=False, progress=progress)["ecg"].subjects
        write_fold_splits(list(subjects), grid.folds, grid.val_subjects, out / "splits")
    data_cfgs = {}
    for seed in range(grid.seeds):
        for scheme in grid.schemes:
            d = first.data.model_copy(update={"scheme": scheme, "split_file": str((out / "splits" / f"seed{seed}.json").resolve()),
                                              "split": first.data.split.model_copy(update={"seed": seed})})
            setup_kd_data(d, need_eeg=need_eeg, progress=progress)  # caches built once; runs reuse them
            data_cfgs[seed, scheme] = d
    rows: list[dict[str, Any]] = []
    stages = [[Task(run_name(mode, scheme, seed), _config(base, mode, scheme, seed, out))
               for seed in range(grid.seeds) for scheme in grid.schemes for mode in stage if mode in grid.modes]
              for stage in STAGES]
    counter = GridProgress(sum(map(len, stages)), enabled=progress)  # counts over all stages
    for tasks in stages:
        if tasks:
            rows += run_tasks(tasks, _worker, out, jobs=jobs, progress=progress, counter=counter,
                              describe=lambda r: f"weighted F1 {r['weighted_f1']:.3f}")
    features: dict[str, Any] = {}
    for (seed, _), d in data_cfgs.items():
        rows += baseline_rows(d, list(grid.baselines), seed, out / "baselines", grid.baseline_context, features)
    order = {m: i for i, m in enumerate([*grid.modes, *grid.baselines])}
    rows.sort(key=lambda r: (r["scheme"], order.get(r["mode"], 99), r["seed"]))
    lacking = {(r["scheme"], r["seed"]) for r in rows} - {(r["scheme"], r["seed"]) for r in rows
                                                          if r["mode"] in grid.baselines}
    if lacking:  # a table without its classic rows is not written
        raise DataError(f"{out}: no classic baseline row for {sorted(lacking)[0]}")
    table = grouped_table(rows, [("scheme", "Classes"), ("mode", "Mode"), ("label", "Loss")], COLUMNS)
    gains = gain_table(rows)
    write_results(out, rows, table + "\n\n" + gains)
    from neurorep.recipes.kd_sleep.report import write_grid_report

    return write_grid_report(out, rows, grid.model_dump(), time.time() - t0, table, gains)


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


def gain_table(rows: list[dict[str, Any]], metric: str = "weighted_f1") -> str:
    """Per scheme and mode: mean gain over ``ecg_base`` in ``metric`` (paired by seed), its sd, and the
    seed-to-seed sd of ``ecg_base`` itself."""
    lines = ["| Classes | Mode | gain over ecg_base (weighted F1) | sd of paired gain | sd of ecg_base | seeds |",
             "|---|---|---|---|---|---|"]
    for scheme in sorted({r["scheme"] for r in rows}):
        base = {r["seed"]: r[metric] for r in rows if r["scheme"] == scheme and r["mode"] == "ecg_base"}
        if not base:
            continue
        sd_base = float(np.std(list(base.values()), ddof=1)) if len(base) > 1 else float("nan")
        for mode in dict.fromkeys(r["mode"] for r in rows if r["scheme"] == scheme):
            if mode in ("ecg_base", "eeg_base"):
                continue
            d = [r[metric] - base[r["seed"]] for r in rows
                 if r["scheme"] == scheme and r["mode"] == mode and r["seed"] in base]
            if d:
                sd = float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")
                lines.append(f"| {scheme} | {mode} | {np.mean(d):+.3f} | {sd:.3f} | {sd_base:.3f} | {len(d)} |")
    return "\n".join(lines)
