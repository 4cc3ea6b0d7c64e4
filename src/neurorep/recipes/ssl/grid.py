"""The ssl benchmark grid: random-init and supervised rows, each SSL paradigm x encoder, and the classic
baselines of the task, over seeds and subject folds of one cache.

``neurorep benchmark ssl --data CACHE`` runs it on a prepared cache; ``sleep-ssl`` runs the same
grid with its own presets (a subclass of :class:`SSLBenchmark`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from neurorep.config import Strict, validate
from neurorep.data.cache import find_caches
from neurorep.data.prepared import PreparedData, setup_data
from neurorep.errors import ConfigError, unknown_name_message
from neurorep.evaluation.baselines import BASELINE_LABELS, TASK_BASELINES, check_baseline
from neurorep.evaluation.classic_rows import require_rows
from neurorep.sweep import Task
from neurorep.recipes.ssl.classic import CLASSIC, run_classic
from neurorep.recipes.ssl.config import PARADIGMS, SSLConfig
from neurorep.recipes.ssl.data import cache_folder
from neurorep.recipes.ssl.pipeline import build_encoder, check_pretraining, labelled_parts, run_ssl
from neurorep.recipes.ssl.plots import plots_from_run
from neurorep.recipes.ssl.pooled import difference_table, pooled_rows, pooled_table
from neurorep.recipes.ssl.report import write_grid_report
from neurorep.recipes.ssl.tables import best_ssl, results_table
from neurorep.recipes import get_recipe
from neurorep.recipes.base import Benchmark
from neurorep.transforms.augment import AUGMENT_PRESETS

METHOD_LABELS = {"mp": "MP", "crl": "CRL", "hybrid": "Hybrid", "rp": "RP", "tcl": "Temporal CRL",
                 "mbp": "Masked band power", "scl": "Segment CRL",
                 "random": "Random init", "supervised": "Supervised"}
TASKS = Literal["sleep", "motor", "ssvep", "clinical", "generic"]


class GridConfig(Strict):
    """A benchmark preset: which rows to run, how often, and the settings shared by every run."""

    seeds: int = Field(2, ge=1)
    first_seed: int = Field(0, ge=0, description="seeds run first_seed .. first_seed + seeds - 1 (a later range "
                            "re-checks a setting chosen on the first seeds on folds and initialisations it never saw)")
    task: TASKS = Field("generic", description="kind of data: picks the classic baselines and the augmentations")
    encoders: list[str] = Field(default_factory=lambda: ["cnn", "cnn_attention", "transformer"])
    paradigms: list[Literal["mp", "crl", "hybrid", "rp", "tcl", "mbp", "scl"]] = Field(
        default_factory=lambda: ["mp", "crl", "hybrid"])
    baselines: list[Literal["random", "supervised"]] = Field(default_factory=lambda: ["random", "supervised"])
    classic: list[str] | None = Field(None, description="classic baseline rows (default: the task's)")
    classic_options: dict[str, Any] = Field(default_factory=dict, description="options of the classic baselines: "
                                            "bands of bandpower_lr; frequencies, n_harmonics, n_bands of the SSVEP rows")
    augment: str | None = Field("task", description="view augmentations of crl/hybrid: task (the task's preset), "
                                "a preset name, or null (the objective's default)")
    folds: int | Literal["auto"] | None = Field(None, description="subject folds: a number, auto (min(5, subjects)) "
                                                "or null (the split of base.data.split)")
    encoder_kwargs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    encoder_weights: dict[str, str] = Field(
        default_factory=dict, description="encoder -> weights (published checkpoint file or hub id, or a saved-model "
        "folder) its rows start from; its random-init row then probes those frozen weights")
    channel_mapping: dict[str, Any] | None = Field(None, description="channel mapping for encoder_weights")
    resample: bool = Field(False, description="let encoder_weights resample the cache to the model's rate")
    objective_kwargs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pool_folds: bool = Field(False, description="also score each seed once over the joined test predictions of "
                             "its folds (every labelled window tested once; n = seeds): a second table for data "
                             "whose folds test too few windows to tell methods apart (recipes/ssl/pooled.py)")
    base: dict[str, Any] = Field(default_factory=dict, description="settings of every run (an ssl config)")

    @model_validator(mode="after")
    def _classic_rows(self) -> GridConfig:
        if self.classic is None:
            self.classic = list(TASK_BASELINES[self.task])
        if not self.classic:
            raise ValueError("classic: a benchmark table needs at least one classic baseline row "
                             f"(known: {', '.join(BASELINE_LABELS)})")
        for name in self.classic:
            if name not in BASELINE_LABELS:
                raise ValueError(unknown_name_message("classic baseline", name, list(BASELINE_LABELS)))
        for name in self.encoder_weights:
            if name not in self.encoders:
                raise ValueError(f"encoder_weights: {name!r} is not one of the grid's encoders "
                                 f"({', '.join(self.encoders)})")
        if isinstance(self.folds, int) and self.folds < 2:
            raise ValueError("folds: at least 2 (or auto, or null for one split)")
        if self.pool_folds and self.folds is None and not (self.base.get("data") or {}).get("split", {}).get("folds"):
            raise ValueError("pool_folds: needs k-fold splits (folds, or base.data.split.folds)")
        return self

    def augmentations(self) -> str | None:
        """The augmentation preset crl/hybrid rows get (``None``: the objective's default)."""
        if self.augment == "task":
            return self.task if self.task in AUGMENT_PRESETS else None
        if self.augment is not None and self.augment not in AUGMENT_PRESETS:
            raise ConfigError(f"augment: unknown augmentation preset {self.augment!r}; known: task, "
                              f"{', '.join(AUGMENT_PRESETS)} or null")
        return self.augment


def grid_runs(grid: GridConfig) -> list[tuple[str, str]]:
    """(method key, encoder) pairs in run order: baselines first, then each paradigm."""
    rows = [(b, e) for e in grid.encoders for b in grid.baselines]
    rows += [(p, e) for e in grid.encoders for p in grid.paradigms]
    return rows


def _run_one(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Run one grid row (in this process or a worker) and return its results-table row."""
    config = dict(config)
    method = config.pop("grid_method")
    options = config.pop("classic_options", {})
    cfg = get_recipe(config["recipe"]).config_cls.model_validate(config)
    if method.startswith(f"{CLASSIC}:"):
        return run_classic(cfg, method.split(":", 1)[1], options, Path(out) / "runs" / name)["summary"]
    metrics = run_ssl(cfg, Path(out) / "runs" / name)
    label = METHOD_LABELS[method]
    if cfg.weights is not None:  # rows that start from saved weights say so
        label = "Frozen weights" if method == "random" else f"{label} (from weights)"
    return {"row": label, **metrics["summary"]}


class SSLBenchmark(Benchmark, recipe="ssl", grid_cls=GridConfig, worker=_run_one, report=write_grid_report):
    """The ssl grid on a prepared cache; ``sleep-ssl`` is the same grid with its own presets and corpus."""

    config_cls: type[SSLConfig] = SSLConfig
    needs_data = True  # ssl reads a prepared cache; sleep-ssl simulates its corpus without --data

    def configure_data(self, data: Path | None) -> Path | None:
        return cache_folder(data) if self.needs_data else data

    def configure_runs(self) -> None:
        self.configs = _configs(self.recipe, self.config_cls, self.grid, self.base, _n_folds(self.grid, self.data))
        self.first = self.configs[0][2]
        if self.data is not None:  # data given: check every row can take it before anything is written
            _check_fit(self.grid, self.configs, setup_data(self.first.data, progress=self.progress))

    def configure_tasks(self) -> list[list[Task]]:
        grid, first, by_fold = self.grid, self.first, {}
        for seed in range(grid.first_seed, grid.first_seed + grid.seeds):
            split_data = first.data.model_copy(update={"split": first.data.split.model_copy(update={"seed": seed})})
            self.prepared = setup_data(split_data, progress=self.progress)  # builds the cache once, then reuses it
            if seed == grid.first_seed and self.data is None:
                _check_fit(grid, self.configs, self.prepared)
            for fold in range(len(self.prepared.splits)):
                tasks = by_fold.setdefault(fold, [])
                run_cfg = {"seed": seed, "fold": fold, "data": split_data, "progress": self.run_progress}
                for name in grid.classic or []:
                    run = first.model_copy(update=run_cfg)
                    tasks.append(Task(f"{name}_s{seed}_f{fold}", {"grid_method": f"{CLASSIC}:{name}",
                                                                 "classic_options": grid.classic_options,
                                                                 **run.model_dump()}))
                for method, encoder, cfg in self.configs:
                    run = cfg.model_copy(update=run_cfg)
                    tasks.append(Task(f"{method}_{encoder}_s{seed}_f{fold}",
                                      {"grid_method": method, **run.model_dump()}))
        # fold-major order: the first fold of every seed comes first, so with --jobs the seeds' shared
        # pretrainings (one per seed, reused by its other folds) run side by side instead of one fold
        # of a seed waiting for another fold's pretraining of the same seed
        return [[t for fold in sorted(by_fold) for t in by_fold[fold]]]

    def describe(self, row: dict[str, Any]) -> str:
        return f"balanced accuracy {row.get('bal_acc@1', float('nan')):.3f}"

    def check_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        check_classic_rows(rows, self.grid.classic or [])
        best = best_ssl(rows)
        if best is not None:  # figures of the best run, from its stored arrays
            plots_from_run(self.out / best["run"], self.prepared.cache, best["seed"])
        return rows

    def configure_tables(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        tables = {"results": results_table(rows)}
        diff = difference_table(rows)
        if diff:
            tables["differences"] = f"SSL minus random init, paired by seed and fold:\n\n{diff}"
        if self.grid.pool_folds:
            split = self.first.data.split
            pooled = pooled_rows(self.out, rows, self.prepared.cache.classes, split.folds)
            repeated = f", the mean of {split.repeats} repeats of the k-fold" if split.repeats > 1 else ""
            tables["pooled"] = (f"Pooled over folds (one score per seed over every labelled window{repeated}):\n\n"
                                + pooled_table(pooled))
            diff = difference_table(pooled)
            if diff:
                tables["pooled_differences"] = f"Pooled, SSL minus random init, paired by seed:\n\n{diff}"
        return tables


def benchmark_ssl(preset: str = "quick", data: Path | None = None, out: Path | str = "runs/ssl",
                  seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                  progress: bool = True, jobs: int = 1) -> Path:
    """``neurorep benchmark ssl --data CACHE``: the grid on a prepared cache (nothing is simulated); writes
    ``results.csv``, ``results.json``, ``results.md`` and ``report.html`` and returns the report's path.

    ``jobs`` runs that many grid rows at once, each in its own single-threaded process.
    """
    return SSLBenchmark(preset, data, out, seeds, overrides, overwrite, progress, jobs).run()


def _n_folds(grid: GridConfig, data: Path | None) -> int | None:
    """Subject folds: ``auto`` is min(5, subjects of the cache) (5 for a folder of recordings)."""
    if grid.folds != "auto":
        return grid.folds
    caches = find_caches(data) if data is not None else []
    return min(5, len(caches[0].subjects)) if len(caches) == 1 else 5


def _check_fit(grid: GridConfig, configs: list[tuple[str, str, SSLConfig]], prepared: PreparedData) -> None:
    """Refuse, before anything trains, a classic baseline or an encoder that cannot take this cache."""
    info = prepared.cache.info
    for name in grid.classic or []:
        check_baseline(name, len(info.ch_names))
    for encoder in dict.fromkeys(cfg.encoder.name for _, _, cfg in configs):
        build_encoder(next(cfg for _, e, cfg in configs if e == encoder), info)
    for fold in range(len(prepared.splits)):
        labelled_parts(prepared, fold)
    for cfg in [cfg for _, _, cfg in configs if cfg.method == "ssl"]:
        check_pretraining(cfg, prepared.cache)


def check_classic_rows(rows: list[dict[str, Any]], classic: list[str]) -> None:
    """A results table is written only with a row for each of its classic baselines."""
    require_rows([r for r in rows if r.get("method") == CLASSIC], [BASELINE_LABELS[n] for n in classic])


def _configs(recipe: str, config_cls: type[BaseModel], grid: GridConfig, base: dict[str, Any],
             folds: int | None) -> list[tuple[str, str, SSLConfig]]:
    out = []
    augment = grid.augmentations()
    for method, encoder in grid_runs(grid):
        d = copy.deepcopy(base)
        d["recipe"] = recipe
        d["plots"] = False  # figures are drawn for the best run only, from its stored arrays
        if folds is not None:
            d.setdefault("data", {}).setdefault("split", {})["folds"] = folds
        d["encoder"] = {"name": encoder, "kwargs": grid.encoder_kwargs.get(encoder, {})}
        if encoder in grid.encoder_weights:
            d["weights"] = {"source": grid.encoder_weights[encoder], "channel_mapping": grid.channel_mapping,
                            "resample": grid.resample}
        if method in PARADIGMS:
            d["method"] = "ssl"
            kwargs = dict(grid.objective_kwargs.get(method, {}))
            if augment is not None and method in ("crl", "hybrid"):
                kwargs.setdefault("augmentations", augment)
            d["objective"] = {"name": PARADIGMS[method], "kwargs": kwargs}
        else:
            d["method"] = method
        out.append((method, encoder, validate(config_cls, d, source=f"grid row {method}/{encoder}")))
    return out
