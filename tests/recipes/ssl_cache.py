"""A small event-locked window cache written in the cache format, for the ssl recipe tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from neurorep.data.arrow import table_from_numpy
from neurorep.data.cache import CACHE_VERSION, COMPLETE
from neurorep.data.manifest import write_manifest
from neurorep.fileio import json_text


def write_cache(path: Path, x: list[np.ndarray], y: list[np.ndarray], subjects: list[str], classes: list[str],
                sfreq: float, ch_names: list[str]) -> Path:
    """One recording per entry of ``x`` (windows ``[n, C, T]``) with labels ``y`` and its subject."""
    (path / "x").mkdir(parents=True)
    cols: dict[str, list[np.ndarray]] = {"recording": [], "subject": [], "y": [], "onset": [], "local": []}
    codes = {s: i for i, s in enumerate(sorted(set(subjects)))}
    recordings, total = [], Counter()
    for i, (xi, yi, s) in enumerate(zip(x, y, subjects, strict=True)):
        np.save(path / "x" / f"{i:05d}.npy", xi.astype(np.float32))
        n = len(yi)
        cols["recording"].append(np.full(n, i, np.int32))
        cols["subject"].append(np.full(n, codes[s], np.int32))
        cols["y"].append(yi.astype(np.int64))
        cols["onset"].append(np.arange(n, dtype=np.float64) * 4.0)
        cols["local"].append(np.arange(n, dtype=np.int32))
        counts = Counter(classes[c] if c >= 0 else "unlabelled" for c in yi.tolist())
        total.update(counts)
        recordings.append({"id": i, "source": f"sub-{s}_run-{i}.fif", "labels": None, "subject": s, "session": None,
                           "n_windows": n, "label_counts": dict(counts), "dropped": {}})
    pq.write_table(table_from_numpy({k: np.concatenate(v) for k, v in cols.items()}), path / "meta.parquet")
    info = {"version": CACHE_VERSION, "key": path.name, "dataset": "events", "config": {"tmin": 0.0, "tmax": 2.0},
            "ch_names": ch_names, "sfreq": sfreq, "n_times": int(x[0].shape[-1]), "classes": classes,
            "subjects": sorted(set(subjects)), "recordings": recordings,
            "n_windows": int(sum(len(v) for v in y)), "label_counts": dict(total)}
    (path / "info.json").write_text(json_text(info, indent=1))
    write_manifest(path)
    (path / COMPLETE).write_text("")
    return path


def ssvep_cache(root: Path, n_subjects: int = 4, per_class: int = 8, n_channels: int = 4, sfreq: float = 128.0,
                seconds: float = 2.0, unlabelled: int = 4, seed: int = 0) -> Path:
    """SSVEP-like windows: class ``13Hz``/``17Hz``/``rest``, a stimulus sine (random phase) in noise,
    a gain per subject, and ``unlabelled`` windows (y = -1) per subject."""
    rng = np.random.default_rng(seed)
    classes = ["13Hz", "17Hz", "rest"]
    t = np.arange(int(seconds * sfreq)) / sfreq
    xs, ys, subs = [], [], []
    for s in range(n_subjects):
        gain = rng.uniform(0.5, 2.0)
        y = np.concatenate([np.repeat(np.arange(len(classes)), per_class), np.full(unlabelled, -1)])
        x = rng.standard_normal((len(y), n_channels, len(t)))
        for i, k in enumerate(y):
            if k in (0, 1):
                f = (13.0, 17.0)[k]
                x[i] += 0.8 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        xs.append(gain * x)
        ys.append(y)
        subs.append(f"{s + 1:02d}")
    return write_cache(root / "cache" / "abc123", xs, ys, subs, classes, sfreq,
                       [f"O{i}" for i in range(n_channels)])
