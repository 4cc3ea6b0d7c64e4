"""Readable summaries of a recording, a folder of recordings, or a window cache.

Label counts are the windows ``neurorep data prepare`` makes with its default settings for that
layout (:func:`window_counts` runs the same labelling and selection), so ``data info`` and
``prepare`` agree; the native scoring epochs are shown beside them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.cache import COMPLETE, find_caches
from neurorep.data.labels import get_scheme
from neurorep.data.readers import read_recording
from neurorep.data.readers.dreams import DREAMS_EPOCH_S, read_dreams_hypnogram
from neurorep.data.readers.edf import describe_edf, read_annotations_edf
from neurorep.data.recording import Annotations
from neurorep.data.sources import DATASETS, get_source, subject_session
from neurorep.data.windows import PrepareConfig, select_windows, window_labels
from neurorep.errors import DataError

SLEEP_LABELS = ("Sleep stage", "Movement time")


def window_counts(ann: Annotations, duration: float, cfg: PrepareConfig, src: str) -> dict[str, int]:
    """Windows per class that ``prepare`` keeps from ``ann`` on a recording of ``duration`` s."""
    n = int(np.floor(duration / cfg.window_s + 1e-9))
    if n <= 0:
        return {}
    y, _ = window_labels(ann, duration, cfg, n, src)
    kept = y[select_windows(y, cfg)]
    classes = get_scheme(cfg.scheme).classes
    counts = Counter(classes[c] if c >= 0 else "unlabelled" for c in kept.tolist())
    return {c: counts[c] for c in [*classes, "unlabelled"] if counts[c]}


def epoch_step(ann: Annotations) -> float:
    """The scoring's epoch length (s): the largest step that divides every stage duration and onset
    (runs of equal stages may be merged into one annotation), to the millisecond."""
    stages = [i for i, d in enumerate(ann.description) if d.startswith(SLEEP_LABELS)]
    ms = np.rint(np.concatenate([ann.duration[stages], ann.onset[stages]]) * 1000).astype(np.int64)
    ms = ms[ms > 0]
    return float(np.gcd.reduce(ms)) / 1000 if len(ms) else 0.0


def scoring_epochs(ann: Annotations, step: float) -> dict[str, int]:
    """Scored epochs of ``step`` seconds per stage description."""
    step = step or 1.0
    out: Counter[str] = Counter()
    for d, desc in zip(ann.duration, ann.description, strict=True):
        if desc.startswith(SLEEP_LABELS):
            out[desc] += int(round(d / step))
    return dict(sorted(out.items()))


def _has_stages(ann: Annotations) -> bool:
    return any(d.startswith(SLEEP_LABELS) for d in ann.description)


def _hypnogram(path: Path, ann: Annotations, dataset: str, epoch_s: float | None = None) -> dict[str, Any]:
    cfg = PrepareConfig(**DATASETS.create(dataset).prepare_defaults)
    step = epoch_s or epoch_step(ann)
    return {"file": str(path), "kind": "hypnogram", "scored_s": ann.end, "scoring_epoch_s": step,
            "scoring_epochs": scoring_epochs(ann, step),
            f"windows ({cfg.window_s:g} s, as prepare makes them)": window_counts(ann, ann.end, cfg, str(path))}


def describe_path(path: str | Path) -> dict[str, Any]:
    """Summary dict for ``neurorep data info``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir() and ((path / COMPLETE).is_file() or any((p / COMPLETE).is_file() for p in path.iterdir())):
        caches = find_caches(path)
        if len(caches) == 1:
            return cache_summary(caches[0])
        return {"caches": len(caches), "recordings_table": [c.summary() for c in caches]}
    if path.is_file():
        return _describe_file(path)
    return _describe_folder(path)


def cache_summary(cache: Any) -> dict[str, Any]:
    """A cache's summary with what scripts read from ``data info --json``: ``n_windows``, ``subjects``
    and ``sessions`` (lists), ``classes`` (name -> windows, every class listed), ``ch_names``,
    ``sfreq``, ``n_times``."""
    info = cache.info
    counts = info["label_counts"]
    sessions = sorted({f"{r['subject']}/{r['session']}" for r in info["recordings"]})
    return {**cache.summary(), "n_windows": info["n_windows"], "subjects": list(info["subjects"]),
            "sessions": sessions, "classes": {c: int(counts.get(c, 0)) for c in info["classes"]},
            "unlabelled": int(counts.get("unlabelled", 0)), "ch_names": list(info["ch_names"]),
            "sfreq": info["sfreq"], "n_times": info["n_times"]}


def _describe_file(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix in (".edf", ".bdf"):
        out = describe_edf(path)
        if out["kind"] == "annotations only" and out.get("annotations"):
            ann = read_annotations_edf(path)
            if _has_stages(ann):
                return {**_hypnogram(path, ann, "sleep-edf"), "start": out["start"]}
        subject, session = subject_session(path)  # the ids the folder's layout gives this file
        return {"file": out.pop("file"), "subject": subject, "session": session, **out}
    if suffix == ".npy" and path.name.startswith("preprocessed_eeg_"):
        from neurorep.data.readers.things_eeg2 import read_things_eeg2_file

        ep = read_things_eeg2_file(path)
        n_cond, n_rep, n_ch, n_t = ep.data.shape
        return {"file": str(path), "kind": "Things-EEG-2 preprocessed EEG", "conditions": n_cond,
                "repetitions": n_rep, "channels": ", ".join(ep.ch_names), "time_points": n_t,
                "sfreq": round(ep.sfreq, 3), "window_s": f"{ep.times[0]:.3f} to {ep.times[-1]:.3f}"}
    if suffix == ".txt" and path.name.startswith("Hypnogram_"):
        return _hypnogram(path, read_dreams_hypnogram(path), "dreams", DREAMS_EPOCH_S)
    if suffix in (".rr", ".an", ".hea"):
        return _describe_folder(path.with_suffix(".rr"))
    rec = read_recording(path)
    out = rec.summary()
    out["channels_table"] = rec.channel_table()
    if rec.notes:
        out["warnings"] = rec.notes
    return out


def _describe_folder(path: Path) -> dict[str, Any]:
    """A folder (or one slpdb record) of a known layout: one row per recording, totals."""
    source, items = get_source("auto", path)
    cfg = PrepareConfig(**source.prepare_defaults)
    rows, totals = [], Counter[str]()
    total_s = 0.0
    for it in items:
        chans = source.channels(it)
        ann, duration = source.labels(it)
        total_s += duration
        row: dict[str, Any] = {"recording": it.path.name, "subject": it.subject, "session": it.session,
                               "channels": len(chans), "rates_hz": "/".join(sorted({f"{sf:g}" for _, sf, _ in chans})),
                               "hours": round(duration / 3600, 2)}
        if ann is not None:
            counts = window_counts(ann, duration, cfg, str(it.labels))
            totals.update(counts)
            row["windows"] = sum(counts.values())
        rows.append(row)
    first = source.channels(items[0])
    return {"folder": str(path), "dataset": source.name, "recordings": len(items),
            "subjects": len({i.subject for i in items}), "hours": round(total_s / 3600, 2),
            "channels": [f"{n} ({sf:g} Hz)" for n, sf, _ in first],
            f"windows ({cfg.window_s:g} s, as prepare makes them)": dict(totals), "recordings_table": rows}
