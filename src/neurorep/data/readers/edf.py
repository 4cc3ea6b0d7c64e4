"""EDF / EDF+ / BDF reading, Sleep-EDF hypnograms and PSG-hypnogram pairing.

EDF and EDF+ files are parsed with ``edfio`` (only the channels asked for are decoded, straight to
float32 volts); BDF goes through MNE. Hypnograms in the Sleep-EDF style are annotation-only EDF+
files whose annotations read ``Sleep stage W/1/2/3/4/R/?`` and ``Movement time``.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from neurorep.data.recording import Annotations, Recording
from neurorep.errors import DataError, closest

UNIT_SCALE = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6, "nv": 1e-9}
_TEN_TWENTY = re.compile(r"^(fp|af|f|fc|ft|c|cp|tp|t|p|po|o|a|m|i|n)(\d{1,2}|z)(-(\w+))?$", re.IGNORECASE)


def infer_ch_type(label: str) -> str:
    """Guess an MNE-style channel type from an EDF label (``EEG Fpz-Cz`` -> ``eeg``)."""
    low = label.lower().strip()
    for key, kind in (("eeg", "eeg"), ("eog", "eog"), ("emg", "emg"), ("ecg", "ecg"), ("ekg", "ecg"), ("resp", "resp")):
        if low.startswith(key) or f" {key}" in low or low.endswith(key):
            return kind
    if low.startswith(("event", "marker", "status", "trigger")):
        return "stim"
    return "eeg" if _TEN_TWENTY.match(low.replace(".", "")) else "misc"


def _open_edf(path: Path):  # type: ignore[no-untyped-def]
    import edfio

    if not path.is_file():
        raise DataError(f"{path}: file not found")
    size = path.stat().st_size
    if size < 256:
        raise DataError(f"{path}: not an EDF file (only {size} bytes; an EDF header alone is 256 bytes)")
    with path.open("rb") as fh:
        head = fh.read(256)
    if head[:8].strip() not in (b"0",):
        raise DataError(f"{path}: not an EDF file (the first 8 header bytes are {head[:8]!r}, expected '0')")
    try:
        n_signals = int(head[252:256].decode("ascii").strip())
        header_bytes = int(head[184:192].decode("ascii").strip())
        n_records = int(head[236:244].decode("ascii").strip())
    except ValueError:
        raise DataError(f"{path}: corrupt EDF header (record or signal count is not a number)") from None
    if header_bytes != 256 * (n_signals + 1):
        raise DataError(
            f"{path}: corrupt EDF header (header size {header_bytes} bytes does not fit {n_signals} signals)"
        )
    with path.open("rb") as fh:
        fh.seek(256 + n_signals * 216)
        spr_field = fh.read(8 * n_signals)
    try:
        samples = [int(spr_field[8 * i: 8 * i + 8].decode("ascii").strip()) for i in range(n_signals)]
    except ValueError:
        raise DataError(f"{path}: corrupt EDF header (samples per record is not a number)") from None
    bytes_per_sample = 3 if head[:1] == b"\xff" else 2
    expected = header_bytes + n_records * sum(samples) * bytes_per_sample
    if n_records > 0 and size < expected:
        raise DataError(
            f"{path}: truncated EDF (header promises {n_records} records = {expected} bytes, file has {size})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            edf = edfio.read_edf(path, lazy_load_data=True)
            for sig in edf.signals:  # edfio parses header fields lazily: surface a corrupt one here
                (sig.label, sig.physical_dimension, sig.sampling_frequency, sig.physical_min, sig.physical_max,
                 sig.digital_min, sig.digital_max)
            edf.duration  # noqa: B018
    except Exception as exc:  # edfio raises ValueError, IndexError, UnicodeDecodeError... on broken files
        raise DataError(f"{path}: unreadable EDF ({type(exc).__name__}: {exc})") from None
    return edf


def _to_volts(signal, path: Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Decode one edfio signal to float32 in SI units (volts for voltage channels)."""
    digital = np.asarray(signal.digital)
    dmin, dmax = signal.digital_min, signal.digital_max
    pmin, pmax = signal.physical_min, signal.physical_max
    if dmax == dmin:
        raise DataError(f"{path}: channel {signal.label!r} has digital min == max ({dmin}); cannot scale it")
    gain = (pmax - pmin) / (dmax - dmin)
    unit = UNIT_SCALE.get(signal.physical_dimension.strip().lower(), 1.0)
    out = digital.astype(np.float32)
    out -= np.float32(dmin)
    out *= np.float32(gain * unit)
    out += np.float32(pmin * unit)
    return out


