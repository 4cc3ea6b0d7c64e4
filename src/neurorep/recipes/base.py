"""The one benchmark skeleton every recipe's grid subclasses.

:class:`Benchmark` owns the prelude each recipe used to repeat: load the preset and its overrides,
check the worker count and the output folder, build the settings every run starts from, validate
every run's config before anything is written, make the run folder, run the tasks (in stages when
later rows need earlier ones), collect the rows, write ``results.csv/json/md`` and call the report.
A recipe supplies only what differs, through ``configure_*`` hooks::

    class MyBenchmark(Benchmark, recipe="my-recipe", grid_cls=MyGridConfig, worker=run_row, report=write_report):
        # grid_cls: the preset's schema (a `base` dict of run settings + grid keys); worker: a module-level
        # (name, config dict, out) -> results row; report: (BenchmarkResults) -> report path. Presets are
        # the presets/*.yaml files of the subclass's package (or package=..., or presets={"quick": {...}}).

        def configure_tasks(self) -> list[list[Task]]: ...   # one list per stage
        def configure_tables(self, rows) -> dict[str, str]: ...  # rendered markdown tables

    MyBenchmark(preset="quick", out="runs/mine").run()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from neurorep.progress import GridProgress
from neurorep.runs import check_run_dir, prepare_run_dir
from neurorep.sweep import Row, Task, Worker, check_jobs, resolve_preset, run_settings, run_tasks, write_results

__all__ = ["Benchmark", "BenchmarkResults"]


@dataclass(frozen=True)
class ClassicRows:
    """A recipe's classic baselines, declared on its :class:`Benchmark` (``classic=ClassicRows(...)``):
    ``tasks`` makes their tasks from the first stage's run tasks (same windows, splits and seeds),
    ``worker`` scores one, ``require(rows, run_tasks)`` refuses a table without every required row;
    ``first`` lists them before the runs."""

    tasks: Callable[[list[Task]], list[Task]]
    worker: Worker
    require: Callable[[list[Row], list[Task]], None]
    first: bool = False


@dataclass
class RunPlots:
    """What one run hands its recipe's ``write_run_plots(folder, run) -> {name: file}`` (every recipe's
    ``plots.py`` has that one signature): the test-set arrays, the class names, the run's metrics, its
    training-curve CSVs (one per stage), the seed, the window cache, and recipe-specific inputs."""

    arrays: dict[str, Any] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    curves: list[Path] = field(default_factory=list)
    seed: int = 0
    cache: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def curve(self) -> Path | None:
        """The first training-curve CSV that exists (``None`` when there is none)."""
        return next((c for c in self.curves if c is not None and Path(c).is_file()), None)


@dataclass
class BenchmarkResults:
    """What a recipe's report is given: the recipe, the output folder (its run folders are
    ``out / row["run"]``), the rows, the grid settings as a plain dict, the wall time and the rendered
    markdown tables."""

    recipe: str
    out: Path
    rows: list[Row]
    grid: dict[str, Any]
    seconds: float
    tables: dict[str, str] = field(default_factory=dict)

    @property
    def markdown(self) -> str:
        """Every table, in order, as ``results.md`` holds them."""
        return "\n\n".join(self.tables.values())


class Benchmark:
    """A recipe's benchmark grid: declare its parts as class keywords, override the ``configure_*`` hooks.

    Hooks, in the order :meth:`run` calls them:

    - :meth:`configure_grid` checks the preset (after ``--seeds`` is applied);
    - :meth:`configure_data` turns ``--data`` into the folder the rows read;
    - :meth:`configure_base` edits the settings every run starts from;
    - :meth:`configure_runs` validates every run's config (nothing is written yet);
    - :meth:`prepare_data` builds caches once, in the new run folder;
    - :meth:`configure_tasks` lists the tasks, one list per stage; :meth:`after_stage` runs between stages;
    - :meth:`extra_rows` adds rows that are not runs (classic baselines), :meth:`check_rows` refuses a
      table that lacks some, :meth:`configure_tables` renders the tables;
    - :attr:`report` writes ``report.html`` from a :class:`BenchmarkResults`.
    """

    recipe: ClassVar[str]
    package: ClassVar[str | None] = None  # the package whose presets/*.yaml are the presets ...
    presets: ClassVar[dict[str, dict[str, Any]] | None] = None  # ... or the presets written in code
    grid_cls: ClassVar[type[BaseModel]]
    worker: ClassVar[Worker]
    report: ClassVar[Callable[[BenchmarkResults], Path]]
    corpus: ClassVar[str] = "KIND"  # simulated corpus kind, named in the hint for a missing --data folder
    classic: ClassVar[ClassicRows | None] = None  # classic baseline rows run by the default extra_rows/check_rows

    def __init_subclass__(cls, **declared: Any) -> None:
        """Class keywords set the declarations: ``recipe``, ``grid_cls``, ``worker``, ``report``, and
        optionally ``package``, ``presets``, ``corpus``."""
        unknown = set(declared) - {"recipe", "package", "presets", "grid_cls", "worker", "report", "corpus", "classic"}
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown benchmark declaration(s) {sorted(unknown)}")
        super().__init_subclass__()
        for key, value in declared.items():
            setattr(cls, key, staticmethod(value) if key in ("worker", "report") else value)
        if cls.package is None and cls.presets is None and "package" not in declared:
            cls.package = cls.__module__.rpartition(".")[0]  # presets/*.yaml beside the grid module

    def __init__(self, preset: str = "quick", data: Path | str | None = None, out: Path | str | None = None,
                 seeds: int | None = None, overrides: list[str] | None = None, overwrite: bool = False,
                 progress: bool = True, jobs: int = 1) -> None:
        self.preset = preset
        self.data = Path(data) if data is not None else None
        self.out = Path(out if out is not None else f"runs/{self.recipe}")
        self.seeds = seeds
        self.overrides = list(overrides or [])
        self.overwrite = overwrite
        self.progress = progress
        self.jobs = jobs
        self.grid: Any = None
        self.stages: list[list[Task]] = []
        self.base: dict[str, Any] = {}

    # ---------------------------------------------------------------- hooks
    def configure_grid(self) -> None:
        """Check ``self.grid`` beyond its schema (raise :class:`~neurorep.errors.ConfigError`)."""

    def configure_data(self, data: Path | None) -> Path | None:
        """The data folder the rows read (``None``: simulate into ``<out>/data``)."""
        return data

    def configure_base(self, base: dict[str, Any]) -> None:
        """Edit, in place, the settings every run starts from."""

    def configure_runs(self) -> None:
        """Validate every run's config before anything is written (keep them on ``self``)."""

    def prepare_data(self) -> None:
        """Build what every row reads once (caches, splits), after the run folder exists."""

    def configure_tasks(self) -> list[list[Task]]:
        """The tasks, one list per stage: a stage starts when the previous one has finished."""
        raise NotImplementedError(f"{type(self).__name__} must list its tasks (configure_tasks)")

    def after_stage(self, stage: int, rows: list[Row]) -> None:
        """Called after each stage with every row so far (e.g. to draw the best run's figures)."""

    def describe(self, row: Row) -> str:
        """The progress line's text for a finished row."""
        return ""

    def extra_rows(self, rows: list[Row]) -> list[Row]:
        """Rows that are not runs, appended to the table's rows: by default the declared :attr:`classic`
        baselines, on the first stage's windows, splits and seeds."""
        if self.classic is None:
            return []
        return run_tasks(self.classic.tasks(self.stages[0]), self.classic.worker, self.out, self.jobs,
                         self.progress, describe=self.describe)

    def check_rows(self, rows: list[Row]) -> list[Row]:
        """The rows in table order; refuse (``DataError``) a table that lacks rows it must have (by default
        the declared :attr:`classic` rows)."""
        if self.classic is None:
            return rows
        self.classic.require(rows, self.stages[0])
        return sorted(rows, key=lambda r: r.get("method") != "classic") if self.classic.first else rows

    def configure_tables(self, rows: list[Row]) -> dict[str, str]:
        """The rendered markdown tables (name -> table), in ``results.md`` order."""
        raise NotImplementedError(f"{type(self).__name__} must render its tables (configure_tables)")

    def summary(self, results: BenchmarkResults) -> str:
        """What is printed at the end (with progress on)."""
        return results.markdown

    # ---------------------------------------------------------------- the skeleton
    @property
    def run_progress(self) -> bool:
        """Whether a single run prints its own progress (only when rows run one at a time)."""
        return self.progress and self.jobs == 1

    def run(self) -> Path:
        """Run the grid; write ``results.csv/json/md`` and ``report.html`` into ``out``; return the report path."""
        check_jobs(self.jobs)
        self.grid = resolve_preset(self.package, self.preset, self.overrides, self.grid_cls,
                                   presets=self.presets)
        if self.seeds is not None:
            self.grid.seeds = self.seeds
        self.configure_grid()
        self.data = self.configure_data(self.data)
        check_run_dir(self.out, overwrite=self.overwrite)  # before any data is prepared
        self.base = run_settings(self.grid.base, self.data, self.out, self.run_progress, corpus=self.corpus)
        self.configure_base(self.base)
        self.configure_runs()
        self.out = prepare_run_dir(self.out, overwrite=self.overwrite)
        started = time.time()
        self.prepare_data()
        stages = self.stages = self.configure_tasks()
        counter = GridProgress(sum(map(len, stages)), enabled=self.progress)  # counts over all stages
        rows: list[Row] = []
        for i, tasks in enumerate(stages):
            if tasks:
                rows += run_tasks(tasks, type(self).worker, self.out, self.jobs, self.progress,
                                  describe=self.describe, counter=counter)
            self.after_stage(i, rows)
        rows = self.check_rows(rows + self.extra_rows(rows))
        results = BenchmarkResults(self.recipe, self.out, rows, self.grid.model_dump(), time.time() - started,
                                   self.configure_tables(rows))
        write_results(self.out, rows, results.markdown)
        report = type(self).report(results)
        if self.progress:
            print(self.summary(results))
        return report

    @classmethod
    def entry(cls, **kwargs: Any) -> Path:
        """``benchmark(preset=..., data=..., out=..., ...)``: the function a :class:`~neurorep.recipes.Recipe` calls."""
        return cls(**kwargs).run()
