"""Things-EEG-2 (Gifford et al., 2022): preprocessed EEG arrays and image metadata, read safely.

On-disk layout (as published on OSF; the simulated corpus writes the same)::

    <root>/preprocessed_data/sub-01/preprocessed_eeg_training.npy   dict: preprocessed_eeg_data
    <root>/preprocessed_data/sub-01/preprocessed_eeg_test.npy             (conditions, repetitions, 17, 100),
                                                                           ch_names (17), times (100)
    <root>/image_set/image_metadata.npy    dict: train_img_concepts, train_img_files,
                                                 test_img_concepts, test_img_files
    <root>/concept_categories.csv          optional: concept,category (27 THINGS categories)

The ``.npy`` files hold pickled dicts. They are read with :mod:`neurorep.safe_pickle` (never
``np.load(allow_pickle=True)``), validated, and prepared once (the ``things-eeg2`` source,
:mod:`neurorep.data.sources_things`) into the plain memory-mapped window cache every later run uses.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurorep.errors import DataError
from neurorep.safe_pickle import load_npy_dict

__all__ = ["EEG_KEYS", "SPLIT_FILES", "EEGEpochs", "ImageMetadata", "find_image_metadata", "find_subjects",
           "read_concept_categories", "read_image_metadata", "read_things_eeg2_file", "strip_concept_id"]

SPLIT_FILES = {"train": "preprocessed_eeg_training.npy", "test": "preprocessed_eeg_test.npy"}
EEG_KEYS = ("preprocessed_eeg_data", "ch_names", "times")
META_KEYS = ("train_img_concepts", "train_img_files", "test_img_concepts", "test_img_files")
_SUB = re.compile(r"sub-(\d+)$")


@dataclass
class EEGEpochs:
    """One preprocessed Things-EEG-2 file.

    Attributes:
        data: float32 ``[conditions, repetitions, channels, times]``.
        ch_names: channel names (``channels`` of them).
        times: seconds relative to image onset, ``[times]``.
        path: the file read.
    """

    data: np.ndarray
    ch_names: list[str]
    times: np.ndarray
    path: Path

    @property
    def sfreq(self) -> float:
        """Sampling rate (Hz) from the time axis."""
        return float(1.0 / np.median(np.diff(self.times))) if len(self.times) > 1 else float("nan")


def read_things_eeg2_file(path: str | Path, expect_channels: int | None = None) -> EEGEpochs:
    """Read and validate one ``preprocessed_eeg_{training,test}.npy`` file.

    Expected: a dict with ``preprocessed_eeg_data`` (a finite float array of shape
    ``(conditions, repetitions, channels, times)``), ``ch_names`` (``channels`` strings) and
    ``times`` (``times`` increasing numbers). Anything else is a :class:`DataError` naming the
    file, the key, what was expected and what was found.
    """
    path = Path(path)
    d = load_npy_dict(path)
    missing = [k for k in EEG_KEYS if k not in d]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}; expected keys {', '.join(EEG_KEYS)}, "
                        f"found {', '.join(sorted(map(str, d))) or 'none'}")
    data = d["preprocessed_eeg_data"]
    if not isinstance(data, np.ndarray) or data.ndim != 4 or not np.issubdtype(data.dtype, np.number):
        found = f"shape {data.shape}, dtype {data.dtype}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: preprocessed_eeg_data must be a numeric array (conditions, repetitions, channels, "
                        f"times); found {found}")
    ch_names = _as_names(d["ch_names"])
    if ch_names is None:
        raise DataError(f"{path}: ch_names must be a list of channel names, found {type(d['ch_names']).__name__}")
    times = _as_times(d["times"])
    if times is None:
        raise DataError(f"{path}: times must be a 1-D list of seconds, found {type(d['times']).__name__}")
    n_cond, n_rep, n_ch, n_t = data.shape
    if n_ch != len(ch_names):
        raise DataError(f"{path}: preprocessed_eeg_data has {n_ch} channels (shape {data.shape}) but ch_names "
                        f"lists {len(ch_names)}")
    if n_t != len(times):
        raise DataError(f"{path}: preprocessed_eeg_data has {n_t} time points (shape {data.shape}) but times "
                        f"lists {len(times)}")
    if expect_channels is not None and n_ch != expect_channels:
        raise DataError(f"{path}: expected {expect_channels} channels, found {n_ch}")
    if min(n_cond, n_rep, n_ch, n_t) < 1:
        raise DataError(f"{path}: preprocessed_eeg_data is empty (shape {data.shape})")
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        raise DataError(f"{path}: times must increase")
    out = np.ascontiguousarray(data, dtype=np.float32)
    if not np.isfinite(out).all():
        raise DataError(f"{path}: preprocessed_eeg_data holds non-finite values")
    return EEGEpochs(out, ch_names, times, path)


def _as_names(v: Any) -> list[str] | None:
    """Channel names from a list/array of strings; ``None`` when it is not one."""
    if not _is_seq(v):
        return None
    try:
        a = np.asarray(v)
    except (ValueError, TypeError):  # ragged nesting
        return None
    return [str(c) for c in a.tolist()] if a.ndim == 1 else None


def _as_times(v: Any) -> np.ndarray | None:
    """Seconds from a 1-D list/array of numbers; ``None`` when it is not one."""
    if not _is_seq(v):
        return None
    try:
        a = np.asarray(v, dtype=np.float64)
    except (ValueError, TypeError):  # ragged or non-numeric
        return None
    return a if a.ndim == 1 else None


def _is_seq(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray)) and not isinstance(v, str)


def find_subjects(root: str | Path) -> dict[int, Path]:
    """Subject number -> its ``sub-XX`` folder, for folders holding the training file.

    Looks in ``root``, ``root/*`` and ``root/*/*`` (e.g. ``root/preprocessed_data/sub-01``).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: Things-EEG-2 folder not found")
    found: dict[int, Path] = {}
    for pattern in ("sub-*", "*/sub-*", "*/*/sub-*"):
        for p in sorted(root.glob(pattern)):
            m = _SUB.match(p.name)
            if m and p.is_dir() and (p / SPLIT_FILES["train"]).is_file():
                found.setdefault(int(m.group(1)), p)
        if found:
            break
    if not found:
        raise DataError(f"{root}: no Things-EEG-2 subject folders (sub-XX/{SPLIT_FILES['train']}) found here "
                        "or one or two levels below")
    return dict(sorted(found.items()))


