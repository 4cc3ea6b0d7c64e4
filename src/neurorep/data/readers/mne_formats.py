"""Any recording format MNE reads, as a :class:`Recording`.

EDF and BDF go through neurorep's own reader (:mod:`neurorep.data.readers.edf`); FIF, BrainVision
(``.vhdr``), EEGLAB (``.set``), GDF, Neuroscan CNT and the other formats below go through
``mne.io.read_raw``. :func:`read_header` lists a file's channels, rate and length without reading
its samples, so a folder can be checked before anything is prepared; :func:`read_events` gives the
file's events (its annotations, a sibling ``*-eve.fif`` / ``*.eve`` file, or its trigger channel) as
:class:`Annotations` whose descriptions are the event codes or texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.recording import CH_TYPES, Annotations, Recording
from neurorep.errors import DataError

#: ``--format`` name -> file endings it reads (lower case).
FORMATS: dict[str, tuple[str, ...]] = {
    "edf": (".edf",),
    "bdf": (".bdf",),
    "fif": (".fif", ".fif.gz"),
    "brainvision": (".vhdr",),
    "eeglab": (".set",),
    "gdf": (".gdf",),
    "cnt": (".cnt",),
    "egi": (".mff",),
    "nihon": (".eeg",),
    "persyst": (".lay",),
    "nicolet": (".data",),
    "eximia": (".nxe",),
    "curry": (".cdt",),
    "csv": (".csv",),  # a table of samples (readers/csv_samples.py); never chosen by auto
}
#: Formats tried by ``--format auto`` (endings shared with other formats' side files are left out:
#: BrainVision's ``.eeg`` data file is not a Nihon Kohden recording).
AUTO_FORMATS = ("edf", "bdf", "fif", "brainvision", "eeglab", "gdf", "cnt")
#: FIF files that are not raw recordings (events, epochs, evoked, covariances, solutions...).
_NOT_RAW_FIF = ("-eve.fif", "_eve.fif", "-epo.fif", "_epo.fif", "-ave.fif", "_ave.fif", "-cov.fif", "-fwd.fif",
                "-inv.fif", "-trans.fif", "-annot.fif", "-sol.fif", "-proj.fif", "-ica.fif")
#: MNE channel types kept as they are; others become ``misc``.
_MNE_TYPES = {"eeg", "eog", "emg", "ecg", "mag", "grad", "resp", "misc", "stim"}


def format_of(path: Path) -> str | None:
    """The format name of ``path`` by its ending, or ``None``."""
    name = path.name.lower()
    if any(name.endswith(e) for e in _NOT_RAW_FIF):
        return None
    for fmt, endings in FORMATS.items():
        if any(name.endswith(e) for e in endings):
            return fmt
    return None


def find_recordings(root: Path, formats: tuple[str, ...]) -> list[Path]:
    """Every recording file of one of ``formats`` at or under ``root``, sorted."""
    if root.is_file():
        return [root] if format_of(root) in formats else []
    return sorted(p for p in root.rglob("*") if p.is_file() and format_of(p) in formats)


@dataclass(frozen=True)
class Header:
    """A recording's channels, types, rate and length, read without its samples."""

    ch_names: list[str]
    ch_types: list[str]
    sfreq: float
    n_times: int
    annotations: Annotations
    first_samp: int = 0

    @property
    def duration(self) -> float:
        return self.n_times / self.sfreq if self.sfreq else 0.0

    def data_channels(self) -> list[str]:
        """The channels prepared by default: every channel but triggers."""
        return [n for n, t in zip(self.ch_names, self.ch_types, strict=True) if t != "stim"]


