"""The eeg-image benchmark: intra-subject rows, inter-subject zero-shot, and the fine-tuning curve.

Phase 1 trains every subject of ``subjects`` on itself (intra-subject) and, with ``inter``, one model
on all the other subjects tested zero-shot on ``target_subject``. Phase 2 fine-tunes that model on
``target_subject`` for each ``subj_training_ratio`` of ``ratios`` and, for comparison, trains from
scratch on the same share. Every row runs once per seed.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.errors import ConfigError
from neurorep.grid import (
    Task,
    check_jobs,
    grouped_table,
    resolve_preset,
    run_settings,
    run_tasks,
    write_results,
)
from neurorep.progress import GridProgress
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.data import load_cache_and_embeddings
from neurorep.recipes.eeg_image.pipeline import run_eeg_image
from neurorep.runs import prepare_run_dir

ROWS = {"intra": "Intra-subject", "inter": "Inter-subject (zero-shot)", "finetune": "Fine-tune from inter",
        "scratch": "From scratch"}


class GridConfig(Strict):
    """A benchmark preset."""

    seeds: int = Field(1, ge=1)
    subjects: list[int] = Field(default_factory=lambda: list(range(1, 11)), description="intra-subject rows")
    inter: bool = Field(True, description="train on the other subjects, test zero-shot on target_subject")
    target_subject: int = Field(10, ge=1)
    ratios: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 1.0],
                                description="subj_training_ratio values of the fine-tuning curve")
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (an eeg-image config)")


def _cfg(base: dict[str, Any], **update: Any) -> EEGImageConfig:
    d = copy.deepcopy(base)
    d.update(update)
    d["recipe"] = "eeg-image"
    return validate(EEGImageConfig, d, source=f"grid row {update}")


def benchmark_eeg_image(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/eeg-image",
                        seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                        progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid; write ``results.csv/json/md``, ``finetune_curve.csv`` and ``report.html`` into ``out``."""
    check_jobs(jobs)
    grid = resolve_preset(__package__, preset, overrides, GridConfig)
    if seeds is not None:
        grid.seeds = seeds
    if any(not 0 < r <= 1 for r in grid.ratios):
        raise ConfigError(f"ratios must lie in (0, 1]; got {grid.ratios}")
    out = Path(out)
    base = run_settings(grid.base, data, out, progress and jobs == 1, corpus="things-eeg2")
    base["plots"] = False  # figures are drawn for the best intra-subject run only, from its stored arrays
    others = [s for s in grid.subjects if s != grid.target_subject]
    if grid.inter and not others:
        raise ConfigError("inter-subject rows need at least one subject besides target_subject in `subjects`")
    first = _cfg(base, subject_id=[grid.subjects[0]])  # validates the shared settings before writing anything
    out = prepare_run_dir(out, overwrite=overwrite)
    started = time.time()
    load_cache_and_embeddings(first.model_copy(update={"data": first.data.model_copy(
        update={"source": str(Path(first.data.source))})}), progress=progress)  # simulate + convert once
    phase1: list[Task] = []
    for seed in range(grid.seeds):
        for s in grid.subjects:
            phase1.append(_task("intra", f"intra_sub{s:02d}_seed{seed}", base, seed, subject_id=[s], test_subject=s))
        if grid.inter:
            phase1.append(_task("inter", f"inter_sub{grid.target_subject:02d}_seed{seed}", base, seed,
                                subject_id=others, test_subject=grid.target_subject))
    describe = lambda r: f"200-way top-1 {r.get('top1_200', float('nan')):.3f} top-5 {r.get('top5_200', float('nan')):.3f}"
    n_phase2 = grid.seeds * len(grid.ratios) * (2 if grid.inter else 1)
    counter = GridProgress(len(phase1) + n_phase2, enabled=progress)  # counts over both phases
    rows = run_tasks(phase1, _run_one, out, jobs, progress, describe=describe, counter=counter)
    intra = [r for r in rows if r["kind"] == "intra"]
    if intra:
        from neurorep.recipes.eeg_image.plots import plots_from_run

        plots_from_run(out / max(intra, key=lambda r: r.get("top1_200", r.get("top1_2", 0.0)))["run"])
    phase2: list[Task] = []
    for seed in range(grid.seeds):
        for r in grid.ratios:
            if grid.inter:
                phase2.append(_task("finetune", f"finetune_r{r:g}_seed{seed}", base, seed,
                                    subject_id=[grid.target_subject], test_subject=grid.target_subject,
                                    subj_training_ratio=r,
                                    init_from=str(out / "runs" / f"inter_sub{grid.target_subject:02d}_seed{seed}")))
            phase2.append(_task("scratch", f"scratch_r{r:g}_seed{seed}", base, seed, subject_id=[grid.target_subject],
                                test_subject=grid.target_subject, subj_training_ratio=r))
    rows += run_tasks(phase2, _run_one, out, jobs, progress, describe=describe, counter=counter)
    # --- classic baseline rows (recipes/eeg_image/classic.py): ridge on each intra/inter row's windows
    from neurorep.recipes.eeg_image.classic import classic_row, classic_tasks, required_rows

    rows += run_tasks(classic_tasks(phase1), classic_row, out, jobs, progress, describe=describe)
    required_rows(rows, phase1)
    # ---
    write_results(out, rows, results_table(rows))
    from neurorep.recipes.eeg_image.report import write_grid_report

    report = write_grid_report(out, rows, grid.model_dump(), time.time() - started)
    if progress:
        print((out / "results.md").read_text())
    return report


def _task(kind: str, name: str, base: dict[str, Any], seed: int, **update: Any) -> Task:
    cfg = _cfg(base, seed=seed, **update)
    return Task(name, {"grid_row": kind, **cfg.model_dump()})


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Run one grid row (in this process or a worker) and return its results-table row."""
    config = dict(config)
    kind = config.pop("grid_row")
    metrics = run_eeg_image(EEGImageConfig.model_validate(config), Path(out) / "runs" / name)
    return {"row": ROWS[kind], "kind": kind, **metrics["summary"]}


TABLE_COLUMNS = [("top1_200", "200-way top-1"), ("top5_200", "200-way top-5"), ("top1_50", "50-way top-1"),
                 ("top1_4", "4-way top-1"), ("top1_2", "2-way top-1"), ("category_hit", "category hit")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per (row, test subject, training share), mean +- sd over seeds; chance last."""
    table = grouped_table(rows, [("row", "Setting"), ("test_subject", "Test subject"),
                                 ("subj_training_ratio", "Train share")], TABLE_COLUMNS)
    cols = [k for k, _ in TABLE_COLUMNS if any(k in r for r in rows)]
    chance = {k: r["chance_" + k] for r in rows for k in cols if "chance_" + k in r}
    if chance:
        cells = [f"{chance[k]:.3f}" if k in chance else "-" for k in cols]
        table += "\n| Chance | - | - | - | " + " | ".join(cells) + " |"
    return table
