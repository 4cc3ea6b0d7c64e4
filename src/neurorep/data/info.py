"""Readable summaries of a recording, a folder of recordings, or a window cache."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from neurorep.data.cache import COMPLETE, find_caches
from neurorep.data.labels import CANONICAL_STAGE
from neurorep.data.readers import read_recording
from neurorep.data.readers.dreams import read_dreams_hypnogram
from neurorep.data.readers.edf import read_annotations_edf, read_edf_channels_info
from neurorep.data.recording import Annotations
from neurorep.data.sources import get_source
from neurorep.errors import DataError


def stage_epoch_counts(ann: Annotations, epoch_s: float = 30.0) -> dict[str, int]:
    """30-s epochs per stage description (``Sleep stage W`` -> count)."""
    seconds: Counter[str] = Counter()
    for d, desc in zip(ann.duration, ann.description, strict=True):
        if desc in CANONICAL_STAGE:
            seconds[desc] += float(d)
    return {k: int(round(v / epoch_s)) for k, v in sorted(seconds.items())}


def describe_path(path: str | Path) -> dict[str, Any]:
    """Summary dict for ``neurorep data info``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir() and ((path / COMPLETE).is_file() or any((p / COMPLETE).is_file() for p in path.iterdir())):
        caches = find_caches(path)
        if len(caches) == 1:
            return caches[0].summary()
        return {"caches": len(caches), "recordings_table": [c.summary() for c in caches]}
    if path.is_file():
        if path.name.endswith("-Hypnogram.edf"):
            ann = read_annotations_edf(path)
            return {"file": str(path), "kind": "hypnogram", "scored_s": ann.end, "epochs": stage_epoch_counts(ann)}
        if path.suffix.lower() == ".npy" and path.name.startswith("preprocessed_eeg_"):
            from neurorep.data.readers.things_eeg2 import read_things_eeg2_file

            ep = read_things_eeg2_file(path)
            n_cond, n_rep, n_ch, n_t = ep.data.shape
            return {"file": str(path), "kind": "Things-EEG-2 preprocessed EEG", "conditions": n_cond,
                    "repetitions": n_rep, "channels": ", ".join(ep.ch_names), "time_points": n_t,
                    "sfreq": round(ep.sfreq, 3), "window_s": f"{ep.times[0]:.3f} to {ep.times[-1]:.3f}"}
        if path.suffix.lower() == ".txt" and path.name.startswith("Hypnogram_"):
            ann = read_dreams_hypnogram(path)
            return {"file": str(path), "kind": "hypnogram", "scored_s": ann.end, "epochs": stage_epoch_counts(ann)}
        return read_recording(path).summary()
    source, items = get_source("auto", path)
    rows, totals = [], Counter[str]()
    total_s = 0.0
    for it in items:
        chans = read_edf_channels_info(it.path)
        duration = max(n / sf for _, sf, n in chans) if chans else 0.0
        total_s += duration
        row: dict[str, Any] = {"recording": it.path.name, "subject": it.subject, "session": it.session,
                               "channels": len(chans), "rates_hz": "/".join(sorted({f"{sf:g}" for _, sf, _ in chans})),
                               "hours": round(duration / 3600, 2)}
        if it.labels is not None:
            assert source.read_labels is not None
            ann = source.read_labels(it.labels)
            counts = stage_epoch_counts(ann)
            totals.update(counts)
            row["scored_epochs"] = sum(v for k, v in counts.items() if CANONICAL_STAGE.get(k))
        rows.append(row)
    first = read_edf_channels_info(items[0].path)
    return {"folder": str(path), "dataset": source.name, "recordings": len(items),
            "subjects": len({i.subject for i in items}), "hours": round(total_s / 3600, 2),
            "channels": [f"{n} ({sf:g} Hz)" for n, sf, _ in first], "label_epochs": dict(totals),
            "recordings_table": rows}

