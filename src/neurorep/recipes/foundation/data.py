"""HMS data for the foundation recipe: the ``hms`` source through the one cache path, labelled segments, crops.

:func:`prepare_hms` simulates the corpus when asked and missing, then prepares (or reuses) the
:class:`~neurorep.data.cache.WindowCache` of the ``hms`` source (:mod:`neurorep.data.sources_hms`):
one window per label row (the ``segment_s`` segment from its offset), the vote counts as the
per-window array ``votes`` and each whole preprocessed EEG as the per-recording array ``signal``.

A labelled sample is a segment (its central ``crop_s`` when set): ``{"x": [C, T], "y": consensus
class, "y_soft": vote shares [6], "subject": patient code, "index": row}``. Pretraining draws random
crops of the same length from the training patients' whole recordings (unlabelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from neurorep.data.cache import WindowCache, prepare
from neurorep.data.prepared import simulate_missing
from neurorep.data.sources import prepare_config
from neurorep.data.splits import Split, SplitTable, make_splits
from neurorep.errors import DataError
from neurorep.recipes.foundation.config import HMSDataConfig

_PREP_KEYS = ("sfreq", "l_freq", "h_freq", "montage", "include_ekg", "scale_uv", "clip", "max_rows_per_eeg")


@dataclass
class HMSCorpus:
    """A prepared HMS cache: one row per label (its window), whole recordings memory-mapped."""

    cache: WindowCache

    def __post_init__(self) -> None:
        m, info = self.cache.meta, self.cache.info
        rec = m["recording"].astype(np.int64)
        eeg_ids = {r.id: r.eeg_id for r in info.recordings}
        votes = np.zeros((len(rec), len(info.classes)), np.float32)
        for r in np.unique(rec):
            sel = np.flatnonzero(rec == r)
            votes[sel] = self.cache.array("votes", int(r))[m["local"][sel]]
        self.rows: dict[str, np.ndarray] = {
            "recording": rec, "local": m["local"].astype(np.int64),
            "eeg_id": np.array([eeg_ids[int(r)] for r in rec], np.int64),
            "offset": np.round(m["onset"] * info.sfreq).astype(np.int64),
            "subject": m["subject"].astype(np.int64), "y": m["y"].astype(np.int64), "votes": votes}

    @property
    def path(self) -> Path:
        return self.cache.path

    @property
    def info(self) -> Any:
        return self.cache.info

    @property
    def classes(self) -> list[str]:
        return self.cache.classes

    @property
    def sfreq(self) -> float:
        return self.cache.info.sfreq

    @property
    def n_channels(self) -> int:
        return self.cache.info.n_channels

    def recording(self, i: int) -> np.ndarray:
        """Memory-mapped whole preprocessed ``[C, T_i]`` of recording ``i``."""
        return self.cache.array("signal", i)

    def segment(self, row: int) -> np.ndarray:
        """Memory-mapped ``[C, segment]`` window of label row ``row`` (zero-padded past the EEG's end)."""
        return self.cache.windows(int(self.rows["recording"][row]))[int(self.rows["local"][row])]

    def __len__(self) -> int:
        return len(self.rows["y"])


def prepare_hms(cfg: HMSDataConfig, progress: bool = True) -> HMSCorpus:
    """Simulate (when asked and missing), then build or reuse the cache of ``cfg.source``."""
    source = Path(cfg.source)
    s = cfg.simulate
    simulate_missing(source, "hms", None if s is None else {
        "n_subjects": s.subjects, "seed": s.seed, "jobs": s.jobs, "eegs_per_patient": s.eegs_per_patient,
        "duration_s": s.duration_s, "labels_per_eeg": s.labels_per_eeg, "nan_fraction": s.nan_fraction},
        what="HMS folder", progress=progress)
    prep = prepare_config("hms", source, {"window_s": cfg.segment_s, **{k: getattr(cfg, k) for k in _PREP_KEYS}},
                          source="data")
    report = prepare(source, cfg.cache, dataset="hms", cfg=prep, on_error=cfg.on_error, progress=progress)
    report.print_skipped()
    return HMSCorpus(report.cache)


def segment_bounds(cfg: HMSDataConfig, sfreq: float) -> tuple[int, int]:
    """``(start within the segment, length)`` in samples of the model input (central crop)."""
    seg = round(cfg.segment_s * sfreq)
    if cfg.crop_s is None:
        return 0, seg
    crop = round(cfg.crop_s * sfreq)
    if crop > seg:
        raise DataError(f"data.crop_s={cfg.crop_s} is longer than data.segment_s={cfg.segment_s}")
    return (seg - crop) // 2, crop


class HMSSegments(Dataset[dict[str, torch.Tensor]]):
    """Labelled segments of ``rows`` (indices into the corpus rows); see the module docstring."""

    def __init__(self, corpus: HMSCorpus, rows: np.ndarray, start: int, length: int) -> None:
        self.corpus, self.rows = corpus, np.asarray(rows, dtype=np.int64)
        self.start, self.length = start, length
        votes = corpus.rows["votes"]
        self.y_soft = votes / votes.sum(axis=1, keepdims=True)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = int(self.rows[i])
        r = self.corpus.rows
        x = np.array(self.corpus.segment(j)[:, self.start:self.start + self.length], dtype=np.float32)
        return {"x": torch.from_numpy(x), "y": torch.tensor(int(r["y"][j])), "y_soft": torch.from_numpy(self.y_soft[j]),
                "subject": torch.tensor(int(r["subject"][j])), "index": torch.tensor(j)}

    @property
    def y_soft_rows(self) -> np.ndarray:
        return self.y_soft[self.rows]


class RandomCrops(Dataset[dict[str, torch.Tensor]]):
    """``n`` random crops of ``length`` samples from ``recordings`` (unlabelled, for pretraining).

    With ``fixed_seed`` the crops are the same every epoch (validation); otherwise they are drawn
    from the global torch generator (seeded by ``seed_everything``).
    """

    def __init__(self, corpus: HMSCorpus, recordings: np.ndarray, n: int, length: int,
                 fixed_seed: int | None = None) -> None:
        self.corpus, self.recordings, self.n, self.length = corpus, np.asarray(recordings, np.int64), n, length
        self.lengths = np.array([corpus.recording(int(r)).shape[1] for r in self.recordings])
        if len(self.recordings) == 0 or (self.lengths < length).all():
            raise DataError(f"no recording is long enough for crops of {length} samples")
        self.fixed = None
        if fixed_seed is not None:
            rng = np.random.default_rng(fixed_seed)
            self.fixed = [self._draw(rng.random(2)) for _ in range(n)]

    def _draw(self, u: np.ndarray) -> tuple[int, int]:
        ok = np.flatnonzero(self.lengths >= self.length)
        k = int(ok[min(int(u[0] * len(ok)), len(ok) - 1)])
        return int(self.recordings[k]), int(u[1] * (self.lengths[k] - self.length + 1))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rec, start = self.fixed[i] if self.fixed is not None else self._draw(torch.rand(2).numpy())
        x = np.array(self.corpus.recording(rec)[:, start:start + self.length], dtype=np.float32)
        return {"x": torch.from_numpy(x)}


def patient_split(corpus: HMSCorpus, cfg: HMSDataConfig, seed: int) -> tuple[Split, np.ndarray]:
    """Rows split by patient (no patient on two sides; :func:`~neurorep.data.splits.make_splits`), then
    ``label_fraction`` of training patients kept.

    Returns the split and the recordings of every training patient (for unlabelled pretraining,
    including patients whose labels are left out by ``label_fraction``).
    """
    subjects = corpus.rows["subject"].astype(np.int64)
    table = SplitTable.of_subjects(subjects, corpus.rows["recording"].astype(np.int64))
    split = make_splits(table, by=cfg.split.by, val=cfg.split.val, test=cfg.split.test, split_file=cfg.split.file,
                        seed=seed)[0]
    train_recordings = np.unique(corpus.rows["recording"][split.train])
    if cfg.label_fraction < 1:
        train_pat = np.unique(subjects[split.train])
        keep_n = max(1, round(cfg.label_fraction * len(train_pat)))
        keep = np.random.default_rng(seed + 1).choice(train_pat, keep_n, replace=False)
        split = Split(train=split.train[np.isin(subjects[split.train], keep)], val=split.val, test=split.test)
    split.check(subjects)
    return split, train_recordings
