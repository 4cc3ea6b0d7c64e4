"""The sleep-ssl benchmark grid: paradigms x encoders (+ random-init and supervised baselines) over seeds/folds."""

from __future__ import annotations

import copy
import csv
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field

from neurorep.config import Strict, apply_overrides, validate
from neurorep.data.setup import setup_data
from neurorep.errors import ConfigError, unknown_name_message
from neurorep.recipes.sleep_ssl.config import PARADIGMS, SleepSSLConfig
from neurorep.recipes.sleep_ssl.pipeline import run_sleep_ssl
from neurorep.recipes.sleep_ssl.plots import plots_from_run
from neurorep.recipes.sleep_ssl.report import write_grid_report
from neurorep.runs import prepare_run_dir, write_json

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


def load_preset(name: str) -> dict[str, Any]:
    """Preset YAML shipped with the package (``quick`` or ``full``)."""
    names = sorted(p.name.removesuffix(".yaml") for p in resources.files(__package__).joinpath("presets").iterdir()
                   if p.name.endswith(".yaml"))
    if name not in names:
        raise ConfigError(unknown_name_message("preset", name, names))
    return yaml.safe_load(resources.files(__package__).joinpath("presets", f"{name}.yaml").read_text())


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
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1; got {jobs}")
    top = set(GridConfig.model_fields)
    raw = apply_overrides(load_preset(preset), [o if o.split("=", 1)[0].split(".")[0] in top else f"base.{o}"
                                                for o in (overrides or [])])
    grid = validate(GridConfig, raw, source=f"preset {preset}")
    if seeds is not None:
        grid.seeds = seeds
    out = Path(out)
    base = copy.deepcopy(grid.base)
    base.setdefault("data", {})
    if data is not None:
        base["data"]["source"] = str(data)
        if Path(data).exists():
            base["data"]["simulate"] = None
    else:
        base["data"]["source"] = str(out / "data")
    base["progress"] = progress
    configs = _configs(grid, base)  # validates every run's config before anything is written
    out = prepare_run_dir(out, overwrite=overwrite)
    first = configs[0][2]
    folds = first.data.split.folds or 1
    tasks: list[tuple[str, str, SleepSSLConfig]] = []
    for seed in range(grid.seeds):
        split_data = first.data.model_copy(update={"split": first.data.split.model_copy(update={"seed": seed})})
        prepared = setup_data(split_data, progress=progress)  # builds the cache once; later calls reuse it
        for fold in range(folds):
            for method, encoder, cfg in configs:
                tasks.append((f"{method}_{encoder}_s{seed}_f{fold}", method,
                              cfg.model_copy(update={"seed": seed, "fold": fold, "data": split_data,
                                                     "progress": progress and jobs == 1})))
    started = time.time()
    rows = _run_tasks(tasks, out, jobs, progress)
    _write_results(out, rows)
    best = _best_ssl(rows)
    if best is not None:
        plots_from_run(out / best["run"], prepared.cache, best["seed"])
    report = write_grid_report(out, rows, grid.model_dump(), time.time() - started, best)
    print((out / "results.md").read_text())
    return report


def _run_one(name: str, method: str, cfg_data: dict[str, Any], out: str, threads: int | None) -> dict[str, Any]:
    """Run one grid row (in this process or a worker) and return its results-table row."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    from neurorep.cli import quiet_libraries

    quiet_libraries()
    cfg = SleepSSLConfig.model_validate(cfg_data)
    t0 = time.time()
    metrics = run_sleep_ssl(cfg, Path(out) / "runs" / name)
    return {"row": METHOD_LABELS[method], **metrics["summary"], "run": f"runs/{name}",
            "seconds": round(time.time() - t0, 1)}


def _run_tasks(tasks: list[tuple[str, str, SleepSSLConfig]], out: Path, jobs: int,
               progress: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any] | None] = [None] * len(tasks)

    def report(i: int, row: dict[str, Any]) -> None:
        rows[i] = row
        if progress:
            done = sum(r is not None for r in rows)
            print(f"[{done}/{len(tasks)}] {tasks[i][0]}: balanced accuracy {row.get('bal_acc@1', float('nan')):.3f} "
                  f"({row['seconds']:.0f} s)", flush=True)

    if jobs == 1:
        for i, (name, method, cfg) in enumerate(tasks):
            report(i, _run_one(name, method, cfg.model_dump(), str(out), None))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_run_one, name, method, cfg.model_dump(), str(out), 1): i
                       for i, (name, method, cfg) in enumerate(tasks)}
            for fut in as_completed(futures):
                report(futures[fut], fut.result())
    return [r for r in rows if r is not None]


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


def _write_results(out: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with (out / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    write_json(out / "results.json", rows)
    (out / "results.md").write_text(results_table(rows) + "\n")


TABLE_COLUMNS = [("bal_acc@0.01", "Bal. acc 1%"), ("bal_acc@0.1", "Bal. acc 10%"), ("bal_acc@1", "Bal. acc 100%"),
                 ("macro_f1", "Macro-F1"), ("kappa", "Kappa"), ("knn_accuracy", "kNN acc"),
                 ("rankme", "RankMe"), ("subject_separability", "Subject sep. (lower better)")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per (row, encoder), mean +- sd over seeds and folds."""
    from neurorep.evaluation.report import mean_sd

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["row"], r["encoder"]), []).append(r)
    cols = [(k, label) for k, label in TABLE_COLUMNS if any(k in r for r in rows)]
    lines = ["| Method | Encoder | n | " + " | ".join(label for _, label in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for (method, encoder), rs in groups.items():
        cells = []
        for k, _ in cols:
            vals = [r[k] for r in rs if k in r and r[k] is not None and np.isfinite(r[k])]
            cells.append(mean_sd(vals) if vals else "-")
        lines.append(f"| {method} | {encoder} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
