"""A byte-level EDF(+)/BDF(+) writer for tests: every header field as given, so tests can write what
real writers produce and libraries refuse to (a unit in latin-1, EDF+D records with gaps, repeated
labels, a record count of -1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Sig:
    """One data signal: digital samples (all records in turn) and its header fields."""

    label: str
    digital: np.ndarray
    samples_per_record: int
    unit: bytes = b"uV"
    physical: tuple[float, float] = (-3276.8, 3276.7)
    digital_range: tuple[int, int] = (-32768, 32767)


@dataclass
class EdfSpec:
    signals: list[Sig]
    n_records: int
    record_duration: float = 1.0
    bdf: bool = False
    reserved: bytes = b""
    start: tuple[bytes, bytes] = (b"01.02.03", b"04.05.06")
    #: per record, the TAL bytes of an ``EDF Annotations`` signal (none when empty)
    tals: list[bytes] = field(default_factory=list)
    tal_bytes: int = 120
    declared_records: int | None = None


def _f(value: object, width: int) -> bytes:
    raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
    assert len(raw) <= width, (raw, width)
    return raw.ljust(width, b" ")


def write(path: Path, spec: EdfSpec) -> Path:
    """Write ``spec`` to ``path`` (EDF: int16, BDF: int24 little-endian)."""
    bps = 3 if spec.bdf else 2
    sigs = list(spec.signals)
    labels = [s.label.encode("latin-1") for s in sigs]
    units = [s.unit for s in sigs]
    spr = [s.samples_per_record for s in sigs]
    pmin = [s.physical[0] for s in sigs]
    pmax = [s.physical[1] for s in sigs]
    dmin = [s.digital_range[0] for s in sigs]
    dmax = [s.digital_range[1] for s in sigs]
    if spec.tals:
        ann_label = b"BDF Annotations" if spec.bdf else b"EDF Annotations"
        labels.append(ann_label)
        units.append(b"")
        spr.append(-(-spec.tal_bytes // bps))
        pmin.append(-1)
        pmax.append(1)
        dmin.append(-(2 ** (8 * bps - 1)))
        dmax.append(2 ** (8 * bps - 1) - 1)
    ns = len(labels)
    head = (_f(b"\xffBIOSEMI" if spec.bdf else b"0", 8) + _f("X X X X", 80) + _f("Startdate X X X X", 80)
            + _f(spec.start[0], 8) + _f(spec.start[1], 8) + _f(256 * (ns + 1), 8) + _f(spec.reserved, 44)
            + _f(spec.n_records if spec.declared_records is None else spec.declared_records, 8)
            + _f(f"{spec.record_duration:g}", 8) + _f(ns, 4))
    cols = [[_f(x, 16) for x in labels], [_f("", 80)] * ns, [_f(u, 8) for u in units],
            [_f(_num(x), 8) for x in pmin], [_f(_num(x), 8) for x in pmax], [_f(x, 8) for x in dmin],
            [_f(x, 8) for x in dmax], [_f("", 80)] * ns, [_f(x, 8) for x in spr], [_f("", 32)] * ns]
    head += b"".join(b"".join(c) for c in cols)
    body = bytearray()
    for r in range(spec.n_records):
        for s in sigs:
            chunk = np.asarray(s.digital[r * s.samples_per_record:(r + 1) * s.samples_per_record], np.int64)
            body += _encode(chunk, bps)
        if spec.tals:
            raw = spec.tals[r]
            assert len(raw) <= spr[-1] * bps
            body += raw.ljust(spr[-1] * bps, b"\x00")
    path.write_bytes(head + bytes(body))
    return path


def _num(x: float) -> str:
    """``x`` in at most 8 characters (integers as such, others with as many digits as fit)."""
    if float(x).is_integer() and len(str(int(x))) <= 8:
        return str(int(x))
    for digits in range(8, 0, -1):
        text = f"{x:.{digits}g}"
        if len(text) <= 8:
            return text
    raise ValueError(x)


def _encode(values: np.ndarray, bps: int) -> bytes:
    v = values.astype(np.int64) & ((1 << (8 * bps)) - 1)
    out = np.stack([(v >> (8 * k)) & 0xFF for k in range(bps)], axis=1).astype(np.uint8)
    return out.tobytes()


def tal(onset: float, texts: list[str] = (), duration: float | None = None) -> bytes:  # type: ignore[assignment]
    """One TAL: ``+onset[\\x15duration]\\x14text\\x14...\\x00`` (a time-keeping TAL when ``texts`` is empty)."""
    head = f"{onset:+g}".encode() + (f"\x15{duration:g}".encode() if duration is not None else b"")
    body = b"".join(t.encode("utf-8") + b"\x14" for t in texts) if texts else b"\x14"
    return head + b"\x14" + body + b"\x00"
