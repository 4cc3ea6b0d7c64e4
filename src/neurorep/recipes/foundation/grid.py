"""The foundation benchmark: pretrain -> fine-tune vs from scratch, same fine-tuning budget, several seeds."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

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
from neurorep.recipes.foundation.config import FoundationConfig
from neurorep.recipes.foundation.data import prepare_hms
from neurorep.recipes.foundation.pipeline import run_foundation
from neurorep.recipes.foundation.report import write_grid_report
from neurorep.runs import prepare_run_dir

ROW_LABELS = {"transfer": "Pretrain + fine-tune", "scratch": "From scratch"}


class GridConfig(Strict):
    """A benchmark preset: seeds, rows and the settings of every run (a foundation config)."""

    seeds: int = Field(3, ge=1)
    rows: list[str] = Field(default_factory=lambda: ["scratch", "transfer"])
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (a foundation config)")


def benchmark_foundation(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/foundation",
                         seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                         progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid; write ``results.csv/json/md`` and ``report.html``; returns the report path.

    Without ``data`` a simulated HMS corpus is written into ``<out>/data`` first.
    """
    check_jobs(jobs)
    grid = resolve_preset(__package__, preset, overrides, GridConfig)
    if seeds is not None:
        grid.seeds = seeds
    bad = [r for r in grid.rows if r not in ROW_LABELS]
    if bad:
        raise _unknown_row(bad[0])
    out = Path(out)
    base = run_settings(grid.base, data, out, progress and jobs == 1, corpus="hms")
    base.update(recipe="foundation", plots=True)
    cfgs = {row: validate(FoundationConfig, {**copy.deepcopy(base), "stage": row}, source=f"preset {preset} row {row}")
            for row in grid.rows}
    out = prepare_run_dir(out, overwrite=overwrite)
    first = cfgs[grid.rows[0]]
    prepare_hms(first.data, progress=progress)  # simulate + cache once; every row reuses it
    tasks = []
    for seed in range(grid.seeds):
        for row, cfg in cfgs.items():
            split = cfg.data.split.model_copy(update={"seed": seed})
            run = cfg.model_copy(update={"seed": seed, "data": cfg.data.model_copy(update={"split": split})})
            tasks.append(Task(f"{row}_s{seed}", {"grid_row": row, **run.model_dump()}))
    started = time.time()
    rows = run_tasks(tasks, _run_one, out, jobs, progress,
                     describe=lambda r: f"test KL {r.get('kl_divergence', float('nan')):.3f}")
    # --- classic baseline rows (recipes/foundation/classic.py): each seed's split, listed first
    from neurorep.recipes.foundation.classic import classic_row, classic_tasks, required_rows

    rows = run_tasks(classic_tasks(tasks), classic_row, out, jobs, progress,
                     describe=lambda r: f"test KL {r.get('kl_divergence', float('nan')):.3f}") + rows
    required_rows(rows)
    # ---
    table = results_table(rows)
    write_results(out, rows, table)
    report = write_grid_report(out, rows, grid.model_dump(), time.time() - started, table, verdict(rows))
    print((out / "results.md").read_text())
    print(verdict(rows))
    return report


def _unknown_row(name: str) -> Exception:
    from neurorep.errors import ConfigError, unknown_name_message

    return ConfigError(unknown_name_message("benchmark row", name, ROW_LABELS))


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    config = dict(config)
    row = config.pop("grid_row")
    metrics = run_foundation(FoundationConfig.model_validate(config), Path(out) / "runs" / name)
    return {"row": ROW_LABELS[row], **metrics["summary"]}


TABLE_COLUMNS = [("kl_divergence", "Test KL (lower better)"), ("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"),
                 ("macro_auroc", "Macro AUROC"), ("ece", "ECE"), ("prior_kl_divergence", "KL of mean-vote prior"),
                 ("pretrain_val_loss", "Pretrain val loss"), ("seconds", "Seconds")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per method, mean +- sd over seeds."""
    return grouped_table(rows, [("row", "Method")], TABLE_COLUMNS)


def verdict(rows: list[dict[str, Any]]) -> str:
    """One paragraph: does pretraining lower the test KL, by how much, and on how many seeds."""
    by_seed: dict[int, dict[str, float]] = {}
    for r in rows:
        if "kl_divergence" in r:
            by_seed.setdefault(int(r["seed"]), {})[r["row"]] = float(r["kl_divergence"])
    a, b = ROW_LABELS["transfer"], ROW_LABELS["scratch"]
    pairs = [(d[a], d[b]) for d in by_seed.values() if a in d and b in d]
    if not pairs:
        return "No seed has both rows; nothing to compare."
    diff = np.array([t - s for t, s in pairs])
    wins = int((diff < 0).sum())
    return (f"{a} vs {b}: test KL difference {diff.mean():+.4f} on average (negative = pretraining helps), "
            f"lower on {wins} of {len(pairs)} seed(s); mean KL {np.mean([p[0] for p in pairs]):.4f} vs "
            f"{np.mean([p[1] for p in pairs]):.4f}.")
