"""MEG windows for the meg-ablation recipe: an HCP-style setting folder through the one cache path, and its split.

The setting folder (``Intra/`` or ``Cross/``) is the ``hcp-meg`` data source
(:mod:`neurorep.data.sources_meg`), prepared by :func:`neurorep.data.cache.prepare` into a
:class:`~neurorep.data.cache.WindowCache` like every other dataset: windows memory-mapped per
recording, one recording in memory at a time while preparing, so memory does not grow with the length
or number of recordings. Each recording's entry names its folder (``part``) and task, which the split
follows.
"""

from __future__ import annotations

from pathlib import Path

from neurorep.data.cache import WindowCache, prepare
from neurorep.data.readers.meg_h5 import MEG_CLASSES
from neurorep.data.prepared import simulate_missing
from neurorep.data.sources import prepare_config
from neurorep.data.splits import Split, make_splits
from neurorep.errors import DataError
from neurorep.recipes.meg_ablation.config import SETTING_FOLDER, MegDataConfig, MegPrepareConfig


def prepare_meg(root: str | Path, cache_root: str | Path, cfg: MegPrepareConfig, jobs: int = 1,
                progress: bool = True) -> WindowCache:
    """Prepare (or reuse) the window cache of one setting folder (``.../Intra`` or ``.../Cross``)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: MEG setting folder not found (expected Intra/ or Cross/ with train/ and test*/)")
    prep = prepare_config("hcp-meg", root, cfg.model_dump(), source="data.prepare")
    return prepare(root, cache_root, dataset="hcp-meg", cfg=prep, jobs=jobs, progress=progress).cache


def split_windows(cache: WindowCache, val_fraction: float, seed: int, cross: bool) -> Split:
    """The setting's split (:func:`~neurorep.data.splits.make_splits` by recording): the ``train`` folder's
    recordings train, every ``test*`` folder tests (``test_parts`` per folder), and ``val_fraction`` of the
    training recordings of each class (seeded) are held out for validation. In the Cross setting no test
    subject may be among the training subjects (:class:`~neurorep.errors.LeakageError` otherwise)."""
    recs = cache.info.recordings
    return make_splits(cache, by="recording", val=val_fraction, seed=seed, parts={r.id: r.part for r in recs},
                       stratify={r.id: MEG_CLASSES.index(r.task) for r in recs},
                       keep_apart=("subject",) if cross else ())[0]


def setup_meg(cfg: MegDataConfig, setting: str, progress: bool = True) -> WindowCache:
    """Simulate the corpus if asked and missing, then prepare (or reuse) the setting's cache."""
    source = Path(cfg.source)
    s = cfg.simulate
    simulate_missing(source, "meg", None if s is None else {
        "n_subjects": s.subjects, "seed": s.seed, "jobs": s.jobs, "seconds": s.seconds, "sfreq": cfg.prepare.sfreq_in,
        "test_subjects": s.test_subjects, "intra_train": s.intra_train, "intra_test": s.intra_test,
        "cross_train": s.cross_train, "cross_test": s.cross_test, **s.difficulty}, what="MEG folder", progress=progress)
    return prepare_meg(source / SETTING_FOLDER[setting], cfg.cache, cfg.prepare, jobs=cfg.jobs, progress=progress)
