"""The EDF / EDF+ / BDF / BDF+ file format: header, memory-mapped data records, TAL annotations.

Both formats share one layout (a 256-byte file header, 256 bytes per signal, then data records
holding ``samples_per_record`` samples of every signal in turn); EDF stores 16-bit and BDF 24-bit
little-endian two's-complement integers. The data records are read in chunks of a few MB and only
the signals asked for are decoded, in one pass, straight to float32: memory stays at the output
plus one chunk, for EDF and BDF alike.

Header text is decoded as latin-1 (every byte maps to one character, as MNE does), so a unit written
with the latin-1 micro sign (byte ``0xB5``) reads ``µV``. EDF+ annotations (TALs) are UTF-8, as the
EDF+ specification says. The first TAL of every data record of the first annotation signal is the
record's start time; :func:`record_onsets` returns those, which is how EDF+D files with gaps are
read as segments.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from neurorep.errors import DataError

ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")

#: Physical dimensions of voltage, normalised (lower case, micro signs as ``u``) -> factor to volts.
VOLT_UNITS = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "nv": 1e-9}
#: Spellings of "micro" met in EDF headers once decoded as latin-1: the micro sign (0xB5), the Greek
#: mu, both written as UTF-8 bytes, and the Shift-JIS mu (0x83 0xCA).
_MICRO = ("\u00c2\u00b5", "\u00ce\u00bc", "\u00b5", "\u03bc", "\x83\u00ca", "\x83\u00ea")


def volt_factor(unit: str) -> float | None:
    """Factor that turns values in ``unit`` into volts, or ``None`` when ``unit`` is not a voltage.

    Every spelling MNE accepts (``uV``, ``µV`` with either micro character, the Shift-JIS mu, ``mV``)
    is accepted, case-insensitively (DREAMS writes ``UV``), plus ``V`` and ``nV``.
    """
    u = unit.strip()
    for m in _MICRO:
        u = u.replace(m, "u")
    return VOLT_UNITS.get(u.lower())


@dataclass(frozen=True)
class SignalHeader:
    """One signal's header fields (``label`` and ``unit`` as written, stripped)."""

    label: str
    transducer: str
    unit: str
    physical_min: float
    physical_max: float
    digital_min: int
    digital_max: int
    prefilter: str
    samples_per_record: int
    offset: int  # first sample of this signal within a data record

    @property
    def is_annotation(self) -> bool:
        return self.label in ANNOTATION_LABELS

    @property
    def gain(self) -> float:
        """Physical units per digital step."""
        return (self.physical_max - self.physical_min) / (self.digital_max - self.digital_min)


@dataclass(frozen=True)
class EdfHeader:
    """A parsed EDF/BDF header, checked against the file's size."""

    path: Path
    bdf: bool
    reserved: str  # "EDF+C", "EDF+D", "BDF+C", ... or free text for plain EDF
    start: dt.datetime | None
    header_bytes: int
    n_records: int
    record_duration: float
    signals: tuple[SignalHeader, ...]

    @property
    def bytes_per_sample(self) -> int:
        return 3 if self.bdf else 2

    @cached_property
    def record_samples(self) -> int:
        return sum(s.samples_per_record for s in self.signals)

    @property
    def is_plus(self) -> bool:
        return self.reserved.startswith(("EDF+", "BDF+"))

    @property
    def declared_discontinuous(self) -> bool:
        return self.reserved.startswith(("EDF+D", "BDF+D"))

    @property
    def duration(self) -> float:
        """Seconds of data stored (records x record duration; gaps of EDF+D not counted)."""
        return self.n_records * self.record_duration

    def rate(self, i: int) -> float:
        """Sampling rate (Hz) of signal ``i``."""
        if self.record_duration <= 0:
            return 0.0
        return self.signals[i].samples_per_record / self.record_duration

    @property
    def data_signals(self) -> list[int]:
        """Indices of the signals that are not annotation channels."""
        return [i for i, s in enumerate(self.signals) if not s.is_annotation]

    @property
    def annotation_signals(self) -> list[int]:
        return [i for i, s in enumerate(self.signals) if s.is_annotation]


