"""The sleep-ssl benchmark grid: paradigms x encoders (+ random-init and supervised baselines) over seeds/folds."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.data.setup import setup_data
from neurorep.grid import (
    Task,
    check_jobs,
    grouped_table,
    resolve_preset,
    run_settings,
    run_tasks,
    write_results,
)
from neurorep.recipes.sleep_ssl.config import PARADIGMS, SleepSSLConfig
from neurorep.recipes.sleep_ssl.pipeline import run_sleep_ssl
from neurorep.recipes.sleep_ssl.plots import plots_from_run
from neurorep.recipes.sleep_ssl.report import write_grid_report
from neurorep.runs import prepare_run_dir

METHOD_LABELS = {"mp": "MP", "crl": "CRL", "hybrid": "Hybrid", "random": "Random init", "supervised": "Supervised"}


class GridConfig(Strict):
    """A benchmark preset: which rows to run, how often, and the settings shared by every run."""

    seeds: int = Field(2, ge=1)
    encoders: list[str] = Field(default_factory=lambda: ["cnn", "cnn_attention", "transformer"])
    paradigms: list[Literal["mp", "crl", "hybrid"]] = Field(default_factory=lambda: ["mp", "crl", "hybrid"])
    baselines: list[Literal["random", "supervised"]] = Field(default_factory=lambda: ["random", "supervised"])
    encoder_kwargs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    objective_kwargs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (a sleep-ssl config)")


def grid_runs(grid: GridConfig) -> list[tuple[str, str]]:
    """(method key, encoder) pairs in run order: baselines first, then each paradigm."""
    rows = [(b, e) for e in grid.encoders for b in grid.baselines]
    rows += [(p, e) for e in grid.encoders for p in grid.paradigms]
    return rows


def benchmark_sleep_ssl(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/sleep-ssl",
                        seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                        progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid and write ``results.csv``, ``results.json``, ``results.md`` and ``report.html``.

    Without ``data`` the simulated corpus is written into ``<out>/data`` first. ``jobs`` runs that
    many grid rows at once, each in its own single-threaded process (results do not depend on it).
    """
    check_jobs(jobs)
    grid = resolve_preset(__package__, preset, overrides, GridConfig)
    if seeds is not None:
        grid.seeds = seeds
    out = Path(out)
    base = run_settings(grid.base, data, out, progress, corpus="sleep")
    configs = _configs(grid, base)  # validates every run's config before anything is written
    out = prepare_run_dir(out, overwrite=overwrite)
    first = configs[0][2]
    folds = first.data.split.folds or 1
    tasks: list[Task] = []
    for seed in range(grid.seeds):
        split_data = first.data.model_copy(update={"split": first.data.split.model_copy(update={"seed": seed})})
        prepared = setup_data(split_data, progress=progress)  # builds the cache once; later calls reuse it
        for fold in range(folds):
            for method, encoder, cfg in configs:
                run = cfg.model_copy(update={"seed": seed, "fold": fold, "data": split_data,
                                             "progress": progress and jobs == 1})
                tasks.append(Task(f"{method}_{encoder}_s{seed}_f{fold}", {"grid_method": method, **run.model_dump()}))
    started = time.time()
    rows = run_tasks(tasks, _run_one, out, jobs, progress,
                     describe=lambda r: f"balanced accuracy {r.get('bal_acc@1', float('nan')):.3f}")
    write_results(out, rows, results_table(rows))
    best = _best_ssl(rows)
    if best is not None:
        plots_from_run(out / best["run"], prepared.cache, best["seed"])
    report = write_grid_report(out, rows, grid.model_dump(), time.time() - started, best)
    print((out / "results.md").read_text())
    return report


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Run one grid row (in this process or a worker) and return its results-table row."""
    config = dict(config)
    method = config.pop("grid_method")
    metrics = run_sleep_ssl(SleepSSLConfig.model_validate(config), Path(out) / "runs" / name)
    return {"row": METHOD_LABELS[method], **metrics["summary"]}


def _best_ssl(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The SSL run with the highest full-label probe balanced accuracy (from the last split set up)."""
    ssl = [r for r in rows if r["method"] == "ssl" and "bal_acc@1" in r and r["seed"] == rows[-1]["seed"]
           and r["fold"] == rows[-1]["fold"]]
    return max(ssl, key=lambda r: r["bal_acc@1"]) if ssl else None


def _configs(grid: GridConfig, base: dict[str, Any]) -> list[tuple[str, str, SleepSSLConfig]]:
    out = []
    for method, encoder in grid_runs(grid):
        d = copy.deepcopy(base)
        d["recipe"] = "sleep-ssl"
        d["plots"] = False  # figures are drawn for the best run only, from its stored arrays
        d["encoder"] = {"name": encoder, "kwargs": grid.encoder_kwargs.get(encoder, {})}
        if method in PARADIGMS:
            d["method"] = "ssl"
            d["objective"] = {"name": PARADIGMS[method], "kwargs": grid.objective_kwargs.get(method, {})}
        else:
            d["method"] = method
        out.append((method, encoder, validate(SleepSSLConfig, d, source=f"grid row {method}/{encoder}")))
    return out


TABLE_COLUMNS = [("bal_acc@0.01", "Bal. acc 1%"), ("bal_acc@0.1", "Bal. acc 10%"), ("bal_acc@1", "Bal. acc 100%"),
                 ("macro_f1", "Macro-F1"), ("kappa", "Kappa"), ("knn_accuracy", "kNN acc"),
                 ("rankme", "RankMe"), ("subject_separability", "Subject sep. (lower better)")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per (row, encoder), mean +- sd over seeds and folds."""
    return grouped_table(rows, [("row", "Method"), ("encoder", "Encoder")], TABLE_COLUMNS)
