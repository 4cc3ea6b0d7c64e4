"""BIDS folders (through mne-bids): the recordings of a BIDS root, their entities and ``events.tsv``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from neurorep.data.readers.mne_formats import AUTO_FORMATS, find_recordings
from neurorep.data.recording import Annotations
from neurorep.errors import DataError

#: BIDS data types whose recordings are prepared.
DATATYPES = ("eeg", "meg", "ieeg")


def is_bids_root(root: Path) -> bool:
    """Whether ``root`` is a BIDS dataset (it holds ``dataset_description.json``)."""
    return root.is_dir() and (root / "dataset_description.json").is_file()


def bids_recordings(root: Path) -> list[Path]:
    """Every raw recording of ``root`` (``sub-*/[ses-*/]<datatype>/sub-*_<datatype>.<ext>``), sorted;
    ``derivatives/`` and ``sourcedata/`` are left out."""
    out = []
    for p in find_recordings(root, AUTO_FORMATS):
        rel = p.relative_to(root).parts
        if rel[0] in ("derivatives", "sourcedata") or not p.name.startswith("sub-"):
            continue
        if p.parent.name in DATATYPES and p.name.rsplit(".", 1)[0].rsplit("_", 1)[-1] in DATATYPES:
            out.append(p)
    return out


def bids_entities(path: Path) -> dict[str, str]:
    """The entities of a BIDS file name (``subject``, ``session``, ``task``, ``run``...)."""
    from mne_bids import get_entities_from_fname

    try:
        ents = get_entities_from_fname(path.name, on_error="raise")
    except (KeyError, ValueError, RuntimeError) as exc:
        raise DataError(f"{path}: not a valid BIDS file name ({exc})") from None
    return {k: str(v) for k, v in ents.items() if v is not None}


def bids_events_path(path: Path) -> Path:
    """Where the ``events.tsv`` of a BIDS recording lies (it may not exist)."""
    from mne_bids import get_bids_path_from_fname

    bp = get_bids_path_from_fname(path, check=False)
    return Path(bp.copy().update(suffix="events", extension=".tsv", check=False).fpath)


def read_bids_events(path: Path, column: str = "trial_type") -> Annotations:
    """The rows of a BIDS ``events.tsv`` as annotations named by ``column`` (``trial_type`` or
    ``value``); rows whose entry is ``n/a`` are left out."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: unreadable events.tsv ({exc})") from None
    if rows and ("onset" not in rows[0] or column not in rows[0]):
        raise DataError(f"{path}: events.tsv needs the columns onset and {column}; it has "
                        f"{', '.join(rows[0])}")
    onset, dur, desc = [], [], []
    for i, r in enumerate(rows, start=2):
        if r[column] in ("n/a", "", None):
            continue
        try:
            onset.append(float(r["onset"]))
            d = r.get("duration", "0")
            dur.append(0.0 if d in ("n/a", "", None) else float(d))
        except ValueError:
            raise DataError(f"{path}: line {i}: onset or duration is not a number") from None
        desc.append(r[column])
    return Annotations(np.asarray(onset), np.asarray(dur), desc)


def events_columns(path: Path) -> dict[str, set[str]]:
    """The distinct entries of the ``trial_type`` and ``value`` columns of an ``events.tsv``."""
    out: dict[str, set[str]] = {}
    for column in ("trial_type", "value"):
        try:
            out[column] = set(read_bids_events(path, column).description)
        except DataError:
            out[column] = set()
    return out
