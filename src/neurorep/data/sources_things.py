"""Things-EEG-2 as a data source of the one cache path (:func:`neurorep.data.cache.prepare`).

Every subject folder holds ``preprocessed_eeg_training.npy`` and ``preprocessed_eeg_test.npy``
(:mod:`neurorep.data.readers.things_eeg2`; read safely, no pickles after this step) and the corpus has
one ``image_metadata.npy``. Each file is one recording of its subject (``session`` = its split,
``train`` or ``test``); its windows are the image conditions with the repetitions averaged, ``y`` the
condition index within the split (``label_kind = "condition"``). A test recording also keeps every
repetition as the per-recording array ``reps`` ``(n_test, R, C, T)``. The cache's ``info.json``
carries the image metadata (``images``: concepts and file names of the training and test images) and
``subject_numbers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.readers.things_eeg2 import (
    SPLIT_FILES,
    EEGEpochs,
    find_image_metadata,
    find_subjects,
    read_image_metadata,
    read_things_eeg2_file,
)
from neurorep.data.sources_base import DATASETS, Source, SourceItem
from neurorep.data.windows import Windows
from neurorep.errors import DataError

SPLIT_CODE = {"train": 0, "test": 1}


@DATASETS.register("things-eeg2", "Things-EEG-2: sub-XX/preprocessed_eeg_{training,test}.npy + image_metadata.npy")
class ThingsEEG2(Source):
    """Image-evoked EEG of Things-EEG-2, one recording per subject and split, one window per image condition."""

    name = "things-eeg2"
    label_kind = "condition"
    prepare_defaults = {"sfreq": None, "l_freq": None, "h_freq": None, "scaling": "none"}

    def __init__(self) -> None:
        self.images: dict[str, list[str]] = {}
        self.numbers: list[int] = []

    def discover(self, root: Path) -> list[SourceItem]:
        subjects = find_subjects(root)
        meta = find_image_metadata(root)
        self.images = read_image_metadata(meta).to_dict()
        self.numbers = list(subjects)
        items = []
        for n, folder in subjects.items():
            if not (folder / SPLIT_FILES["test"]).is_file():
                raise DataError(f"{folder}: {SPLIT_FILES['test']} missing for subject {n}")
            items += [SourceItem(folder / SPLIT_FILES[s], meta, f"sub-{n:02d}", s) for s in ("train", "test")]
        return items

    def describe(self, item: SourceItem) -> dict[str, Any]:
        return {"subject_number": int(item.subject[4:]), "split": item.session}

    def info_extra(self) -> dict[str, Any]:
        return {"images": self.images, "subject_numbers": self.numbers}

    def classes(self, cfg: Any) -> list[str]:
        return []

    def load(self, item: SourceItem, channels: list[str] | None) -> EEGEpochs:  # type: ignore[override]
        """The file's epochs ``[conditions, repetitions, channels, times]`` (not a continuous recording)."""
        return read_things_eeg2_file(item.path)

    def windows(self, rec: Any, cfg: Any) -> Windows:
        split = "test" if rec.path.name == SPLIT_FILES["test"] else "train"
        n_img = len(self.images[f"{split}_img_files"])
        if rec.data.shape[0] != n_img:
            raise DataError(f"{rec.path}: {rec.data.shape[0]} {split} conditions, but image_metadata lists "
                            f"{n_img} {split} images")
        n = rec.data.shape[0]
        x = rec.data.mean(axis=1, dtype=np.float64).astype(np.float32)
        sfreq = float(round(1.0 / float(np.median(np.diff(rec.times))), 6)) if len(rec.times) > 1 else 0.0
        return Windows(x, np.arange(n, dtype=np.int64), np.zeros(n), sfreq, list(rec.ch_names),
                       whole={"reps": rec.data} if split == "test" else {})


def single_repetitions(cache: Any, recording: int) -> np.ndarray:
    """Memory-mapped ``(n_test, R, C, T)`` single repetitions of a test recording."""
    if recording not in [r.id for r in cache.info.recordings if getattr(r, "split", None) == "test"]:
        raise DataError(f"{cache.path}: no single-repetition array for recording {recording} (only test recordings "
                        "have one)")
    return cache.array("reps", recording)


def row_splits(cache: Any) -> np.ndarray:
    """Per cache row: 0 for a training-image condition, 1 for a test-image one."""
    code = {r.id: SPLIT_CODE[r.split] for r in cache.info.recordings}
    return np.array([code[int(r)] for r in cache.meta["recording"]], np.int64)
