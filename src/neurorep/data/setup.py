"""From a data section of a config to a prepared cache and a subject-wise split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from neurorep.config import SplitConfig, Strict
from neurorep.data.cache import COMPLETE, WindowCache, prepare
from neurorep.data.splits import Split, subject_kfold, subject_split, window_kfold
from neurorep.data.windows import PrepareConfig
from neurorep.errors import ConfigError, DataError


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


def setup_data(cfg: DataConfig, progress: bool = True) -> PreparedData:
    """Simulate (if asked and missing), prepare or reuse the cache, and split by subject."""
    source = Path(cfg.source)
    if not source.exists():
        if cfg.simulate is None:
            raise missing_source(source)
        from neurorep.data.corpora import simulate

        sim = cfg.simulate
        simulate(sim.kind, source, n_subjects=sim.subjects, seed=sim.seed, nights=sim.nights, hours=sim.hours,
                 jobs=sim.jobs, progress=progress)
    if (source / COMPLETE).is_file():  # a cache prepared beforehand (`neurorep data prepare`) is used as it is
        cache = WindowCache(source)
    else:
        cache = prepare(source, cfg.cache, dataset=cfg.dataset, cfg=cfg.prepare, jobs=cfg.jobs,
                        on_error="skip", progress=progress).cache
    subjects = cache.meta["subject"].astype(np.int64)
    labelled = cache.meta["y"] >= 0
    if cfg.split.by == "window":
        if not cfg.split.folds:
            raise ConfigError("data.split.by=window needs data.split.folds (a k-fold over the labelled windows)")
        splits = window_kfold(cache.meta["y"].astype(np.int64), k=cfg.split.folds, val=cfg.split.val,
                              seed=cfg.split.seed)
    elif cfg.split.folds:
        splits = subject_kfold(subjects, k=cfg.split.folds, val=cfg.split.val, seed=cfg.split.seed)
    else:
        splits = [subject_split(subjects, val=cfg.split.val, test=cfg.split.test, seed=cfg.split.seed)]
    if not labelled.any():
        raise DataError(f"{cache.path}: no labelled windows; the study needs stage labels")
    return PreparedData(cache, splits)
