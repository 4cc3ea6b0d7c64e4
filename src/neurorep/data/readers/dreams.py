"""DREAMS database hypnograms: ``Hypnogram_excerptN.txt`` (one R&K code per 5 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorep.data.recording import Annotations
from neurorep.errors import DataError

#: DREAMS numeric codes -> Sleep-EDF style R&K descriptions.
DREAMS_CODES = {
    5: "Sleep stage W",
    4: "Sleep stage R",
    3: "Sleep stage 1",
    2: "Sleep stage 2",
    1: "Sleep stage 3",
    0: "Sleep stage 4",
    -1: "Movement time",
    -2: "Sleep stage ?",
    -3: "Sleep stage ?",
}


def read_dreams_hypnogram(path: str | Path, epoch_seconds: float = 5.0) -> Annotations:
    """Read a DREAMS hypnogram text file into merged R&K annotations.

    The file starts with a ``[Hypnogram]`` line followed by one integer code per 5-s epoch.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("["):
        raise DataError(f"{path}: expected a '[Hypnogram]' first line")
    try:
        codes = np.array([int(v) for v in lines[1:]])
    except ValueError as exc:
        raise DataError(f"{path}: hypnogram values must be integers ({exc})") from None
    unknown = sorted(set(codes.tolist()) - set(DREAMS_CODES))
    if unknown:
        raise DataError(f"{path}: unknown stage code {unknown[0]}; allowed values are {sorted(DREAMS_CODES)}")
    onsets, durations, desc = [], [], []
    start = 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[start]:
            onsets.append(start * epoch_seconds)
            durations.append((i - start) * epoch_seconds)
            desc.append(DREAMS_CODES[int(codes[start])])
            start = i
    return Annotations(onsets, durations, desc)


def dreams_hypnogram_for(edf_path: str | Path) -> Path:
    """``excerpt3.edf`` -> ``Hypnogram_excerpt3.txt`` beside it."""
    p = Path(edf_path)
    return p.with_name(f"Hypnogram_{p.stem}.txt")
