"""Benchmark sweeps shared by every recipe: presets, running rows in worker processes, result tables.

A recipe's ``benchmark`` builds a list of :class:`Task` (a run name plus the plain-dict config of
one run), hands them to :func:`run_tasks` with a module-level worker function, and writes what
comes back with :func:`write_results`. Example::

    rows = run_tasks(tasks, my_worker, out, jobs=2, progress=True, describe=lambda r: f"F1 {r['f1']:.3f}")
    write_results(out, rows, grouped_table(rows, [("row", "Method")], [("f1", "Macro-F1")]))
"""

from __future__ import annotations

import copy
import csv
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel

from neurorep.config import apply_overrides, safe_yaml, validate
from neurorep.errors import ConfigError, DataError, unknown_name_message
from neurorep.fileio import atomic_write_text
from neurorep.processes import worker_pool
from neurorep.progress import GridProgress

G = TypeVar("G", bound=BaseModel)
Row = dict[str, Any]
Worker = Callable[[str, dict[str, Any], str], Row]


@dataclass(frozen=True)
class Task:
    """One grid row: its run name (a folder under ``<out>/runs``) and the config it runs, as a plain dict."""

    name: str
    config: dict[str, Any]


def preset_names(package: str) -> list[str]:
    """Names of the ``presets/*.yaml`` files shipped in ``package``."""
    folder = resources.files(package).joinpath("presets")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_preset(package: str, name: str) -> dict[str, Any]:
    """The preset YAML ``presets/<name>.yaml`` shipped in ``package``; unknown names list the known ones."""
    names = preset_names(package)
    if name not in names:
        raise ConfigError(unknown_name_message("preset", name, names))
    return safe_yaml(resources.files(package).joinpath("presets", f"{name}.yaml").read_text()) or {}


def resolve_preset(package: str | None, preset: str, overrides: list[str] | None, grid_cls: type[G],
                   base_key: str = "base", presets: dict[str, dict[str, Any]] | None = None) -> G:
    """Load ``preset``, apply ``key=value`` overrides and validate it as ``grid_cls``.

    The preset is ``presets[preset]`` when ``presets`` is given (presets written in code), else the
    file ``presets/<preset>.yaml`` of ``package``. An override whose first key is not a field of
    ``grid_cls`` goes into the per-run settings (``base_key``), so ``--set pretrain.epochs=5`` reaches
    every run.
    """
    if presets is not None:
        if preset not in presets:
            raise ConfigError(unknown_name_message("preset", preset, list(presets)))
        raw = copy.deepcopy(presets[preset])
    elif package is None:
        raise ConfigError(f"preset {preset!r}: no presets (give a package with presets/*.yaml, or presets)")
    else:
        raw = load_preset(package, preset)
    top = set(grid_cls.model_fields)
    routed = [o if o.split("=", 1)[0].split(".")[0] in top else f"{base_key}.{o}" for o in (overrides or [])]
    return validate(grid_cls, apply_overrides(raw, routed), source=f"preset {preset}")


def run_settings(base: dict[str, Any], data: Path | str | None, out: Path, progress: bool,
                 corpus: str = "KIND") -> dict[str, Any]:
    """The settings every grid row starts from: a copy of the preset's ``base`` with its data folder set.

    With ``data`` the rows read that folder and nothing is simulated: a folder the user named that
    does not exist is an error (a typo must never be filled with generated data). Without it the
    simulated corpus goes to ``<out>/data``.
    """
    settings = copy.deepcopy(base)
    settings.setdefault("data", {})
    if data is not None:
        check_data_exists(data, corpus)
        settings["data"]["source"] = str(data)
        settings["data"]["simulate"] = None
    else:
        settings["data"]["source"] = str(out / "data")
    settings["progress"] = progress
    return settings


