"""A recording stored as a CSV table of samples: one row per sample, one numeric column per channel,
optionally a label column (e.g. the UCI EEG Eye State file).

The table says neither its rate nor its unit: the rate is given (``csv_rate``), and the values are
flagged as having no known unit, so preparation asks for ``assume_unit``. Runs of equal values of
the label column become annotations (description = the value), which fixed windows are voted over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorep.data.recording import Annotations, Recording
from neurorep.errors import DataError


def read_csv_samples(path: str | Path, sfreq: float, label_column: str | None = None,
                     channels: list[str] | None = None, subject: str | None = None, session: str = "0") -> Recording:
    """Read a CSV of samples at ``sfreq`` Hz; ``label_column`` (if given) becomes annotations."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    try:
        table = pacsv.read_csv(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: unreadable CSV of samples ({' '.join(str(exc).split())[:200]})") from None
    names = list(table.column_names)
    if label_column is not None and label_column not in names:
        raise DataError(f"{path}: no label column {label_column!r}; columns are: {', '.join(names)}")
    signal = [n for n in names if n != label_column]
    if channels is not None:
        missing = [c for c in channels if c not in signal]
        if missing:
            raise DataError(f"{path}: channel(s) {', '.join(missing)} not found; columns are: {', '.join(signal)}")
        signal = list(channels)
    bad = [n for n in signal if not (pa.types.is_floating(table[n].type) or pa.types.is_integer(table[n].type))]
    if bad:
        raise DataError(f"{path}: column {bad[0]!r} is not numeric; name the label column (--label-column) "
                        "or pick numeric channels (--channels)")
    if not signal or table.num_rows == 0:
        raise DataError(f"{path}: no samples (no rows or no numeric columns)")
    data = np.stack([table[n].to_numpy(zero_copy_only=False).astype(np.float32) for n in signal])
    if not np.isfinite(data).all():
        raise DataError(f"{path}: missing or non-finite values in the samples")
    ann = Annotations.empty()
    if label_column is not None:
        values = [str(v) for v in table[label_column].to_pylist()]
        change = [0] + [i for i in range(1, len(values)) if values[i] != values[i - 1]] + [len(values)]
        ann = Annotations([a / sfreq for a in change[:-1]], [(b - a) / sfreq for a, b in zip(change, change[1:])],
                          [values[a] for a in change[:-1]])
    return Recording(data=data, sfreq=float(sfreq), ch_names=signal, ch_types=["eeg"] * len(signal),
                     subject=subject if subject is not None else path.stem, session=session, annotations=ann,
                     source=str(path), unknown_units={n: "(CSV: no unit)" for n in signal})
