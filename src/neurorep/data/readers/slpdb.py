"""MIT-BIH Polysomnographic Database (PhysioNet ``slpdb``) as text listings: ``.hea``, ``.an``, ``.rr``.

* ``<rec>.hea``: WFDB header; the record line gives the sampling rate and length
  (``slp01a 4 250/0.033333333(94) 1800000 23:07:00 19/1/1989``).
* ``<rec>.an``: one row per 30-s epoch, ``elapsed  sample  type sub chan num<TAB>aux``; the first
  token of ``aux`` is the stage (``W 1 2 3 4 R``, movement ``MT`` or ``M``), further tokens are apnea/arousal events.
* ``<rec>.rr``: tab-separated ``start  label  RR(s)  label  end`` per beat-to-beat interval.

:func:`read_slpdb` returns the instantaneous heart rate (bpm, 4 Hz, one channel ``IHR``) with the
stages as 30-s annotations. Records ``slp01a``/``slp01b`` and ``slp02a``/``slp02b`` are halves of
one subject's night, so :func:`slpdb_subject` gives them one subject id.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from neurorep.data.heart_rate import IHR_FS, ihr_series
from neurorep.data.recording import Annotations, Recording
from neurorep.errors import DataError

#: Stage codes of the ``.an`` listings; movement is written ``MT`` in most records and ``M`` in some.
STAGE_CODES = {"W": "Sleep stage W", "1": "Sleep stage 1", "2": "Sleep stage 2", "3": "Sleep stage 3",
               "4": "Sleep stage 4", "R": "Sleep stage R", "MT": "Movement time", "M": "Movement time"}


def _lines(path: Path) -> list[str]:
    """The lines of a text listing (latin-1: every byte reads, so a bad byte fails as a bad field)."""
    return path.read_text(encoding="latin-1").splitlines()


#: Most a header's length may exceed the end of the RR and stage listings before it is taken as wrong.
LENGTH_SLACK_S = 3600.0


def parse_clock(text: str, source: str = "") -> float:
    """Seconds from ``[h:]m:ss.sss``."""
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        raise DataError(f"{source}: cannot read time {text!r} (expected [h:]m:ss.sss)") from None
    if not all(np.isfinite(parts)):
        raise DataError(f"{source}: cannot read time {text!r} (expected [h:]m:ss.sss)")
    sec = 0.0
    for p in parts:
        sec = sec * 60.0 + p
    return sec


def read_slpdb_header(path: str | Path) -> tuple[float, int]:
    """``(sampling rate Hz, number of samples)`` from a WFDB ``.hea`` record line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: header file not found")
    line = next((ln for ln in _lines(path) if ln.strip() and not ln.startswith("#")), "")
    fields = line.split()
    if len(fields) < 4:
        raise DataError(f"{path}: expected a record line 'name n_signals fs n_samples ...'; found {line!r}")
    try:
        fs = float(fields[2].split("/")[0])
        n = int(fields[3])
    except ValueError:
        raise DataError(f"{path}: cannot read the rate and length from {line!r}") from None
    if not (np.isfinite(fs) and fs > 0 and n > 0):
        raise DataError(f"{path}: the record line gives rate {fs:g} Hz and {n} samples; both must be positive")
    return fs, n


def read_slpdb_annotations(path: str | Path, fs: float = 250.0) -> Annotations:
    """30-s stage annotations of an ``.an`` listing (onset = nearest 30-s multiple of sample / fs)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found")
    onsets, texts = [], []
    for k, line in enumerate(_lines(path)[1:], start=2):
        if not line.strip():
            continue
        head, _, aux = line.partition("\t")
        cols = head.split()
        if len(cols) < 2 or not aux.strip():
            raise DataError(f"{path}:{k}: expected 'time sample type sub chan num<TAB>stage'; found {line.strip()!r}")
        code = aux.split()[0]
        if code not in STAGE_CODES:
            raise DataError(f"{path}:{k}: unknown stage code {code!r}; known: {', '.join(STAGE_CODES)}")
        try:
            sample = int(cols[1])
        except ValueError:
            raise DataError(f"{path}:{k}: sample number {cols[1]!r} is not an integer") from None
        onsets.append(round(sample / fs / 30.0) * 30.0)
        texts.append(STAGE_CODES[code])
    if not onsets:
        raise DataError(f"{path}: no stage rows")
    return Annotations(np.asarray(onsets), np.full(len(onsets), 30.0), texts)


def read_slpdb_beats(path: str | Path) -> np.ndarray:
    """Beat times (s): the end time of every RR interval of an ``.rr`` listing."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: RR file not found")
    ends = []
    for k, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 5:
            raise DataError(f"{path}:{k}: expected 5 tab-separated columns (start label RR label end); "
                            f"found {len(cols)}")
        ends.append(parse_clock(cols[4], f"{path}:{k}"))
    t = np.asarray(ends)
    if t.size < 3 or np.any(np.diff(t) < 0):
        raise DataError(f"{path}: beat times must be at least 3 and increasing")
    return t


def slpdb_subject(record: str) -> str:
    """Subject id of a record: ``slp01a`` and ``slp01b`` -> ``slp01``."""
    return re.sub(r"[ab]$", "", record)


def read_slpdb_record(stem: Path) -> tuple[np.ndarray, Annotations, float]:
    """``(beat times, stage annotations, length s)`` of a record, the header's length checked against
    the listings (a header whose length runs more than an hour past them is refused)."""
    rate, n = read_slpdb_header(stem.with_suffix(".hea"))
    beats = read_slpdb_beats(stem.with_suffix(".rr"))
    ann = read_slpdb_annotations(stem.with_suffix(".an"), rate)
    listed = max(float(beats[-1]), float(ann.end))
    if n / rate > listed + LENGTH_SLACK_S:
        raise DataError(f"{stem.with_suffix('.hea')}: the header declares {n / rate:.0f} s but the RR and stage "
                        f"listings end at {listed:.0f} s")
    return beats, ann, max(n / rate, float(ann.end))


def read_slpdb(path: str | Path, fs: float = IHR_FS) -> Recording:
    """Instantaneous heart rate (bpm, one channel ``IHR`` at ``fs``) of a record with its stages.

    ``path`` is any of the record's files or its path without suffix.
    """
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".hea", ".an", ".rr") else path
    beats, ann, duration = read_slpdb_record(stem)
    ihr = ihr_series(beats, duration, fs)
    return Recording(data=ihr[None, :], sfreq=fs, ch_names=["IHR"], ch_types=["ecg"],
                     subject=slpdb_subject(stem.name), session=stem.name, annotations=ann, source=str(stem))