def check_data_exists(data: Path | str, corpus: str = "KIND") -> None:
    """Refuse a data folder named by the user that does not exist, before anything is written.

    ``corpus`` (the simulated corpus kind of the recipe) only shapes the hint of the message.
    """
    if Path(data).exists():
        return
    raise DataError(f"{data}: data folder does not exist; check the path, write a simulated corpus there with "
                    f"`neurorep data simulate {corpus} --out {data}`, or leave out --data to simulate one "
                    "into the output folder")


def check_jobs(jobs: int) -> None:
    """Refuse a worker count below 1 (call before any output folder is written)."""
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1; got {jobs}")


def _run_one(worker: Worker, name: str, config: dict[str, Any], out: str, threads: int | None) -> Row:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    from neurorep.cli import quiet_libraries

    quiet_libraries()
    t0 = time.time()
    row = worker(name, config, out)
    return {**row, "run": f"runs/{name}", "seconds": round(time.time() - t0, 1)}


def run_tasks(tasks: list[Task], worker: Worker, out: Path, jobs: int = 1, progress: bool = True,
              describe: Callable[[Row], str] | None = None, counter: GridProgress | None = None) -> list[Row]:
    """Run every task through ``worker(name, config, out)``; rows come back in task order.

    With ``jobs > 1`` tasks run in that many spawned single-threaded processes (``worker`` must be
    a module-level function). Each row gains ``run`` (its folder, relative to ``out``) and
    ``seconds``. A failing task stops the grid with its error. Each finished row prints a line with
    the overall count and ETA; a grid that runs its rows in stages passes one ``counter`` (made
    with the total of all stages) to every call.
    """
    check_jobs(jobs)
    counter = counter or GridProgress(len(tasks), enabled=progress)
    rows: list[Row | None] = [None] * len(tasks)

    def done(i: int, row: Row) -> None:
        rows[i] = row
        counter.finished(tasks[i].name, describe(row) if describe else "", row["seconds"])

    if jobs == 1:
        for i, t in enumerate(tasks):
            done(i, _run_one(worker, t.name, t.config, str(out), None))
    else:
        with worker_pool(jobs) as pool:
            futures = {pool.submit(_run_one, worker, t.name, t.config, str(out), 1): i for i, t in enumerate(tasks)}
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
    return [r for r in rows if r is not None]


def write_results(out: Path, rows: list[Row], table: str) -> None:
    """``results.csv``, ``results.json`` and ``results.md`` (the given markdown table) in ``out``."""
    from neurorep.runs import write_json

    columns = list(dict.fromkeys(k for r in rows for k in r))
    text = _csv_text(rows, columns)
    atomic_write_text(out / "results.csv", text)
    write_json(out / "results.json", rows)
    atomic_write_text(out / "results.md", table + "\n")


def _csv_text(rows: list[Row], columns: list[str]) -> str:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def grouped_table(rows: list[Row], keys: list[tuple[str, str]], columns: list[tuple[str, str]]) -> str:
    """Markdown table with one line per distinct value of ``keys``, each column as mean +- sd.

    ``keys`` and ``columns`` are ``(row key, header)`` pairs; columns no row has are left out,
    and ``n`` counts the rows in each group.
    """
    from neurorep.evaluation.report import mean_sd

    groups: dict[tuple[Any, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k, _ in keys), []).append(r)
    cols = [(k, label) for k, label in columns if any(k in r for r in rows)]
    lines = ["| " + " | ".join([label for _, label in keys] + ["n"] + [label for _, label in cols]) + " |",
             "|" + "---|" * (len(keys) + 1 + len(cols))]
    for group, rs in groups.items():
        cells = []
        for k, _ in cols:
            vals = [float(r[k]) for r in rs if r.get(k) is not None and np.isfinite(r[k])]
            cells.append(mean_sd(vals) if vals else "-")
        lines.append("| " + " | ".join([str(g) for g in group] + [str(len(rs))] + cells) + " |")
    return "\n".join(lines)
