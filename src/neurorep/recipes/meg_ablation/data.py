"""MEG windows: HCP-style folders -> a memory-mapped window cache (the core cache format) -> splits.

One cache per setting folder (``Intra/`` or ``Cross/``), laid out like
:class:`neurorep.data.cache.WindowCache` so that cache and :class:`~neurorep.data.dataset.WindowDataset`
are reused as they are::

    <cache>/<key>/info.json        settings, channels, rate, classes, subjects, parts, recordings
    <cache>/<key>/meta.parquet     one row per window: recording, subject, y, onset, local, part
    <cache>/<key>/x/00000.npy      windows of recording 0, float32 (n, 248, T), memory-mapped on read
    <cache>/<key>/COMPLETE         written last

It is built in a hidden ``.<key>.partial-<pid>`` folder and renamed into place when complete.
Preparing one recording: read the file, downsample (polyphase, anti-aliased), scale each channel
over the recording, cut windows of ``window_s`` every ``stride_s``. Only one recording is in
memory at a time, and training reads windows from the memory-mapped files, so memory does not
grow with the length or number of recordings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from neurorep.data.cache import COMPLETE, WindowCache
from neurorep.data.manifest import content_key, write_manifest
from neurorep.data.readers.meg_h5 import (
    MEG_CLASSES,
    MegFile,
    find_meg_files,
    read_meg_h5,
)
from neurorep.data.splits import check_disjoint_subjects
from neurorep.data.windows import resample, scale
from neurorep.data.setup import missing_source
from neurorep.errors import DataError
from neurorep.fileio import building_dir, ensure_writable_dir, json_text
from neurorep.processes import worker_pool
from neurorep.progress import progress_bar
from neurorep.recipes.meg_ablation.config import (
    SETTING_FOLDER,
    MegDataConfig,
    MegPrepareConfig,
)

CACHE_VERSION = 2


def setting_parts(root: Path) -> dict[str, list[MegFile]]:
    """``{"train": files, "test": files}`` (Intra) or ``{"train", "test1", "test2", ...}`` (Cross) of ``root``."""
    if not root.is_dir():
        raise DataError(f"{root}: MEG setting folder not found (expected Intra/ or Cross/ with train/ and test*/)")
    parts = {p.name: find_meg_files(p) for p in sorted(root.iterdir()) if p.is_dir() and
             (p.name == "train" or p.name.startswith("test"))}
    if "train" not in parts or not any(k.startswith("test") for k in parts):
        found = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "none"
        raise DataError(f"{root}: expected a train/ folder and test/ (or test1/, test2/ ...) folders; found {found}")
    return parts


def window_recording(f: MegFile, cfg: MegPrepareConfig) -> tuple[np.ndarray, float]:
    """Windows ``(n, 248, T)`` float32 of one file and the rate after downsampling."""
    rec = read_meg_h5(f.path, sfreq=cfg.sfreq_in)
    flat = np.where(np.ptp(rec.data, axis=1) == 0)[0]
    if len(flat):
        raise DataError(f"{f.path}: channel {rec.ch_names[int(flat[0])]} is flat (constant)")
    data, sfreq = resample(rec.data, rec.sfreq, cfg.sfreq)
    data = scale(data, cfg.scaling)
    win, step = int(round(cfg.window_s * sfreq)), max(1, int(round(cfg.stride_s * sfreq)))
    if data.shape[1] < win:
        raise DataError(f"{f.path}: recording ({rec.duration:.2f} s) is shorter than one window ({cfg.window_s} s)")
    starts = np.arange(0, data.shape[1] - win + 1, step)
    x = np.lib.stride_tricks.sliding_window_view(data, win, axis=1)[:, starts].transpose(1, 0, 2)
    return np.ascontiguousarray(x, dtype=np.float32), sfreq


def _prepare_one(f: MegFile, cfg: MegPrepareConfig, dest: Path) -> dict[str, Any]:
    x, sfreq = window_recording(f, cfg)
    np.save(dest, x)
    return {"n": len(x), "sfreq": sfreq, "n_times": int(x.shape[-1]), "n_channels": int(x.shape[1])}


def cache_key(root: Path, files: list[tuple[str, MegFile]], cfg: MegPrepareConfig) -> str:
    return content_key({"v": CACHE_VERSION, "cfg": cfg.model_dump()}, [(part, f.path) for part, f in files])


def prepare_meg(root: str | Path, cache_root: str | Path, cfg: MegPrepareConfig, jobs: int = 1,
                progress: bool = True) -> WindowCache:
    """Prepare (or reuse) the window cache of one setting folder (``.../Intra`` or ``.../Cross``)."""
    root = Path(root)
    parts = setting_parts(root)
    files = [(part, f) for part, fs in parts.items() for f in fs]
    key = cache_key(root, files, cfg)
    cache_root = Path(cache_root)
    final = cache_root / f"meg-{key}"
    if (final / COMPLETE).is_file():
        return WindowCache(final)
    ensure_writable_dir(cache_root, "cache folder")
    with building_dir(final, COMPLETE) as tmp:
        (tmp / "x").mkdir()
        dests = [tmp / "x" / f"{i:05d}.npy" for i in range(len(files))]
        with progress_bar(f"preparing {root.name} windows", total=len(files), enabled=progress) as advance:
            if jobs <= 1:
                results = []
                for (_, f), d in zip(files, dests, strict=True):
                    results.append(_prepare_one(f, cfg, d))
                    advance()
            else:
                with worker_pool(jobs) as pool:
                    futures = [pool.submit(_prepare_one, f, cfg, d) for (_, f), d in zip(files, dests, strict=True)]
                    results = []
                    for fut in futures:
                        results.append(fut.result())
                        advance()
        _write_tables(tmp, root, files, results, cfg, key)
    return WindowCache(final)


def _write_tables(tmp: Path, root: Path, files: list[tuple[str, MegFile]], results: list[dict[str, Any]],
                  cfg: MegPrepareConfig, key: str) -> None:
    first = results[0]
    for (_, f), r in zip(files, results, strict=True):
        if (r["n_channels"], r["n_times"]) != (first["n_channels"], first["n_times"]):
            raise DataError(f"{f.path}: {r['n_channels']} channels x {r['n_times']} samples per window; "
                            f"{files[0][1].path} has {first['n_channels']} x {first['n_times']}")
    subjects = sorted({f.subject for _, f in files})
    part_names = list(dict.fromkeys(p for p, _ in files))
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("recording", "subject", "y", "onset", "local", "part")}
    recordings = []
    for i, ((part, f), r) in enumerate(zip(files, results, strict=True)):
        n = r["n"]
        cols["recording"].append(np.full(n, i, np.int32))
        cols["subject"].append(np.full(n, subjects.index(f.subject), np.int32))
        cols["y"].append(np.full(n, f.y, np.int64))
        cols["onset"].append(np.arange(n) * cfg.stride_s)
        cols["local"].append(np.arange(n, dtype=np.int32))
        cols["part"].append(np.full(n, part_names.index(part), np.int32))
        recordings.append({"id": i, "source": str(f.path), "part": part, "subject": f.subject, "task": f.label,
                           "chunk": f.chunk, "n_windows": n})
    pq.write_table(pa.table({k: np.concatenate(v) for k, v in cols.items()}), tmp / "meta.parquet")
    ch_names = [f"A{i + 1}" for i in range(first["n_channels"])]
    info = {"version": CACHE_VERSION, "key": key, "dataset": f"hcp-meg/{root.name}", "config": cfg.model_dump(),
            "ch_names": ch_names, "sfreq": first["sfreq"], "n_times": first["n_times"], "classes": MEG_CLASSES,
            "subjects": subjects, "parts": part_names, "recordings": recordings,
            "n_windows": int(sum(r["n"] for r in results)),
            "label_counts": {c: int(sum(r["n"] for (_, f), r in zip(files, results, strict=True) if f.label == c))
                             for c in MEG_CLASSES}}
    (tmp / "info.json").write_text(json_text(info, indent=1))
    write_manifest(tmp)


@dataclass
class MegSplit:
    """Window indices: training, validation (held-out training recordings) and test, per test folder too."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_parts: dict[str, np.ndarray]


