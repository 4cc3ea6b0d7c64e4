"""The eeg-image benchmark: intra-subject rows, inter-subject zero-shot, and the fine-tuning curve.

Phase 1 trains every subject of ``subjects`` on itself (intra-subject) and, with ``inter``, one model
on all the other subjects tested zero-shot on ``target_subject``. Phase 2 fine-tunes that model on
``target_subject`` for each ``subj_training_ratio`` of ``ratios`` and, for comparison, trains from
scratch on the same share. Every row runs once per seed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.errors import ConfigError
from neurorep.recipes.base import Benchmark, ClassicRows
from neurorep.recipes.eeg_image.classic import classic_row, classic_tasks, required_rows
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.data import load_cache_and_embeddings
from neurorep.recipes.eeg_image.pipeline import run_eeg_image
from neurorep.recipes.eeg_image.report import write_grid_report
from neurorep.recipes.eeg_image.tables import ROWS, TABLE_COLUMNS, best_intra, results_table
from neurorep.sweep import Task



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


def _task(kind: str, name: str, base: dict[str, Any], seed: int, **update: Any) -> Task:
    cfg = _cfg(base, seed=seed, **update)
    return Task(name, {"grid_row": kind, **cfg.model_dump()})


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Run one grid row (in this process or a worker) and return its results-table row."""
    config = dict(config)
    kind = config.pop("grid_row")
    metrics = run_eeg_image(EEGImageConfig.model_validate(config), Path(out) / "runs" / name)
    return {"row": ROWS[kind], "kind": kind, **metrics["summary"]}


class EEGImageBenchmark(Benchmark, recipe="eeg-image", grid_cls=GridConfig, worker=_run_one,
                        report=write_grid_report, corpus="things-eeg2",
                        classic=ClassicRows(classic_tasks, classic_row, required_rows, first=False)):
    """Phase 1: intra-subject and inter-subject rows; phase 2: the fine-tuning curve (needs phase 1's model)."""

    def configure_grid(self) -> None:
        grid = self.grid
        if any(not 0 < r <= 1 for r in grid.ratios):
            raise ConfigError(f"ratios must lie in (0, 1]; got {grid.ratios}")
        self.others = [s for s in grid.subjects if s != grid.target_subject]

    def configure_base(self, base: dict[str, Any]) -> None:
        base["plots"] = False  # figures are drawn for the best intra-subject run only, from its stored arrays

    def configure_runs(self) -> None:
        if self.grid.inter and not self.others:
            raise ConfigError("inter-subject rows need at least one subject besides target_subject in `subjects`")
        self.first = _cfg(self.base, subject_id=[self.grid.subjects[0]])  # the shared settings, checked

    def prepare_data(self) -> None:
        first = self.first
        load_cache_and_embeddings(first.model_copy(update={"data": first.data.model_copy(
            update={"source": str(Path(first.data.source))})}), progress=self.progress)  # simulate + convert once

    def configure_tasks(self) -> list[list[Task]]:
        grid, base, out = self.grid, self.base, self.out
        phase1: list[Task] = []
        phase2: list[Task] = []
        for seed in range(grid.seeds):
            for s in grid.subjects:
                phase1.append(_task("intra", f"intra_sub{s:02d}_seed{seed}", base, seed, subject_id=[s],
                                    test_subject=s))
            if grid.inter:
                phase1.append(_task("inter", f"inter_sub{grid.target_subject:02d}_seed{seed}", base, seed,
                                    subject_id=self.others, test_subject=grid.target_subject))
        for seed in range(grid.seeds):
            for r in grid.ratios:
                if grid.inter:
                    phase2.append(_task("finetune", f"finetune_r{r:g}_seed{seed}", base, seed,
                                        subject_id=[grid.target_subject], test_subject=grid.target_subject,
                                        subj_training_ratio=r,
                                        init_from=str(out / "runs" / f"inter_sub{grid.target_subject:02d}_seed{seed}")))
                phase2.append(_task("scratch", f"scratch_r{r:g}_seed{seed}", base, seed,
                                    subject_id=[grid.target_subject], test_subject=grid.target_subject,
                                    subj_training_ratio=r))
        return [phase1, phase2]

    def after_stage(self, stage: int, rows: list[dict[str, Any]]) -> None:
        best = best_intra(rows)
        if stage == 0 and best is not None:
            from neurorep.recipes.eeg_image.plots import plots_from_run

            plots_from_run(self.out / best["run"])

    def describe(self, row: dict[str, Any]) -> str:
        return f"200-way top-1 {row.get('top1_200', float('nan')):.3f} top-5 {row.get('top5_200', float('nan')):.3f}"

    def configure_tables(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        return {"results": results_table(rows)}


def benchmark_eeg_image(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/eeg-image",
                        seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                        progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid; write ``results.csv/json/md``, ``finetune_curve.csv`` and ``report.html`` into ``out``."""
    return EEGImageBenchmark(preset, data, out, seeds, overrides, overwrite, progress, jobs).run()


__all__ = ["ROWS", "TABLE_COLUMNS", "EEGImageBenchmark", "GridConfig", "benchmark_eeg_image", "results_table"]
