"""Paired EEG/ECG windows of the same epochs, the split file, and the sequence dataset.

Two window caches are prepared from the same nights, one per input (EEG channels for the teacher,
ECG or instantaneous heart rate for the student), with identical labelling settings; their window
tables (recording, position, onset, label) must then be identical, which :func:`setup_kd_data`
checks. Windows are kept contiguous (unlabelled epochs stay, with ``y = -1``), so a run of
``seq_len`` consecutive windows of one recording is one U-Time input sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from neurorep.data.cache import WindowCache, prepare
from neurorep.data.splits import Split, make_splits, split_groups
from neurorep.data.prepared import simulate_missing
from neurorep.data.heart_rate import rolling_channels
from neurorep.errors import DataError
from neurorep.fileio import atomic_write_text, json_text
from neurorep.recipes.kd_sleep.config import ECG, EEG, KDDataConfig, ModalityConfig

TABLE_KEYS = ("recording", "local", "onset", "y")


@dataclass
class KDData:
    """Prepared caches by batch key (``eeg`` = teacher input, ``ecg`` = student input), classes and the split."""

    caches: dict[str, WindowCache]
    classes: list[str]
    split: Split
    split_subjects: dict[str, list[str]]

    @property
    def table(self) -> WindowCache:
        return self.caches[ECG]


def _prepare_one(cfg: KDDataConfig, mod: ModalityConfig, progress: bool) -> WindowCache:
    prep = mod.prepare.model_copy(update={"scheme": cfg.scheme, "keep_unlabelled": True})
    report = prepare(cfg.source, cfg.cache, dataset=mod.dataset, cfg=prep, jobs=cfg.jobs, on_error="skip",
                     progress=progress)
    report.print_skipped()
    if mod.derived:
        return DerivedChannels(report.cache, mod.derived, mod.derived_window_s)
    return report.cache


class DerivedChannels(WindowCache):
    """A window cache whose windows carry, after their own channels, slow summaries of them computed over
    each whole recording (:func:`neurorep.data.heart_rate.rolling_channels`, e.g. the rolling mean and SD
    of heart rate over 5 min). The recording's windows are contiguous (``keep_unlabelled``), so the
    summaries see across window edges; they are computed once per recording and kept in memory."""

    def __init__(self, base: WindowCache, kinds: list[str], window_s: float) -> None:  # noqa: D107
        self.__dict__.update(base.__dict__)
        self.base, self.kinds, self.window_s = base, list(kinds), float(window_s)
        names = [f"{ch}_{k}" for k in self.kinds for ch in base.info.ch_names]
        self.info = base.info.model_copy(update={"ch_names": [*base.info.ch_names, *names]})
        self._derived: dict[int, np.ndarray] = {}

    def windows(self, recording: int) -> np.ndarray:
        arr = self._derived.get(recording)
        if arr is None:
            w = np.asarray(self.base.windows(recording), dtype=np.float32)  # (n, C, T), in window order
            n, c, t = w.shape
            series = w.transpose(1, 0, 2).reshape(c, n * t)
            extra = rolling_channels(series, t / self.base.info.window_s, self.window_s, self.kinds)
            extra = extra.reshape(-1, n, t).transpose(1, 0, 2)
            arr = self._derived[recording] = np.concatenate([w, extra], axis=1)
        return arr


def simulate_if_missing(cfg: KDDataConfig, progress: bool = True) -> None:
    """Write the simulated corpus into ``cfg.source`` when it is missing and ``cfg.simulate`` is set
    (the one simulate-if-missing step, :func:`neurorep.data.prepared.simulate_missing`)."""
    sim = cfg.simulate
    hint = "slpdb: see docs/kd_sleep.md for the listings it reads" if cfg.ecg.dataset == "slpdb" else ""
    simulate_missing(cfg.source, sim.kind if sim else "", None if sim is None else {
        "n_subjects": sim.subjects, "seed": sim.seed, "hours": sim.hours, "jobs": sim.jobs}, hint=hint,
        progress=progress)


def prepare_caches(cfg: KDDataConfig, need_eeg: bool, progress: bool = True) -> dict[str, WindowCache]:
    """Simulate if needed, prepare (or reuse) the caches by batch key and check they pair up."""
    simulate_if_missing(cfg, progress)
    caches = {ECG: _prepare_one(cfg, cfg.ecg, progress)}
    if need_eeg:
        if cfg.eeg is None:
            raise DataError(f"{cfg.source}: this mode needs the EEG teacher input but data.eeg is null")
        caches[EEG] = _prepare_one(cfg, cfg.eeg, progress)
        check_paired(caches[EEG], caches[ECG])
    table = caches[ECG]
    if not (table.meta["y"] >= 0).any():
        raise DataError(f"{table.path}: no labelled windows")
    return caches


def unscaled_heart_rate(cfg: KDDataConfig, progress: bool = True) -> WindowCache:
    """The student input's cache at its source's own rate and without scaling (heart rate in bpm, 4 Hz for
    slpdb and mass-ihr) with no derived channel, e.g. for HRV features; its window table equals the student's."""
    prep = cfg.ecg.prepare.model_copy(update={"scaling": "none", "sfreq": None})
    mod = cfg.ecg.model_copy(update={"prepare": prep, "derived": []})  # the heart rate alone
    return _prepare_one(cfg, mod, progress)