def _field(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _number(raw: bytes, what: str, path: Path, kind: type = float) -> float:
    text = _field(raw)
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{path}: corrupt EDF header ({what} {text!r} is not a number)") from None
    if not math.isfinite(value) or abs(value) > 2.0**53:
        raise DataError(f"{path}: corrupt EDF header ({what} is {text!r})")
    return int(value) if kind is int else value


def _start_time(date: str, time: str) -> dt.datetime | None:
    """The header start date and time (``dd.mm.yy`` / ``hh.mm.ss``; years 85-99 are 19xx)."""
    m_d = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", date)
    m_t = re.fullmatch(r"(\d\d)[.:](\d\d)[.:](\d\d)", time)
    if not (m_d and m_t):
        return None
    day, month, year = (int(v) for v in m_d.groups())
    year += 1900 if year >= 85 else 2000
    try:
        return dt.datetime(year, month, day, *(int(v) for v in m_t.groups()))
    except ValueError:
        return None


def read_header(path: str | Path) -> EdfHeader:
    """Parse and check the header of an EDF/BDF file (no data is read).

    Raises :class:`DataError` naming the file for anything that is not a well-formed EDF/BDF header,
    or when the file holds fewer bytes than the header promises.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    size = path.stat().st_size
    if size < 256:
        raise DataError(f"{path}: not an EDF file (only {size} bytes; an EDF header alone is 256 bytes)")
    with path.open("rb") as fh:
        head = fh.read(256)
        version = head[:8]
        if version == b"\xffBIOSEMI":
            bdf = True
        elif version.strip() == b"0":
            bdf = False
        else:
            raise DataError(f"{path}: not an EDF file (the first 8 header bytes are {version!r}, expected '0' "
                            "or '\\xffBIOSEMI')")
        n_signals = int(_number(head[252:256], "signal count", path, int))
        header_bytes = int(_number(head[184:192], "header size", path, int))
        if n_signals < 0 or header_bytes != 256 * (n_signals + 1):
            raise DataError(f"{path}: corrupt EDF header (header size {header_bytes} bytes does not fit "
                            f"{n_signals} signals)")
        if size < header_bytes:
            raise DataError(f"{path}: truncated EDF header ({size} bytes, the header alone needs {header_bytes})")
        sig = fh.read(256 * n_signals)
    n_records = int(_number(head[236:244], "record count", path, int))
    record_duration = _number(head[244:252], "record duration", path)
    if record_duration < 0:
        raise DataError(f"{path}: corrupt EDF header (negative record duration {record_duration})")

    def col(start: int, width: int) -> list[bytes]:
        base = start * n_signals
        return [sig[base + i * width: base + (i + 1) * width] for i in range(n_signals)]

    widths = [16, 80, 8, 8, 8, 8, 8, 80, 8]
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).tolist()
    cols = [col(s, w) for s, w in zip(starts, widths, strict=True)]
    signals, offset = [], 0
    for i in range(n_signals):
        label = _field(cols[0][i])
        spr = int(_number(cols[8][i], f"samples per record of signal {i + 1}", path, int))
        if spr < 0:
            raise DataError(f"{path}: corrupt EDF header (signal {label!r} has {spr} samples per record)")
        dmin = int(_number(cols[5][i], f"digital minimum of {label!r}", path, int))
        dmax = int(_number(cols[6][i], f"digital maximum of {label!r}", path, int))
        s = SignalHeader(label=label, transducer=_field(cols[1][i]), unit=_field(cols[2][i]),
                         physical_min=_number(cols[3][i], f"physical minimum of {label!r}", path),
                         physical_max=_number(cols[4][i], f"physical maximum of {label!r}", path),
                         digital_min=dmin, digital_max=dmax, prefilter=_field(cols[7][i]),
                         samples_per_record=spr, offset=offset)
        signals.append(s)
        offset += spr
    data = [s for s in signals if not s.is_annotation]
    if data and record_duration == 0:
        raise DataError(f"{path}: corrupt EDF header (record duration 0 s, but the file holds signals)")
    empty = [s.label for s in data if s.samples_per_record == 0]
    if empty:
        raise DataError(f"{path}: corrupt EDF header (signal {empty[0]!r} has 0 samples per record)")
    h = EdfHeader(path=path, bdf=bdf, reserved=_field(head[192:236]),
                  start=_start_time(_field(head[168:176]), _field(head[176:184])), header_bytes=header_bytes,
                  n_records=n_records, record_duration=record_duration, signals=tuple(signals))
    record_bytes = h.record_samples * h.bytes_per_sample
    available = (size - header_bytes) // record_bytes if record_bytes else 0
    if n_records == -1:  # allowed while recording: the count is what the file holds
        h = replace(h, n_records=int(available))
    elif n_records < 0:
        raise DataError(f"{path}: corrupt EDF header (record count {n_records})")
    elif available < n_records:
        expected = header_bytes + n_records * record_bytes
        raise DataError(f"{path}: truncated EDF (header promises {n_records} records = {expected} bytes, "
                        f"file has {size})")
    return h


#: Bytes of data records read at a time: memory stays bounded whatever the file's size.
CHUNK_BYTES = 8 * 2**20


def iter_records(h: EdfHeader) -> Iterator[tuple[int, np.ndarray]]:
    """``(first record, raw)`` chunks of about :data:`CHUNK_BYTES`: ``raw`` is one zero byte followed by
    whole data records (the leading byte lets :func:`_block` read 24-bit samples as 4-byte words)."""
    record_bytes = h.record_samples * h.bytes_per_sample
    if h.n_records == 0 or record_bytes == 0:
        return
    per = max(1, CHUNK_BYTES // record_bytes)
    with h.path.open("rb") as fh:
        fh.seek(h.header_bytes)
        for r0 in range(0, h.n_records, per):
            n = min(per, h.n_records - r0)
            raw = np.zeros(n * record_bytes + 1, np.uint8)
            if fh.readinto(memoryview(raw)[1:]) != n * record_bytes:
                raise DataError(f"{h.path}: truncated EDF (the file ended inside data records {r0 + 1}-{r0 + n})")
            yield r0, raw


def _records(h: EdfHeader, raw: np.ndarray) -> np.ndarray:
    """The records of a chunk as ``(n, record bytes)`` uint8."""
    record_bytes = h.record_samples * h.bytes_per_sample
    return raw[1:].reshape(-1, record_bytes)


def _block(h: EdfHeader, i: int, raw: np.ndarray) -> np.ndarray:
    """Digital samples of signal ``i`` in a chunk: ``(n records, samples per record)``, int16 (EDF, a
    view) or int32 (BDF)."""
    s = h.signals[i]
    if not h.bdf:
        recs = _records(h, raw)
        return recs[:, s.offset * 2: (s.offset + s.samples_per_record) * 2].view("<i2")
    record_bytes = h.record_samples * 3
    n = (len(raw) - 1) // record_bytes
    # Each sample's 3 bytes, read with the byte before them as one little-endian int32 (the sample in
    # the top 24 bits); an arithmetic shift by 8 drops the extra byte and keeps the sign.
    words = np.ndarray((n, s.samples_per_record), dtype="<i4", buffer=raw, offset=s.offset * 3,
                       strides=(record_bytes, 3))
    return words >> 8


def read_signals(h: EdfHeader, picks: list[int], scales: list[float | None], dtype: type = np.float32,
                 into: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Signals ``picks`` in one pass over the file, all records in turn.

    ``scales[k]`` multiplies the physical value of ``picks[k]`` (e.g. the factor to volts); ``None``
    returns the digital integers (int64) instead. Physical values are
    ``digital * gain + (pmin - dmin * gain)``, computed in ``dtype``. ``into[k]``, when given, is a
    contiguous array of the right length and dtype that receives signal ``k`` (no copy).
    """
    for i in picks:
        s = h.signals[i]
        if s.digital_max == s.digital_min:
            raise DataError(f"{h.path}: channel {s.label!r} has digital min == max ({s.digital_min}); "
                            "cannot scale it")
    into = into or [None] * len(picks)
    outs = [np.empty((h.n_records, h.signals[i].samples_per_record), np.int64 if sc is None else dtype)
            if dest is None else dest.reshape(h.n_records, h.signals[i].samples_per_record)
            for i, sc, dest in zip(picks, scales, into, strict=True)]
    for r0, raw in iter_records(h):
        for out, i, sc in zip(outs, picks, scales, strict=True):
            dig = _block(h, i, raw)
            dest = out[r0: r0 + len(dig)]
            if sc is None:
                dest[:] = dig
                continue
            s = h.signals[i]
            np.multiply(dig, dtype(s.gain * sc), out=dest, casting="unsafe")
            dest += dtype((s.physical_min - s.digital_min * s.gain) * sc)
    return [o.reshape(-1) for o in outs]


@dataclass(frozen=True)
class Tal:
    """One time-stamped annotation list: onset (s from the file start), duration, texts."""

    onset: float
    duration: float | None
    texts: tuple[str, ...]


_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14\x00", re.DOTALL)


def parse_tals(raw: bytes, where: str) -> list[Tal]:
    """Every TAL in the bytes of one data record of an annotation signal."""
    out = []
    for m in _TAL.finditer(raw):
        onset_b, dur_b, texts_b = m.groups()
        texts = tuple(t.decode("utf-8", errors="replace") for t in texts_b.split(b"\x14"))
        out.append(Tal(float(onset_b), float(dur_b) if dur_b else None, texts))
    if raw.strip(b"\x00") and not out:
        raise DataError(f"{where}: corrupt EDF+ annotations (a data record holds no readable TAL)")
    return out


def read_tals(h: EdfHeader) -> tuple[np.ndarray, list[Tal]]:
    """``(record onsets (s), annotations)`` of an EDF+/BDF+ file.

    The record onsets come from the first TAL of each record of the first annotation signal
    (``nan`` where a record has none: plain EDF); annotation onsets stay relative to the file's start
    date and time, as written.
    """
    onsets = np.full(h.n_records, np.nan)
    notes: list[Tal] = []
    b = h.bytes_per_sample
    for r0, raw in iter_records(h):
        buf = _records(h, raw)
        for k, i in enumerate(h.annotation_signals):
            s = h.signals[i]
            block = buf[:, s.offset * b: (s.offset + s.samples_per_record) * b]
            for r in range(len(block)):
                tals = parse_tals(block[r].tobytes(), f"{h.path} (record {r0 + r + 1})")
                if k == 0 and tals:
                    onsets[r0 + r] = tals[0].onset
                notes.extend(t for t in tals if any(x for x in t.texts))
    return onsets, notes


def segments(h: EdfHeader, onsets: np.ndarray) -> list[tuple[float, int, int]]:
    """Contiguous runs of records: ``(onset s from the first record, first record, n records)``.

    Records follow each other when each starts where the previous one ends (within a microsecond);
    a record that starts before the previous one ends is an error.
    """
    if h.n_records == 0:
        return []
    if np.isnan(onsets).any() or h.record_duration == 0:
        return [(0.0, 0, h.n_records)]
    rel = onsets - onsets[0]
    out = [(0.0, 0, 1)]
    for r in range(1, h.n_records):
        expected = rel[r - 1] + h.record_duration
        if rel[r] < expected - 1e-6:
            raise DataError(f"{h.path}: data record {r + 1} starts at {rel[r]:.6f} s, before record {r} ends "
                            f"({expected:.6f} s); the EDF+ time stamps overlap")
        if rel[r] > expected + 1e-6:
            out.append((float(rel[r]), r, 1))
        else:
            t0, first, n = out[-1]
            out[-1] = (t0, first, n + 1)
    return out