def split_windows(cache: WindowCache, val_fraction: float, seed: int, cross: bool) -> MegSplit:
    """Hold out ``val_fraction`` of the training recordings of each class (seeded) for validation.

    Test windows are every ``test*`` folder. In the Cross setting no test subject may be among the
    training subjects (:class:`~neurorep.errors.LeakageError` otherwise).
    """
    meta, parts = cache.meta, cache.info["parts"]
    train_code = parts.index("train")
    rng = np.random.default_rng(seed)
    val_recs: list[int] = []
    recs = [r for r in cache.info["recordings"] if r["part"] == "train"]
    for c in MEG_CLASSES:
        ids = sorted(r["id"] for r in recs if r["task"] == c)
        k = max(1, int(round(val_fraction * len(ids)))) if len(ids) > 1 and val_fraction > 0 else 0
        val_recs += rng.choice(ids, size=k, replace=False).tolist() if k else []
    in_train = meta["part"] == train_code
    is_val = np.isin(meta["recording"], val_recs)
    test_parts = {p: np.where(meta["part"] == i)[0] for i, p in enumerate(parts) if p.startswith("test")}
    split = MegSplit(np.where(in_train & ~is_val)[0], np.where(in_train & is_val)[0],
                     np.where(~in_train)[0], test_parts)
    if cross:
        subjects = meta["subject"].astype(np.int64)
        check_disjoint_subjects(subjects, {"train": np.concatenate([split.train, split.val]), "test": split.test})
    return split


def setup_meg(cfg: MegDataConfig, setting: str, progress: bool = True) -> WindowCache:
    """Simulate the corpus if asked and missing, then prepare (or reuse) the setting's cache."""
    source = Path(cfg.source)
    if not source.exists():
        if cfg.simulate is None:
            raise missing_source(source, "MEG folder")
        from neurorep.data.corpora import simulate

        s = cfg.simulate
        simulate("meg", source, n_subjects=s.subjects, seed=s.seed, jobs=s.jobs, seconds=s.seconds,
                 sfreq=cfg.prepare.sfreq_in, test_subjects=s.test_subjects, intra_train=s.intra_train,
                 intra_test=s.intra_test, cross_train=s.cross_train, cross_test=s.cross_test, progress=progress,
                 **s.difficulty)
    return prepare_meg(source / SETTING_FOLDER[setting], cfg.cache, cfg.prepare, jobs=cfg.jobs, progress=progress)