def setup_kd_data(cfg: KDDataConfig, need_eeg: bool, progress: bool = True) -> KDData:
    """Simulate if needed, prepare (or reuse) the caches, check they pair up, and read or write the split."""
    caches = prepare_caches(cfg, need_eeg, progress)
    table = caches[ECG]
    split, names = load_or_make_split(table, cfg)
    return KDData(caches, table.classes, split, names)


def check_paired(a: WindowCache, b: WindowCache) -> None:
    """Refuse two caches whose window tables differ (other nights, failed recordings, other labels)."""
    if a.info.subjects != b.info.subjects:
        raise DataError(f"{a.path} and {b.path} hold different subjects; the EEG and ECG inputs must come "
                        "from the same nights")
    for key in TABLE_KEYS:
        if len(a.meta[key]) != len(b.meta[key]) or not np.array_equal(a.meta[key], b.meta[key]):
            raise DataError(f"{a.path} and {b.path}: window tables differ in {key!r} "
                            f"({len(a.meta[key])} vs {len(b.meta[key])} windows); were recordings skipped in one?")


def load_or_make_split(cache: WindowCache, cfg: KDDataConfig) -> tuple[Split, dict[str, list[str]]]:
    """Read ``cfg.split_file`` (subject ids per part) or make a seeded subject split and write it there."""
    path = Path(cfg.split_file) if cfg.split_file else None
    given = path if path is not None and path.is_file() else None
    split = make_splits(cache, val=cfg.split.val, test=cfg.split.test, split_file=given, seed=cfg.split.seed)[0]
    parts = split_groups(cache, split)
    if path is not None and given is None:
        atomic_write_text(path, json_text(parts, indent=1))
    return split, parts


