"""Convert Things-EEG-2 once into neurorep's plain window cache (no pickles after this step).

The cache has the layout of :class:`neurorep.data.cache.WindowCache`, so the core
:class:`~neurorep.data.dataset.WindowDataset` reads it memory-mapped:

    <cache>/<key>/x/00000.npy       subject 1 training conditions, repetitions averaged: (n_train, C, T)
    <cache>/<key>/x/00001.npy       subject 1 test conditions, repetitions averaged:     (n_test, C, T)
    <cache>/<key>/reps/00001.npy    subject 1 test conditions, every repetition:          (n_test, R, C, T)
    <cache>/<key>/meta.parquet      one row per condition: recording, subject, y (= image condition),
                                    split (0 train, 1 test), onset, local
    <cache>/<key>/info.json         channels, times, sampling rate, subjects, recordings
    <cache>/<key>/images.json       concept and file name of every image condition
    <cache>/<key>/COMPLETE

The key hashes the source files' paths, sizes and modification times, so a changed file makes a
new cache and an unchanged corpus is converted only once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from neurorep.data.cache import COMPLETE, WindowCache
from neurorep.data.manifest import content_key, write_manifest
from neurorep.data.readers.things_eeg2 import (
    SPLIT_FILES,
    find_image_metadata,
    find_subjects,
    read_image_metadata,
    read_things_eeg2_file,
)
from neurorep.errors import DataError
from neurorep.fileio import building_dir, ensure_writable_dir, json_text
from neurorep.progress import progress_bar

__all__ = ["THINGS_CACHE_VERSION", "convert_things_eeg2", "single_repetitions"]

THINGS_CACHE_VERSION = 2
SPLIT_CODE = {"train": 0, "test": 1}


def _key(root: Path, subjects: dict[int, Path], meta: Path) -> str:
    files = [meta] + [folder / SPLIT_FILES[s] for folder in subjects.values() for s in ("train", "test")]
    return content_key(f"things-eeg2|v{THINGS_CACHE_VERSION}", [("", p) for p in files])


def convert_things_eeg2(root: str | Path, cache_root: str | Path, progress: bool = True) -> WindowCache:
    """Convert (or reuse) the cache of every subject under ``root``; returns the cache.

    Every subject needs both files; all subjects must share channels and times; the numbers of
    training and test conditions must match ``image_metadata.npy``.
    """
    root = Path(root)
    subjects = find_subjects(root)
    meta_path = find_image_metadata(root)
    images = read_image_metadata(meta_path)
    for n, folder in subjects.items():
        if not (folder / SPLIT_FILES["test"]).is_file():
            raise DataError(f"{folder}: {SPLIT_FILES['test']} missing for subject {n}")
    key = _key(root, subjects, meta_path)
    croot = Path(cache_root)
    final = croot / key
    if (final / COMPLETE).is_file():
        return WindowCache(final)
    ensure_writable_dir(croot, "cache folder")
    with building_dir(final, COMPLETE) as tmp:
        (tmp / "x").mkdir()
        (tmp / "reps").mkdir()
        _write(tmp, subjects, images.to_dict(), progress)
    return WindowCache(final)


def _write(tmp: Path, subjects: dict[int, Path], images: dict[str, list[str]], progress: bool) -> None:
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("recording", "subject", "y", "split", "onset", "local")}
    recordings = []
    ref: tuple[list[str], np.ndarray] | None = None
    rec = 0
    with progress_bar("converting Things-EEG-2", total=2 * len(subjects), enabled=progress) as advance:
        for code, (number, folder) in enumerate(subjects.items()):
            for split in ("train", "test"):
                ep = read_things_eeg2_file(folder / SPLIT_FILES[split])
                if ref is None:
                    ref = (ep.ch_names, ep.times)
                elif ep.ch_names != ref[0] or not np.allclose(ep.times, ref[1]):
                    raise DataError(f"{ep.path}: channels or times differ from the first subject's")
                n_img = len(images[f"{split}_img_files"])
                if ep.data.shape[0] != n_img:
                    raise DataError(f"{ep.path}: {ep.data.shape[0]} {split} conditions, but image_metadata lists "
                                    f"{n_img} {split} images")
                n, reps = ep.data.shape[0], ep.data.shape[1]
                np.save(tmp / "x" / f"{rec:05d}.npy", ep.data.mean(axis=1, dtype=np.float64).astype(np.float32))
                if split == "test":
                    np.save(tmp / "reps" / f"{rec:05d}.npy", ep.data)
                for k, v in (("recording", np.full(n, rec, np.int32)), ("subject", np.full(n, code, np.int32)),
                             ("y", np.arange(n, dtype=np.int64)), ("split", np.full(n, SPLIT_CODE[split], np.int8)),
                             ("onset", np.zeros(n)), ("local", np.arange(n, dtype=np.int32))):
                    cols[k].append(v)
                recordings.append({"id": rec, "source": str(ep.path), "subject": f"sub-{number:02d}",
                                   "subject_number": number, "split": split, "n_windows": n, "n_repetitions": reps,
                                   "label_counts": {}, "dropped": {}})
                rec += 1
                del ep
                advance()
    assert ref is not None
    pq.write_table(pa.table({k: np.concatenate(v) for k, v in cols.items()}), tmp / "meta.parquet")
    times = ref[1]
    info = {"version": THINGS_CACHE_VERSION, "key": tmp.name, "dataset": "things-eeg2", "config": {},
            "ch_names": ref[0], "times": times.tolist(),
            "sfreq": float(round(1.0 / float(np.median(np.diff(times))), 6)) if len(times) > 1 else None,
            "n_times": len(times), "classes": [], "subjects": [f"sub-{n:02d}" for n in subjects],
            "subject_numbers": list(subjects), "recordings": recordings,
            "n_windows": int(sum(r["n_windows"] for r in recordings)), "label_counts": {}}
    (tmp / "info.json").write_text(json_text(info, indent=1))
    (tmp / "images.json").write_text(json.dumps(images))
    write_manifest(tmp)


def single_repetitions(cache: WindowCache, recording: int) -> np.ndarray:
    """Memory-mapped ``(n_test, R, C, T)`` single repetitions of a test recording."""
    path = cache.path / "reps" / f"{recording:05d}.npy"
    if not path.is_file():
        raise DataError(f"{path}: no single-repetition array for recording {recording} (only test recordings have one)")
    return np.load(path, mmap_mode="r", allow_pickle=False)