def _mne_raw(path: Path, preload: bool = False) -> Any:
    import mne

    try:
        return mne.io.read_raw(path, preload=preload, verbose="error")
    except (ValueError, OSError, RuntimeError, KeyError, IndexError, TypeError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: unreadable recording ({detail[:200]})") from None


def read_header(path: str | Path, csv: tuple[float, str | None] | None = None) -> Header:
    """Channels, types, rate and number of samples of ``path`` (no samples decoded, except for a CSV of
    samples, read at the rate and with the label column of ``csv``)."""
    path = Path(path)
    if format_of(path) == "csv":
        rec = _read_csv(path, csv, None)
        return Header(rec.ch_names, rec.ch_types, rec.sfreq, rec.n_times, rec.annotations)
    if format_of(path) in ("edf", "bdf"):
        from neurorep.data.readers import edf_format
        from neurorep.data.readers.edf import _annotations, _Channels, _start

        ch = _Channels(edf_format.read_header(path))
        if not ch.index:
            raise DataError(f"{path}: the file holds no signals, only annotations")
        keep = ch.default() + [k for k, t in enumerate(ch.types) if t == "stim" and k not in ch.default()]
        keep.sort()
        h = ch.header
        rate = max(ch.rates[k] for k in ch.default())
        onsets, tals = edf_format.read_tals(h) if h.annotation_signals else (np.zeros(0), [])
        return Header([ch.names[k] for k in keep], [ch.types[k] for k in keep], float(rate),
                      int(round(h.n_records * h.record_duration * rate)), _annotations(tals, onsets, _start(h, onsets)))
    raw = _mne_raw(path)
    types = [t if t in _MNE_TYPES else "misc" for t in raw.get_channel_types()]
    ann = raw.annotations
    return Header(list(raw.ch_names), types, float(raw.info["sfreq"]), int(raw.n_times),
                  Annotations(np.asarray(ann.onset, np.float64) - raw.first_time, ann.duration, list(ann.description)),
                  int(raw.first_samp))


def _read_csv(path: Path, csv: tuple[float, str | None] | None, channels: list[str] | None,
              subject: str | None = None, session: str = "0") -> Recording:
    from neurorep.data.readers.csv_samples import read_csv_samples

    if csv is None or not csv[0]:
        raise DataError(f"{path}: a CSV of samples needs its sampling rate (--csv-rate)")
    return read_csv_samples(path, csv[0], csv[1], channels=channels, subject=subject, session=session)


def read_mne(path: str | Path, channels: list[str] | None = None, subject: str | None = None,
             session: str = "0", csv: tuple[float, str | None] | None = None) -> Recording:
    """Read ``path`` (any format of :data:`FORMATS`) into a :class:`Recording` in volts with its
    annotations (onsets from the first sample). ``channels`` picks and orders channels; ``csv`` is
    the rate and label column of a CSV of samples."""
    path = Path(path)
    subject = subject if subject is not None else path.stem
    if format_of(path) == "csv":
        return _read_csv(path, csv, channels, subject, session)
    if format_of(path) in ("edf", "bdf"):
        from neurorep.data.readers.edf import read_edf

        return read_edf(path, channels=channels, subject=subject, session=session)
    raw = _mne_raw(path)
    picks = list(raw.ch_names)
    if channels is not None:
        lower = {n.lower(): n for n in raw.ch_names}
        missing = [c for c in channels if c.lower() not in lower]
        if missing:
            raise DataError(f"{path}: channel(s) {', '.join(map(repr, missing))} not found; channels are: "
                            f"{', '.join(raw.ch_names)}")
        picks = [lower[c.lower()] for c in channels]
    types = raw.get_channel_types(picks=picks)
    data = raw.get_data(picks=picks)
    ann = raw.annotations
    onset = np.asarray(ann.onset, dtype=np.float64) - raw.first_time
    return Recording(
        data=data.astype(np.float32), sfreq=float(raw.info["sfreq"]), ch_names=picks,
        ch_types=[t if t in CH_TYPES else "misc" for t in types], subject=subject, session=session,
        annotations=Annotations(onset, ann.duration, list(ann.description)), source=str(path),
        meas_date=raw.info.get("meas_date"),
    )


def sibling_events(path: Path) -> Path | None:
    """The MNE events file beside ``path`` (``x_raw.fif`` -> ``x-eve.fif``, ``x.fif`` -> ``x-eve.fif``,
    also ``.eve`` text files), or ``None``."""
    stem = path.name
    for ending in (".fif.gz", ".fif", ".vhdr", ".set", ".gdf", ".cnt", ".edf", ".bdf"):
        if stem.lower().endswith(ending):
            stem = stem[: -len(ending)]
            break
    bases = [stem] + ([stem[: -len(s)] for s in ("_raw", "-raw", "_eeg", "_meg") if stem.endswith(s)])
    for base in bases:
        for ending in ("-eve.fif", "_eve.fif", "-eve.fif.gz", "-eve.txt", ".eve"):
            cand = path.with_name(base + ending)
            if cand.is_file():
                return cand
    return None


def read_events_file(path: Path, sfreq: float, first_samp: int = 0) -> Annotations:
    """An MNE events file (``mne.read_events``) as zero-length annotations named by the event code."""
    import mne

    try:
        ev = mne.read_events(path, verbose="error")
    except (ValueError, OSError, RuntimeError, IndexError) as exc:
        raise DataError(f"{path}: unreadable events file ({' '.join(str(exc).split())[:200]})") from None
    onset = (ev[:, 0] - first_samp) / sfreq
    return Annotations(onset, np.zeros(len(ev)), [str(int(c)) for c in ev[:, 2]])


def stim_events(rec: Recording) -> Annotations:
    """Events found on the trigger channels of ``rec`` (rising edges of non-zero codes)."""
    rows = []
    for k, t in enumerate(rec.ch_types):
        if t != "stim":
            continue
        x = np.rint(rec.data[k]).astype(np.int64)
        prev = np.concatenate([[0], x[:-1]])
        at = np.where((x != prev) & (x != 0))[0]
        rows += [(i / rec.sfreq, str(int(x[i]))) for i in at]
    rows.sort()
    return Annotations([r[0] for r in rows], np.zeros(len(rows)), [r[1] for r in rows])


def _register() -> None:
    from neurorep.data.readers import register_reader

    for fmt in ("fif", "brainvision", "eeglab", "gdf", "cnt"):
        for ending in FORMATS[fmt]:
            if ending.count(".") == 1:
                register_reader(ending, read_mne)


_register()