@dataclass
class ImageMetadata:
    """Concept and file name of every training and test image condition, in condition order."""

    train_concepts: list[str]
    train_files: list[str]
    test_concepts: list[str]
    test_files: list[str]

    def to_dict(self) -> dict[str, list[str]]:
        return {"train_img_concepts": self.train_concepts, "train_img_files": self.train_files,
                "test_img_concepts": self.test_concepts, "test_img_files": self.test_files}


def find_image_metadata(root: str | Path) -> Path:
    """``image_metadata.npy`` in ``root``, ``root/image_set`` or any direct sub-folder."""
    root = Path(root)
    if root.is_file():
        return root
    for cand in (root / "image_metadata.npy", root / "image_set" / "image_metadata.npy",
                 *sorted(root.glob("*/image_metadata.npy"))):
        if cand.is_file():
            return cand
    raise DataError(f"{root}: image_metadata.npy not found (looked in the folder, image_set/ and sub-folders)")


def read_image_metadata(path: str | Path) -> ImageMetadata:
    """Read ``image_metadata.npy`` (a pickled dict, through the restricted loader) and validate it."""
    path = find_image_metadata(path)
    d = load_npy_dict(path)
    missing = [k for k in META_KEYS if k not in d]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}; expected keys {', '.join(META_KEYS)}")
    lists = {}
    for k in META_KEYS:
        if not _is_seq(d[k]):
            raise DataError(f"{path}: {k} must be a list of strings, found {type(d[k]).__name__}")
        lists[k] = [str(v) for v in np.asarray(d[k]).tolist()]
    for split in ("train", "test"):
        a, b = lists[f"{split}_img_concepts"], lists[f"{split}_img_files"]
        if len(a) != len(b):
            raise DataError(f"{path}: {split}_img_concepts has {len(a)} entries but {split}_img_files has {len(b)}")
    return ImageMetadata(lists["train_img_concepts"], lists["train_img_files"], lists["test_img_concepts"],
                         lists["test_img_files"])


def strip_concept_id(concept: str) -> str:
    """``"00001_aardvark"`` -> ``"aardvark"`` (Things-EEG-2 prefixes concepts with a number)."""
    head, sep, tail = concept.partition("_")
    return tail if sep and head.isdigit() else concept


def read_concept_categories(path: str | Path) -> dict[str, str]:
    """Concept -> higher-level category from a CSV with columns ``concept`` and ``category``.

    Keys are stored both as written and without a numeric ``00001_`` prefix, so the CSV may use
    either spelling.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: concept category CSV not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "concept" not in cols or "category" not in cols:
            raise DataError(f"{path}: expected columns 'concept' and 'category', found {', '.join(cols) or 'none'}")
        out: dict[str, str] = {}
        for row in reader:
            c, cat = (row["concept"] or "").strip(), (row["category"] or "").strip()
            if c and cat:
                out[c] = cat
                out.setdefault(strip_concept_id(c), cat)
    if not out:
        raise DataError(f"{path}: no concept,category rows")
    return out
