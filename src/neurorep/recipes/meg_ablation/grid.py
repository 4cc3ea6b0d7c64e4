"""The meg-ablation benchmark: every combination of the three pretraining tasks x settings x seeds."""

from __future__ import annotations

import copy
import itertools
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

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
from neurorep.recipes.meg_ablation.config import OBJECTIVE_OF, MegAblationConfig
from neurorep.recipes.meg_ablation.data import setup_meg
from neurorep.recipes.meg_ablation.pipeline import run_meg_ablation
from neurorep.runs import prepare_run_dir

FLAGS = list(OBJECTIVE_OF)  # denoising, masked_sensor, masked_sequence
HEADERS = {"denoising": "Denoising", "masked_sensor": "Masked MEG", "masked_sequence": "Masked sequence"}
ALL_ROWS = ["".join(bits) for bits in itertools.product("01", repeat=3)]  # "000" none ... "111" all


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


def benchmark_meg_ablation(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/meg-ablation",
                           seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                           progress: bool = True, jobs: int = 1) -> Path:
    """Run the 2^3 grid on Intra and Cross; write ``results.csv/json/md`` and ``report.html``.

    ``data`` is a folder holding ``Intra/`` and ``Cross/``; without it the simulated corpus is
    written into ``<out>/data`` first. ``jobs`` runs that many rows at once (single-threaded
    processes; results do not depend on it).
    """
    check_jobs(jobs)
    grid = resolve_preset(__package__, preset, overrides, GridConfig)
    if seeds is not None:
        grid.seeds = seeds
    out = Path(out)
    base = run_settings(grid.base, data, out, progress, corpus="meg")
    configs = {(s, r): _config(base, s, r) for s in grid.settings for r in grid.rows}  # validate all first
    out = prepare_run_dir(out, overwrite=overwrite)
    caches = {s: setup_meg(configs[(s, grid.rows[0])].data, s, progress=progress) for s in grid.settings}
    tasks = []
    for seed in range(grid.seeds):
        for (setting, bits), cfg in configs.items():
            run = cfg.model_copy(update={"seed": seed, "progress": progress and jobs == 1})
            tasks.append(Task(f"{setting}_{bits}_s{seed}", run.model_dump()))
    started = time.time()
    rows = run_tasks(tasks, _run_one, out, jobs, progress, describe=lambda r: f"macro-F1 {r['macro_f1']:.3f}")
    # --- classic baseline rows (recipes/meg_ablation/classic.py): same windows and splits, listed first
    from neurorep.recipes.meg_ablation.classic import classic_row, classic_tasks, required_rows

    rows = run_tasks(classic_tasks(tasks), classic_row, out, jobs, progress,
                     describe=lambda r: f"macro-F1 {r['macro_f1']:.3f}") + rows
    required_rows(rows)
    # ---
    write_results(out, rows, results_table(rows))
    from neurorep.recipes.meg_ablation.report import write_grid_report

    report = write_grid_report(out, rows, grid.model_dump(), time.time() - started, caches)
    print((out / "results.md").read_text())
    return report


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


def setting_table(rows: list[dict[str, Any]], setting: str) -> str:
    """Markdown table of one setting: Method | Denoising | Masked MEG | Masked sequence | n | F1 | Accuracy
    (mean +- sd); classic rows have no pretraining marks."""
    sub = [r for r in rows if r["Setting"] == setting]
    return grouped_table(sub, [("Method", "Method")] + [(HEADERS[f], HEADERS[f]) for f in FLAGS],
                         [("macro_f1", "F1 (macro)"), ("accuracy", "Accuracy")])


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: a ``### <setting>`` heading and its table for every setting."""
    settings = dict.fromkeys(r["Setting"] for r in rows)
    return "\n\n".join(f"### {s}\n\n{setting_table(rows, s)}" for s in settings)
