"""HMS Harmful Brain Activity Classification (Kaggle): ``train.csv`` votes and per-recording EEG files.

Layout::

    <root>/train.csv                      eeg_id, eeg_sub_id, eeg_label_offset_seconds, expert_consensus,
                                          seizure_vote, lpd_vote, gpd_vote, lrda_vote, grda_vote,
                                          other_vote, patient_id (other columns are ignored)
    <root>/train_eegs/<eeg_id>.parquet    one column per electrode (Fp1 ... O2, EKG), 200 Hz, µV

A labelled segment is the 50 s starting at ``eeg_label_offset_seconds``. :func:`read_hms_eeg`
also reads the CSV form of one recording (the sample in ``shared/data/hms``). Missing values (NaN)
are filled by linear interpolation along time (edges by the nearest value; an all-NaN channel
becomes zeros).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.readers import register_reader
from neurorep.data.recording import Recording
from neurorep.errors import DataError

__all__ = [
    "HMS_CHANNELS", "HMS_CLASSES", "HMS_EEG_CHANNELS", "HMS_SFREQ", "SEGMENT_S", "VOTE_COLUMNS",
    "extract_segment", "fill_nans", "read_hms_eeg", "read_hms_labels",
]

HMS_EEG_CHANNELS = ["Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "Fz", "Cz", "Pz",
                    "Fp2", "F4", "C4", "P4", "F8", "T4", "T6", "O2"]
HMS_CHANNELS = [*HMS_EEG_CHANNELS, "EKG"]
HMS_CLASSES = ["seizure", "lpd", "gpd", "lrda", "grda", "other"]
VOTE_COLUMNS = [f"{c}_vote" for c in HMS_CLASSES]
HMS_SFREQ = 200.0
SEGMENT_S = 50.0
LABEL_COLUMNS = ["eeg_id", "eeg_label_offset_seconds", *VOTE_COLUMNS, "patient_id"]
_CONSENSUS = {"seizure": 0, "lpd": 1, "gpd": 2, "lrda": 3, "grda": 4, "other": 5}


def fill_nans(data: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN/inf in ``data[C, T]`` by linear interpolation along time; returns (filled copy, n filled).

    Leading/trailing gaps take the nearest finite value; a channel with no finite value becomes 0.
    """
    out = np.array(data, dtype=np.float32, copy=True)
    bad = ~np.isfinite(out)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return out, 0
    t = np.arange(out.shape[1])
    for c in np.flatnonzero(bad.any(axis=1)):
        good = ~bad[c]
        out[c] = np.interp(t, t[good], out[c, good]) if good.any() else 0.0
    return out, n_bad


def _read_table(path: Path) -> Any:
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:  # pyarrow/pandas parse errors are ValueError subclasses
        raise DataError(f"{path}: cannot read the HMS EEG table ({str(exc).splitlines()[0]})") from None


def _is_number_column(dtype: Any) -> bool:
    """Integer or float columns only: booleans, strings, dates or complex numbers are not a signal."""
    kind = getattr(dtype, "kind", "O")
    return kind in "iuf"


def read_hms_eeg(path: str | Path, subject: str = "unknown", sfreq: float = HMS_SFREQ,
                 channels: list[str] | None = None) -> Recording:
    """Read one HMS EEG (``.parquet`` as distributed, or ``.csv``) into a :class:`Recording` in volts.

    ``channels`` defaults to the 19 EEG electrodes plus ``EKG`` (typed ``ecg``). The file must hold
    every requested column; extra columns are ignored. NaNs are filled (see :func:`fill_nans`);
    the number filled is kept in ``recording.extra["nan_filled"]`` as ``(array([n]), 0.0)``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: HMS EEG file not found")
    want = list(channels or HMS_CHANNELS)
    df = _read_table(path)
    cols = [str(c) for c in df.columns]
    lower = {c.lower(): c for c in cols}
    missing = [c for c in want if c.lower() not in lower]
    if missing:
        raise DataError(f"{path}: expected HMS electrode columns {', '.join(want)}; missing {', '.join(missing)} "
                        f"(found {', '.join(cols[:25])})")
    not_numeric = [c for c in want if not _is_number_column(df[lower[c.lower()]].dtype)]
    if not_numeric:
        c = not_numeric[0]
        raise DataError(f"{path}: electrode column {c} holds {df[lower[c.lower()]].dtype} values; expected numbers "
                        "(a signal in microvolts)")
    try:
        data = df[[lower[c.lower()] for c in want]].to_numpy(dtype=np.float64).T
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: electrode columns must be numeric ({exc})") from None
    if data.shape[1] == 0:
        raise DataError(f"{path}: the EEG table has no rows")
    dead = [want[c] for c in np.flatnonzero(~np.isfinite(data).any(axis=1))]
    if dead:
        raise DataError(f"{path}: electrode column(s) {', '.join(dead)} hold no finite value (all NaN); "
                        "expected a recorded signal")
    data, n_filled = fill_nans(data)
    types = ["ecg" if c.upper() in ("EKG", "ECG") else "eeg" for c in want]
    return Recording(data=data * 1e-6, sfreq=float(sfreq), ch_names=want, ch_types=types, subject=str(subject),
                     session=path.stem, source=str(path),
                     extra={"nan_filled": (np.array([n_filled], dtype=np.float64), 0.0)})


def extract_segment(rec: Recording, offset_s: float, duration_s: float = SEGMENT_S) -> np.ndarray:
    """The ``[C, round(duration_s * sfreq)]`` samples starting at ``offset_s`` seconds.

    Raises :class:`DataError` when the segment does not fit in the recording.
    """
    start = round(float(offset_s) * rec.sfreq)
    n = round(duration_s * rec.sfreq)
    if start < 0 or start + n > rec.n_times:
        raise DataError(f"{rec.source or 'recording'}: segment {offset_s:g}-{offset_s + duration_s:g} s does not fit "
                        f"in the recording of {rec.duration:g} s")
    return rec.data[:, start:start + n]


def read_hms_labels(path: str | Path) -> Any:
    """Read and check ``train.csv``; returns a pandas DataFrame with ``y`` (consensus class index)
    and ``n_votes`` added. Vote columns must be non-negative numbers with a positive row total."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: HMS label file not found (expected train.csv with {', '.join(LABEL_COLUMNS)})")
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in LABEL_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}")
    if len(df) == 0:
        raise DataError(f"{path}: no label rows")
    votes = df[VOTE_COLUMNS].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(votes).all(axis=1) | (votes < 0).any(axis=1) | (votes.sum(axis=1) <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: row {row + 2} has invalid votes {votes[row].tolist()} (expected non-negative "
                        f"numbers with a positive total)")
    offsets = pd.to_numeric(df["eeg_label_offset_seconds"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(offsets).all() or (offsets < 0).any():
        row = int(np.flatnonzero(~np.isfinite(offsets) | (offsets < 0))[0])
        raise DataError(f"{path}: row {row + 2} has an invalid eeg_label_offset_seconds "
                        f"{df['eeg_label_offset_seconds'].iloc[row]!r} (expected a number >= 0)")
    df = df.copy()
    df[VOTE_COLUMNS] = votes
    df["eeg_label_offset_seconds"] = offsets
    df["n_votes"] = votes.sum(axis=1)
    if "expert_consensus" in df.columns:
        cons = df["expert_consensus"].astype(str).str.lower().map(_CONSENSUS)
        df["y"] = np.where(cons.notna(), cons.fillna(-1), votes.argmax(axis=1)).astype(np.int64)
    else:
        df["y"] = votes.argmax(axis=1).astype(np.int64)
    return df


register_reader(".parquet", read_hms_eeg)
