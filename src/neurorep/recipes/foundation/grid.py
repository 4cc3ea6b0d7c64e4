"""The foundation benchmark: pretrain -> fine-tune vs from scratch, same fine-tuning budget, several seeds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.recipes.base import Benchmark, BenchmarkResults, ClassicRows
from neurorep.recipes.foundation.classic import classic_row, classic_tasks, required_rows
from neurorep.recipes.foundation.config import FoundationConfig
from neurorep.recipes.foundation.data import prepare_hms
from neurorep.recipes.foundation.pipeline import run_foundation
from neurorep.recipes.foundation.report import write_grid_report
from neurorep.recipes.foundation.tables import ROW_LABELS, TABLE_COLUMNS, results_table, verdict
from neurorep.sweep import Task


class GridConfig(Strict):
    """A benchmark preset: seeds, rows and the settings of every run (a foundation config)."""

    seeds: int = Field(3, ge=1)
    rows: list[str] = Field(default_factory=lambda: ["scratch", "transfer"])
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (a foundation config)")


def _unknown_row(name: str) -> Exception:
    from neurorep.errors import ConfigError, unknown_name_message

    return ConfigError(unknown_name_message("benchmark row", name, ROW_LABELS))


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    config = dict(config)
    row = config.pop("grid_row")
    metrics = run_foundation(FoundationConfig.model_validate(config), Path(out) / "runs" / name)
    return {"row": ROW_LABELS[row], **metrics["summary"]}


class FoundationBenchmark(Benchmark, recipe="foundation", grid_cls=GridConfig, worker=_run_one,
                          report=write_grid_report, corpus="hms",
                          classic=ClassicRows(classic_tasks, classic_row, required_rows, first=True)):
    """Pretrain -> fine-tune vs from scratch, same fine-tuning budget, several seeds."""

    def configure_grid(self) -> None:
        bad = [r for r in self.grid.rows if r not in ROW_LABELS]
        if bad:
            raise _unknown_row(bad[0])

    def configure_base(self, base: dict[str, Any]) -> None:
        base.update(recipe="foundation", plots=True)

    def configure_runs(self) -> None:
        self.cfgs = {row: validate(FoundationConfig, {**copy.deepcopy(self.base), "stage": row},
                                   source=f"preset {self.preset} row {row}") for row in self.grid.rows}

    def prepare_data(self) -> None:
        prepare_hms(self.cfgs[self.grid.rows[0]].data, progress=self.progress)  # simulate + cache once

    def configure_tasks(self) -> list[list[Task]]:
        tasks = []
        for seed in range(self.grid.seeds):
            for row, cfg in self.cfgs.items():
                split = cfg.data.split.model_copy(update={"seed": seed})
                run = cfg.model_copy(update={"seed": seed, "data": cfg.data.model_copy(update={"split": split})})
                tasks.append(Task(f"{row}_s{seed}", {"grid_row": row, **run.model_dump()}))
        return [tasks]

    def describe(self, row: dict[str, Any]) -> str:
        return f"test KL {row.get('kl_divergence', float('nan')):.3f}"

    def configure_tables(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        return {"results": results_table(rows)}

    def summary(self, results: BenchmarkResults) -> str:
        return results.markdown + "\n" + verdict(results.rows)


def benchmark_foundation(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/foundation",
                         seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                         progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid; write ``results.csv/json/md`` and ``report.html``; returns the report path.

    Without ``data`` a simulated HMS corpus is written into ``<out>/data`` first.
    """
    return FoundationBenchmark(preset, data, out, seeds, overrides, overwrite, progress, jobs).run()


__all__ = ["ROW_LABELS", "TABLE_COLUMNS", "FoundationBenchmark", "GridConfig", "benchmark_foundation",
           "results_table", "verdict"]