def read_edf(path: str | Path, channels: list[str] | None = None, subject: str | None = None,
             session: str = "0") -> Recording:
    """Read an EDF/EDF+ (or BDF) file into a :class:`Recording`.

    Args:
        path: the file.
        channels: names to read into ``data`` (case-insensitive; the error lists the channels
            found and the closest name). They must share one sampling rate. Default: every signal
            at the most common rate; signals at other rates go to ``Recording.extra``.
        subject: subject id (default: the file stem).
        session: session id.

    Returns:
        Recording with data ``(n_channels, n_times)`` float32 in volts and the EDF+ annotations.
    """
    path = Path(path)
    if path.suffix.lower() == ".bdf":
        return _read_bdf(path, channels, subject, session)
    edf = _open_edf(path)
    signals = [s for s in edf.signals]
    if not signals:
        raise DataError(f"{path}: the file holds no signals (is it an annotation-only hypnogram?)")
    labels = [s.label.strip() for s in signals]
    if channels is None:
        rates = Counter(s.sampling_frequency for s in signals)
        main_rate = max(rates, key=lambda r: (rates[r], r))
        chosen = [i for i, s in enumerate(signals) if s.sampling_frequency == main_rate]
    else:
        chosen = [_find_label(labels, name, path) for name in channels]
        chosen_rates = {signals[i].sampling_frequency for i in chosen}
        if len(chosen_rates) > 1:
            detail = ", ".join(f"{labels[i]} {signals[i].sampling_frequency:g} Hz" for i in chosen)
            raise DataError(f"{path}: channels asked for have different sampling rates ({detail}); pick channels of one rate")
    sfreq = float(signals[chosen[0]].sampling_frequency)
    data = np.empty((len(chosen), int(round(edf.duration * sfreq))), dtype=np.float32)
    for row, i in enumerate(chosen):
        x = _to_volts(signals[i], path)
        if len(x) != data.shape[1]:
            data = data[:, : min(data.shape[1], len(x))]
            x = x[: data.shape[1]]
        data[row] = x
    extra = {}
    if channels is None:
        for i, s in enumerate(signals):
            if i not in chosen:
                extra[labels[i]] = (_to_volts(s, path), float(s.sampling_frequency))
    if not np.isfinite(data).all():
        raise DataError(f"{path}: non-finite samples in {labels[chosen[int(np.where(~np.isfinite(data))[0][0])]]!r}")
    ann = edf.annotations
    annotations = Annotations(
        [a.onset for a in ann], [a.duration or 0.0 for a in ann], [a.text for a in ann]
    )
    return Recording(
        data=data, sfreq=sfreq, ch_names=[labels[i] for i in chosen],
        ch_types=[infer_ch_type(labels[i]) for i in chosen],
        subject=subject if subject is not None else path.stem, session=session,
        annotations=annotations, extra=extra, source=str(path),
    )


def read_edf_channels_info(path: str | Path) -> list[tuple[str, float, int]]:
    """``(label, sampling rate, n_samples)`` for every signal, without decoding data."""
    path = Path(path)
    edf = _open_edf(path)
    return [(s.label.strip(), float(s.sampling_frequency), int(round(edf.duration * s.sampling_frequency)))
            for s in edf.signals]


def read_annotations_edf(path: str | Path) -> Annotations:
    """Annotations of an EDF+ file (e.g. a Sleep-EDF ``*-Hypnogram.edf``)."""
    path = Path(path)
    edf = _open_edf(path)
    try:
        ann = edf.annotations
    except Exception as exc:  # edfio decodes annotations lazily: UnicodeDecodeError, ValueError, IndexError...
        raise DataError(f"{path}: corrupt EDF+ annotations ({type(exc).__name__}: {exc})") from None
    if not ann:
        raise DataError(f"{path}: no annotations found (expected a hypnogram with 'Sleep stage ...' entries)")
    return Annotations([a.onset for a in ann], [a.duration or 0.0 for a in ann], [a.text for a in ann])


def _find_label(labels: list[str], name: str, path: Path) -> int:
    low = [lab.lower() for lab in labels]
    if name.lower() in low:
        return low.index(name.lower())
    hint = closest(name, labels)
    msg = f"{path}: channel {name!r} not found; channels are: {', '.join(labels)}"
    raise DataError(msg + (f" (did you mean {hint!r}?)" if hint else ""))


def _read_bdf(path: Path, channels: list[str] | None, subject: str | None, session: str) -> Recording:
    import mne

    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
    except Exception as exc:  # MNE raises many types for broken files
        raise DataError(f"{path}: unreadable BDF ({type(exc).__name__}: {exc})") from None
    rec = Recording.from_mne(raw, subject=subject if subject is not None else path.stem, session=session)
    rec.source = str(path)
    return rec.pick(channels) if channels is not None else rec


# ---- Sleep-EDF pairing ---------------------------------------------------------------------------

def sleep_edf_key(path: str | Path) -> str:
    """The part of a Sleep-EDF name shared by a PSG and its hypnogram (``SC4001E0-PSG`` -> ``SC4001``)."""
    stem = Path(path).name.split("-")[0]
    return stem[:6] if re.match(r"^(SC|ST)\d{4}", stem) else stem


def pair_sleep_edf(folder: str | Path) -> list[tuple[Path, Path]]:
    """Pair every ``*-PSG.edf`` in ``folder`` (recursively) with its ``*-Hypnogram.edf``.

    Sleep-EDF names differ in their last letters (``SC4001E0-PSG.edf`` / ``SC4001EC-Hypnogram.edf``),
    so files are matched on the subject-night prefix. A PSG without a hypnogram is an error that
    names it.
    """
    folder = Path(folder)
    psgs = sorted(folder.rglob("*-PSG.edf"))
    hyps: dict[str, Path] = {}
    for h in sorted(folder.rglob("*-Hypnogram.edf")):
        hyps.setdefault(sleep_edf_key(h), h)
    pairs, missing = [], []
    for p in psgs:
        h = hyps.get(sleep_edf_key(p))
        if h is None:
            missing.append(p.name)
        else:
            pairs.append((p, h))
    if missing:
        raise DataError(f"{folder}: no *-Hypnogram.edf for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return pairs


def subject_from_sleep_edf(path: str | Path) -> tuple[str, str]:
    """``(subject, night)`` from a Sleep-EDF name: ``SC4012E0`` -> ``("SC401", "2")``."""
    key = sleep_edf_key(path)
    if re.match(r"^(SC|ST)\d{4}$", key):
        return key[:5], key[5]
    return key, "0"
