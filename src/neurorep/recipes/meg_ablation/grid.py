"""The meg-ablation benchmark: every combination of the three pretraining tasks x settings x seeds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from neurorep.config import Strict, validate
from neurorep.recipes.base import Benchmark, ClassicRows
from neurorep.recipes.meg_ablation.classic import classic_row, classic_tasks, required_rows
from neurorep.recipes.meg_ablation.config import MegAblationConfig
from neurorep.recipes.meg_ablation.data import setup_meg
from neurorep.recipes.meg_ablation.pipeline import run_meg_ablation
from neurorep.recipes.meg_ablation.report import write_grid_report
from neurorep.recipes.meg_ablation.tables import ALL_ROWS, FLAGS, HEADERS, results_table, setting_table, setting_tables
from neurorep.sweep import Task


class GridConfig(Strict):
    """A benchmark preset: settings, seeds, which of the 8 combinations, and the settings of every run."""

    seeds: int = Field(2, ge=1)
    settings: list[Literal["intra", "cross"]] = Field(default_factory=lambda: ["intra", "cross"])
    rows: list[str] = Field(default_factory=lambda: list(ALL_ROWS),
                            description="combinations as 3 bits: denoising, masked sensor, masked sequence")
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (a meg-ablation config)")

    @field_validator("rows")
    @classmethod
    def _bits(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if r not in ALL_ROWS]
        if bad or not v:
            raise ValueError(f"rows must be 3-bit strings like '101' (denoising, masked sensor, masked sequence); "
                             f"got {bad[0] if bad else 'none'}")
        return list(dict.fromkeys(v))


def row_flags(bits: str) -> dict[str, bool]:
    return {f: b == "1" for f, b in zip(FLAGS, bits, strict=True)}


def _config(base: dict[str, Any], setting: str, bits: str) -> MegAblationConfig:
    d = copy.deepcopy(base)
    d.update({"recipe": "meg-ablation", "setting": setting, "pretraining": row_flags(bits)})
    d.setdefault("plots", True)
    return validate(MegAblationConfig, d, source=f"grid row {setting}/{bits}")


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Run one grid row (in this process or a worker) and return its results-table row."""
    metrics = run_meg_ablation(MegAblationConfig.model_validate(config), Path(out) / "runs" / name)
    s = metrics["summary"]
    marks = {HEADERS[f]: "✓" if s[f] else "-" for f in FLAGS}
    return {"Setting": s["setting"].capitalize(), "Method": "Network", **marks, **s}


class MegAblationBenchmark(Benchmark, recipe="meg-ablation", grid_cls=GridConfig, worker=_run_one,
                           report=write_grid_report, corpus="meg",
                           classic=ClassicRows(classic_tasks, classic_row, required_rows, first=True)):
    """Every combination of the three pretraining tasks x settings (Intra, Cross) x seeds."""

    def configure_runs(self) -> None:
        grid = self.grid
        self.configs = {(s, r): _config(self.base, s, r) for s in grid.settings for r in grid.rows}  # all valid

    def prepare_data(self) -> None:
        grid = self.grid
        for s in grid.settings:
            setup_meg(self.configs[(s, grid.rows[0])].data, s, progress=self.progress)

    def configure_tasks(self) -> list[list[Task]]:
        tasks = []
        for seed in range(self.grid.seeds):
            for (setting, bits), cfg in self.configs.items():
                run = cfg.model_copy(update={"seed": seed, "progress": self.run_progress})
                tasks.append(Task(f"{setting}_{bits}_s{seed}", run.model_dump()))
        return [tasks]

    def describe(self, row: dict[str, Any]) -> str:
        return f"macro-F1 {row['macro_f1']:.3f}"

    def configure_tables(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        return {s: f"### {s}\n\n{t}" for s, t in setting_tables(rows).items()}


def benchmark_meg_ablation(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/meg-ablation",
                           seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                           progress: bool = True, jobs: int = 1) -> Path:
    """Run the 2^3 grid on Intra and Cross; write ``results.csv/json/md`` and ``report.html``.

    ``data`` is a folder holding ``Intra/`` and ``Cross/``; without it the simulated corpus is
    written into ``<out>/data`` first. ``jobs`` runs that many rows at once (single-threaded
    processes; results do not depend on it).
    """
    return MegAblationBenchmark(preset, data, out, seeds, overrides, overwrite, progress, jobs).run()


__all__ = ["ALL_ROWS", "FLAGS", "HEADERS", "GridConfig", "MegAblationBenchmark", "benchmark_meg_ablation",
           "results_table", "row_flags", "setting_table"]
