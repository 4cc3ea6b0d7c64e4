"""Bipolar montages, chiefly the longitudinal "double banana" used to read clinical EEG (HMS).

``bipolar(data[C, T], ch_names) -> (data[P, T], names)`` with one row ``a - b`` per pair ``(a, b)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurorep.data.recording import Recording
from neurorep.errors import DataError, closest

__all__ = ["DOUBLE_BANANA", "MONTAGES", "apply_montage", "bipolar", "montage_names"]

#: Longitudinal bipolar ("double banana") chains: left and right temporal, left and right
#: parasagittal, and the central chain; 18 derivations of the 10-20 system (old T3/T4/T5/T6 names).
DOUBLE_BANANA: list[tuple[str, str]] = [
    ("Fp1", "F7"), ("F7", "T3"), ("T3", "T5"), ("T5", "O1"),
    ("Fp2", "F8"), ("F8", "T4"), ("T4", "T6"), ("T6", "O2"),
    ("Fp1", "F3"), ("F3", "C3"), ("C3", "P3"), ("P3", "O1"),
    ("Fp2", "F4"), ("F4", "C4"), ("C4", "P4"), ("P4", "O2"),
    ("Fz", "Cz"), ("Cz", "Pz"),
]

MONTAGES: dict[str, list[tuple[str, str]]] = {"double_banana": DOUBLE_BANANA}


def montage_names(pairs: Sequence[tuple[str, str]] = DOUBLE_BANANA) -> list[str]:
    """Derivation names ``"a-b"``."""
    return [f"{a}-{b}" for a, b in pairs]


def bipolar(data: np.ndarray, ch_names: Sequence[str], pairs: Sequence[tuple[str, str]] = DOUBLE_BANANA,
            source: str = "") -> tuple[np.ndarray, list[str]]:
    """Bipolar derivations ``data[a] - data[b]`` for each pair: ``[C, T] -> [P, T]`` (same dtype).

    A missing electrode raises :class:`DataError` naming it, the channels found and the closest one.
    """
    index = {name.lower(): i for i, name in enumerate(ch_names)}
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.shape[0] != len(ch_names):
        raise DataError(f"bipolar: expected data [C, T] with C={len(ch_names)} rows; got shape {arr.shape}")
    rows = []
    for a, b in pairs:
        for name in (a, b):
            if name.lower() not in index:
                hint = closest(name, ch_names)
                where = f" in {source}" if source else ""
                raise DataError(f"bipolar montage needs electrode {name!r}, not found{where}; channels are: "
                                f"{', '.join(ch_names)}" + (f" (did you mean {hint!r}?)" if hint else ""))
        rows.append(arr[index[a.lower()]] - arr[index[b.lower()]])
    return np.stack(rows).astype(arr.dtype, copy=False), montage_names(pairs)


def apply_montage(rec: Recording, name: str = "double_banana") -> Recording:
    """A new recording holding the bipolar derivations of montage ``name`` (type ``eeg``)."""
    if name not in MONTAGES:
        from neurorep.errors import ConfigError, unknown_name_message

        raise ConfigError(unknown_name_message("montage", name, MONTAGES))
    data, names = bipolar(rec.data, rec.ch_names, MONTAGES[name], source=rec.source)
    return Recording(data=data, sfreq=rec.sfreq, ch_names=names, ch_types=["eeg"] * len(names),
                     subject=rec.subject, session=rec.session, annotations=rec.annotations, extra=rec.extra,
                     source=rec.source, meas_date=rec.meas_date)
