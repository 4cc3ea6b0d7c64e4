"""From a data section of a config to a prepared cache and a subject-wise split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from neurorep.config import SplitConfig, Strict
from neurorep.data.cache import COMPLETE, WindowCache, prepare
from neurorep.data.splits import Split, make_splits
from neurorep.data.windows import PrepareConfig
from neurorep.errors import DataError


class SimulateConfig(Strict):
    """Simulated corpus written when ``source`` does not exist yet."""

    kind: str = "sleep"
    subjects: int = Field(10, ge=2)
    hours: float = Field(8.0, gt=0)
    nights: int = Field(1, ge=1, le=2)
    seed: int = 0
    jobs: int = Field(2, ge=1)


class DataConfig(Strict):
    """Where the recordings are, how they become windows, and how subjects are split."""

    source: str = Field(..., description="folder of recordings, or a cache made by `neurorep data prepare`")
    dataset: str = "auto"
    cache: str = Field(".cache/neurorep", description="window cache root")
    prepare: PrepareConfig = PrepareConfig()
    split: SplitConfig = SplitConfig()
    simulate: SimulateConfig | None = Field(None, description="simulate the corpus into `source` if it is missing")
    jobs: int = Field(1, ge=1, description="processes preparing recordings")


@dataclass
class PreparedData:
    """A cache and its splits (one per fold; one element without k-fold)."""

    cache: WindowCache
    splits: list[Split]

    @property
    def subjects(self) -> np.ndarray:
        return self.cache.meta["subject"].astype(np.int64)


def missing_source(source: str | Path, what: str = "data folder", hint: str = "") -> DataError:
    """The error for a configured data folder that does not exist (nothing is simulated for it).

    ``hint`` names where the real data comes from; the message never suggests simulating, since
    a missing folder of real recordings is most often a wrong path.
    """
    return DataError(f"{source}: {what} does not exist; point data.source at it (e.g. --set data.source=PATH)"
                     + (f"; {hint}" if hint else ""))


def simulate_missing(source: str | Path, kind: str, settings: dict[str, Any] | None, what: str = "data folder",
                     hint: str = "", progress: bool = True) -> None:
    """The one simulate-if-missing step: write the simulated corpus ``kind`` into ``source`` when the folder
    is missing and ``settings`` (a config's ``simulate`` section, as writer options) are given; a missing
    folder without them is :func:`missing_source`'s error. An existing folder is left as it is."""
    if Path(source).exists():
        return
    if settings is None:
        raise missing_source(source, what, hint)
    from neurorep.data.corpora import simulate

    simulate(kind, source, progress=progress, **settings)


def split_cache(cache: WindowCache, split: SplitConfig) -> list[Split]:
    """The splits of ``cache`` that a config's ``split`` section asks for (see :func:`make_splits`)."""
    return make_splits(cache, by=split.by, val=split.val, test=split.test, folds=split.folds,
                       split_file=split.file, seed=split.seed, repeats=split.repeats)


def setup_data(cfg: DataConfig, progress: bool = True) -> PreparedData:
    """Simulate (if asked and missing), prepare or reuse the cache, and split by subject."""
    source = Path(cfg.source)
    sim = cfg.simulate
    simulate_missing(source, sim.kind if sim else "", None if sim is None else {
        "n_subjects": sim.subjects, "seed": sim.seed, "nights": sim.nights, "hours": sim.hours, "jobs": sim.jobs},
        progress=progress)
    if (source / COMPLETE).is_file():  # a cache prepared beforehand (`neurorep data prepare`) is used as it is
        cache = WindowCache(source)
    else:
        cache = prepare(source, cfg.cache, dataset=cfg.dataset, cfg=cfg.prepare, jobs=cfg.jobs,
                        on_error="skip", progress=progress).cache
    labelled = cache.meta["y"] >= 0
    splits = split_cache(cache, cfg.split)
    if not labelled.any():
        raise DataError(f"{cache.path}: no labelled windows; the study needs stage labels")
    return PreparedData(cache, splits)
