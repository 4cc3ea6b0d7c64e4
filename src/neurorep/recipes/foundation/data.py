"""HMS data for the foundation recipe: a cache of preprocessed recordings, labelled segments, random crops.

Cache layout (``<cache>/hms-<key>/``, ``key`` = hash of the settings and of every source file)::

    info.json        settings, channels, rate, classes, recordings, counts of NaNs filled
    rows.parquet     one row per label: recording, offset (samples), patient, votes, y
    x/00000.npy      one preprocessed recording, float32 [C, T_i] (memory-mapped on read)
    COMPLETE         written last

A labelled sample is the segment starting at ``eeg_label_offset_seconds`` (``segment_s`` long;
its central ``crop_s`` when set): ``{"x": [C, T], "y": consensus class, "y_soft": vote shares [6],
"subject": patient code, "index": row}``. Pretraining draws random crops of the same length from
the training patients' recordings (unlabelled).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from neurorep.data.manifest import check_manifest, content_key, write_manifest
from neurorep.data.montage import bipolar
from neurorep.data.readers.hms import (
    HMS_CLASSES,
    HMS_EEG_CHANNELS,
    VOTE_COLUMNS,
    read_hms_eeg,
    read_hms_labels,
)
from neurorep.data.splits import Split, subject_split
from neurorep.data.windows import bandpass, resample
from neurorep.data.setup import missing_source
from neurorep.errors import DataError
from neurorep.fileio import building_dir, ensure_writable_dir, json_text, read_json
from neurorep.progress import progress_bar
from neurorep.recipes.foundation.config import HMSDataConfig

CACHE_VERSION = 2
_PREP_KEYS = ("sfreq", "l_freq", "h_freq", "montage", "include_ekg", "scale_uv", "clip", "max_rows_per_eeg")


@dataclass
class HMSCorpus:
    """A prepared HMS cache: label rows in memory, recordings memory-mapped."""

    path: Path
    info: dict[str, Any]
    rows: dict[str, np.ndarray]

    @property
    def classes(self) -> list[str]:
        return list(self.info["classes"])

    @property
    def sfreq(self) -> float:
        return float(self.info["sfreq"])

    @property
    def n_channels(self) -> int:
        return len(self.info["ch_names"])

    def recording(self, i: int) -> np.ndarray:
        """Memory-mapped ``[C, T_i]`` of recording ``i``."""
        return np.load(self.path / "x" / f"{i:05d}.npy", mmap_mode="r", allow_pickle=False)

    def __len__(self) -> int:
        return len(self.rows["y"])


def _files_key(cfg: HMSDataConfig, labels: Path, eeg_files: list[Path]) -> str:
    settings = {"v": CACHE_VERSION, **{k: getattr(cfg, k) for k in _PREP_KEYS}}
    return content_key(settings, [("", p) for p in [labels, *eeg_files]])


def preprocess(data_uv_volts: np.ndarray, ch_names: list[str], sfreq: float, cfg: HMSDataConfig,
               source: str = "") -> tuple[np.ndarray, list[str], float]:
    """Montage, band-pass, resample and scale ``[C, T]`` (volts) -> float32 ``[C', T']`` in units of
    ``scale_uv`` µV clipped to ``+-clip``; returns (data, channel names, new rate)."""
    data, names = np.asarray(data_uv_volts, dtype=np.float32) * 1e6, list(ch_names)
    if cfg.montage == "double_banana":
        eeg, eeg_names = bipolar(data[: len(HMS_EEG_CHANNELS)], names[: len(HMS_EEG_CHANNELS)], source=source)
        extra = data[len(HMS_EEG_CHANNELS):]
        data, names = np.vstack([eeg, extra]), eeg_names + names[len(HMS_EEG_CHANNELS):]
    data = bandpass(data, sfreq, cfg.l_freq, cfg.h_freq)
    data, rate = resample(data, sfreq, cfg.sfreq)
    data = np.clip(data / cfg.scale_uv, -cfg.clip, cfg.clip).astype(np.float32)
    return data, names, rate


def prepare_hms(cfg: HMSDataConfig, progress: bool = True) -> HMSCorpus:
    """Simulate (when asked and missing), then build or reuse the cache of ``cfg.source``."""
    source = Path(cfg.source)
    if not source.exists():
        if cfg.simulate is None:
            raise missing_source(source, "HMS folder")
        from neurorep.data.simulate.hms import simulate_hms

        s = cfg.simulate
        simulate_hms(source, n_subjects=s.subjects, seed=s.seed, jobs=s.jobs, eegs_per_patient=s.eegs_per_patient,
                     duration_s=s.duration_s, labels_per_eeg=s.labels_per_eeg, nan_fraction=s.nan_fraction,
                     progress=progress)
    labels_path = source / "train.csv"
    df = read_hms_labels(labels_path)
    if cfg.max_rows_per_eeg is not None:
        df = df.groupby("eeg_id", sort=False).head(cfg.max_rows_per_eeg)
    eeg_ids = list(dict.fromkeys(int(e) for e in df["eeg_id"]))
    files = [source / "train_eegs" / f"{e}.parquet" for e in eeg_ids]
    absent = [f for f in files if not f.is_file()]
    if absent:
        raise DataError(f"{absent[0]}: EEG file listed in {labels_path} not found ({len(absent)} missing)")
    key = _files_key(cfg, labels_path, files)
    root = ensure_writable_dir(cfg.cache, "cache folder")
    final = root / f"hms-{key}"
    if not (final / "COMPLETE").is_file():
        _build(cfg, df, eeg_ids, files, final, key, progress)
    check_manifest(final)
    info = read_json(final / "info.json", "cache metadata")
    import pyarrow.parquet as pq

    table = pq.read_table(final / "rows.parquet")
    return HMSCorpus(final, info, {c: table.column(c).to_numpy() for c in table.column_names})


def _build(cfg: HMSDataConfig, df: Any, eeg_ids: list[int], files: list[Path], final: Path, key: str,
           progress: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    channels = HMS_EEG_CHANNELS + (["EKG"] if cfg.include_ekg else [])
    recs, nan_filled, names, rate = [], 0, channels, cfg.sfreq
    skipped: list[tuple[str, str]] = []
    with building_dir(final) as tmp:
        (tmp / "x").mkdir()
        with progress_bar("preprocessing HMS EEGs", total=len(files), enabled=progress) as advance:
            for i, path in enumerate(files):
                try:
                    rec = read_hms_eeg(path, channels=channels)
                    data, names, rate = preprocess(rec.data, rec.ch_names, rec.sfreq, cfg, source=str(path))
                except DataError as exc:
                    if cfg.on_error == "raise":
                        raise
                    skipped.append((str(path), str(exc)))
                    advance()
                    continue
                nan_filled += int(rec.extra["nan_filled"][0][0])
                np.save(tmp / "x" / f"{len(recs):05d}.npy", data, allow_pickle=False)
                recs.append({"id": len(recs), "eeg_id": eeg_ids[i], "source": str(path),
                             "n_times": int(data.shape[1])})
                advance()
        if not recs:
            raise DataError(f"{files[0].parent}: every HMS EEG failed; first error: {skipped[0][1]}")
        for path, reason in skipped:
            print(f"skipped {path}: {reason}", file=sys.stderr)
        if skipped:
            print(f"{len(skipped)} recording(s) skipped", file=sys.stderr)
        index = {r["eeg_id"]: r["id"] for r in recs}
        df = df[df["eeg_id"].isin(list(index))]
        _check_offsets(df, recs, index, cfg.segment_s, rate)
        patients = sorted({str(p) for p in df["patient_id"]})
        code = {p: k for k, p in enumerate(patients)}
        votes = df[VOTE_COLUMNS].to_numpy(dtype=np.float64)
        table = pa.table({
            "recording": np.array([index[int(e)] for e in df["eeg_id"]], np.int64),
            "eeg_id": df["eeg_id"].to_numpy(np.int64),
            "offset": np.round(df["eeg_label_offset_seconds"].to_numpy(np.float64) * rate).astype(np.int64),
            "subject": np.array([code[str(p)] for p in df["patient_id"]], np.int64),
            "y": df["y"].to_numpy(np.int64),
            "votes": pa.array(list(votes.astype(np.float32)), type=pa.list_(pa.float32(), len(VOTE_COLUMNS))),
        })
        pq.write_table(table, tmp / "rows.parquet")
        info = {"version": CACHE_VERSION, "key": key, "classes": HMS_CLASSES, "ch_names": names, "sfreq": rate,
                "settings": {k: getattr(cfg, k) for k in _PREP_KEYS}, "recordings": recs, "patients": patients,
                "n_rows": len(df), "nan_filled": nan_filled, "skipped": [list(x) for x in skipped]}
        (tmp / "info.json").write_text(json_text(info, indent=1))
        write_manifest(tmp)


def _check_offsets(df: Any, recs: list[dict[str, Any]], index: dict[int, int], segment_s: float, rate: float) -> None:
    """Refuse a label whose segment runs past the end of its EEG (more than one second would be padding)."""
    offsets = df["eeg_label_offset_seconds"].to_numpy(np.float64)
    ends = offsets + segment_s
    lengths = np.array([recs[index[int(e)]]["n_times"] / rate for e in df["eeg_id"]], np.float64)
    bad = np.flatnonzero(ends > lengths + 1.0)
    if len(bad):
        j = int(bad[0])
        rec = recs[index[int(df["eeg_id"].iloc[j])]]
        raise DataError(f"{rec['source']}: label offset {offsets[j]:g} s (eeg_id {int(df['eeg_id'].iloc[j])}) puts its "
                        f"{segment_s:g} s segment past the end of the EEG ({lengths[j]:g} s); "
                        f"{len(bad)} label(s) affected")


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
        votes = np.stack(corpus.rows["votes"]).astype(np.float32)
        self.y_soft = votes / votes.sum(axis=1, keepdims=True)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = int(self.rows[i])
        r = self.corpus.rows
        rec = self.corpus.recording(int(r["recording"][j]))
        a = int(r["offset"][j]) + self.start
        x = np.array(rec[:, a:a + self.length], dtype=np.float32)
        if x.shape[1] < self.length:  # a label offset too close to the end: pad with zeros
            x = np.pad(x, ((0, 0), (0, self.length - x.shape[1])))
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
        lengths = {r["id"]: r["n_times"] for r in corpus.info["recordings"]}
        self.lengths = np.array([lengths[int(r)] for r in self.recordings])
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
    """Rows split by patient (no patient on two sides), then ``label_fraction`` of training patients kept.

    Returns the split and the recordings of every training patient (for unlabelled pretraining,
    including patients whose labels are left out by ``label_fraction``).
    """
    subjects = corpus.rows["subject"].astype(np.int64)
    split = subject_split(subjects, val=cfg.split.val, test=cfg.split.test, seed=seed)
    train_recordings = np.unique(corpus.rows["recording"][split.train])
    if cfg.label_fraction < 1:
        train_pat = np.unique(subjects[split.train])
        keep_n = max(1, round(cfg.label_fraction * len(train_pat)))
        keep = np.random.default_rng(seed + 1).choice(train_pat, keep_n, replace=False)
        split = Split(train=split.train[np.isin(subjects[split.train], keep)], val=split.val, test=split.test)
    split.check(subjects)
    return split, train_recordings