class PairedSequences(Dataset[dict[str, torch.Tensor]]):
    """Runs of ``seq_len`` consecutive windows of one recording, from each cache in ``caches``.

    A sample holds, per cache key, ``[C, seq_len * T_key]`` (windows laid end to end), plus
    ``y [seq_len]`` (``-1`` where unlabelled or past the recording's end), ``index [seq_len]`` (cache
    rows, ``-1`` for padding), ``subject`` and ``recording``.
    """

    def __init__(self, caches: dict[str, WindowCache], rows: np.ndarray, seq_len: int, stride: int) -> None:
        self.caches, self.seq_len = caches, int(seq_len)
        first = next(iter(caches.values()))
        m = first.meta
        rows = np.asarray(rows, dtype=np.int64)
        self.rec, self.local = m["recording"].astype(np.int64), m["local"].astype(np.int64)
        self.y, self.subject = m["y"].astype(np.int64), m["subject"].astype(np.int64)
        self.starts: list[tuple[int, int, np.ndarray]] = []  # (recording, first local, cache rows of the recording)
        for r in np.unique(self.rec[rows]):
            rec_rows = np.sort(rows[self.rec[rows] == r])
            rec_rows = rec_rows[np.argsort(self.local[rec_rows])]
            n = len(rec_rows)
            for s in range(0, max(n - self.seq_len, 0) + 1, int(stride)):
                self.starts.append((int(r), s, rec_rows))
            last = max(n - self.seq_len, 0)
            if (last % int(stride)) and n > self.seq_len:
                self.starts.append((int(r), last, rec_rows))  # cover the tail of the night

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        r, s, rec_rows = self.starts[i]
        rows = rec_rows[s: s + self.seq_len]
        pad = self.seq_len - len(rows)
        sample: dict[str, torch.Tensor] = {}
        for key, cache in self.caches.items():
            w = np.asarray(cache.windows(r)[self.local[rows]], dtype=np.float32)  # [n, C, T]
            if pad:
                w = np.concatenate([w, np.zeros((pad, *w.shape[1:]), np.float32)])
            sample[key] = torch.from_numpy(np.ascontiguousarray(w.transpose(1, 0, 2).reshape(w.shape[1], -1)))
        y = np.concatenate([self.y[rows], np.full(pad, -1, np.int64)])
        index = np.concatenate([rows, np.full(pad, -1, np.int64)])
        sample.update({"y": torch.from_numpy(y), "index": torch.from_numpy(index),
                       "subject": torch.tensor(int(self.subject[rows[0]])), "recording": torch.tensor(r)})
        return sample

    def sequence_weights(self, class_weights: np.ndarray) -> np.ndarray:
        """Per sequence, the mean of ``class_weights[y]`` over its labelled epochs (0 for a sequence without
        any): sampling sequences in proportion to it draws rare classes about as often as common ones."""
        cw = np.asarray(class_weights, dtype=np.float64)
        out = np.zeros(len(self.starts))
        for i, (_, s, rec_rows) in enumerate(self.starts):
            y = self.y[rec_rows[s: s + self.seq_len]]
            y = y[y >= 0]
            if y.size:
                out[i] = cw[y].mean()
        return out

    def window_samples(self, key: str) -> int:
        """Samples per window of input ``key``."""
        return self.caches[key].info.n_times

    def n_channels(self, key: str) -> int:
        return self.caches[key].info.n_channels


class WithTeacherOutputs(Dataset[dict[str, torch.Tensor]]):
    """The samples of ``student`` plus a frozen teacher's outputs on the same sequences of ``teacher_input``.

    ``teacher_input`` must list the same sequences in the same order (same rows, stride and window
    table; only its input key differs). ``compute(x[B, C, T])`` returns a dict of ``[B, ...]`` tensors
    (e.g. :meth:`neurorep.objectives.distill.Distillation.teacher_outputs`); it runs once here, so
    training never runs the teacher again (the teacher is frozen and in eval mode, so its outputs on a
    fixed sequence do not change).
    """

    def __init__(self, student: PairedSequences, teacher_input: PairedSequences,
                 compute: Callable[[torch.Tensor], dict[str, torch.Tensor]], key: str = EEG, batch_size: int = 32) -> None:
        if [st[:2] for st in student.starts] != [st[:2] for st in teacher_input.starts]:
            raise DataError(f"teacher and student datasets list different sequences ({len(teacher_input)} vs "
                            f"{len(student)}); build both from the same rows and stride")
        self.base = student
        parts: list[dict[str, torch.Tensor]] = []
        for batch in DataLoader(teacher_input, batch_size=batch_size):
            parts.append({k: v.detach() for k, v in compute(batch[key]).items()})
        self.extra = {k: torch.cat([q[k] for q in parts]) for k in parts[0]} if parts else {}

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {**self.base[i], **{k: v[i] for k, v in self.extra.items()}}
