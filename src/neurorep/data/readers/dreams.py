"""DREAMS databases: hypnograms ``Hypnogram_excerptN.txt`` (one R&K code per 5 s) and the text
export of the signals, ``excerptN.txt`` (a ``[CHANNEL]`` line, then one value in µV per line)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from neurorep.data.recording import Annotations, Recording
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


#: A DREAMS hypnogram holds one stage code per 5 s.
DREAMS_EPOCH_S = 5.0


def read_dreams_hypnogram(path: str | Path, epoch_seconds: float = DREAMS_EPOCH_S) -> Annotations:
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


#: Every DREAMS excerpt lasts 30 minutes; its text export gives no rate, so the rate is n / 1800 s.
EXCERPT_SECONDS = 1800.0


def read_dreams_text(path: str | Path, sfreq: float | None = None, subject: str | None = None,
                     session: str = "0") -> Recording:
    """Read the text export of a DREAMS excerpt (``excerptN.txt``): a ``[CHANNEL]`` header line, then
    one value in µV per line.

    The file gives no sampling rate: ``sfreq`` when given, else the rate of the same channel in
    ``excerptN.edf`` beside it, else the number of values over the 30 minutes every DREAMS excerpt
    lasts (100, 200 or 50 Hz). Values are returned in volts.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as fh:
        first = fh.readline().decode("latin-1").strip()
        body = fh.read()
    m = re.fullmatch(r"\[([^\]]+)\]", first)
    if m is None:
        raise DataError(f"{path}: expected a DREAMS signal export starting with a '[CHANNEL]' line; found {first[:40]!r}")
    name = m.group(1).strip()
    try:
        values = np.array(body.split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{path}: every line after the header must be a number") from None
    if values.size == 0 or not np.isfinite(values).all():
        raise DataError(f"{path}: no values, or non-finite values, after the header")
    if sfreq is None:
        sfreq = _rate_from_edf(path.with_suffix(".edf"), name)
    if sfreq is None:
        rate = values.size / EXCERPT_SECONDS
        if abs(rate - round(rate)) > 1e-9 or round(rate) < 1:
            raise DataError(f"{path}: {values.size} values are not a 30-min DREAMS excerpt at a whole rate; "
                            "give the sampling rate (sfreq)")
        sfreq = float(round(rate))
    return Recording(data=(values * 1e-6)[None, :], sfreq=float(sfreq), ch_names=[name], ch_types=["eeg"],
                     subject=subject if subject is not None else path.stem, session=session, source=str(path))


def _rate_from_edf(edf: Path, channel: str) -> float | None:
    if not edf.is_file():
        return None
    from neurorep.data.readers.edf import read_edf_channels_info

    for label, rate, _ in read_edf_channels_info(edf):
        if label.lower() == channel.lower():
            return rate
    return None


def is_dreams_text(path: Path) -> bool:
    """Whether ``path`` looks like a DREAMS signal export (``excerptN.txt`` or a ``[CHANNEL]`` first line)."""
    if path.suffix.lower() != ".txt" or path.name.startswith(("Hypnogram_", "Visual_scoring", "Automatic")):
        return False
    with path.open("rb") as fh:
        first = fh.readline(80).decode("latin-1").strip()
    return bool(re.fullmatch(r"\[[^\]]+\]", first)) and "spindle" not in first.lower()
