"""EDF / EDF+ / BDF / BDF+ reading, Sleep-EDF hypnograms and PSG-hypnogram pairing.

Files are read by :mod:`neurorep.data.readers.edf_format` (memory-mapped; only the channels asked
for are decoded, EDF and BDF alike). How a file becomes a :class:`Recording`:

* **Which channels make ``data``.** The channels asked for, in that order; channels at a lower rate
  than the highest among them are resampled to it (polyphase, anti-aliased; trigger channels by
  holding each code). Without a list: every channel at the highest rate among the EEG channels (if
  there are none, among EOG/EMG/ECG, then among all but triggers); the others go to
  ``Recording.extra`` at their own rates. A Sleep-EDF file (EEG/EOG at 100 Hz, four 1-Hz channels)
  reads EEG/EOG as data; a PSG with ECG at 256 Hz and EEG at 128 Hz reads the EEG as data.
* **Units.** Values are in volts for every voltage unit MNE accepts (``uV``, ``µV`` in any encoding,
  ``mV``, ``V``, also ``UV``/``nV``). An EEG-like channel whose unit is not a voltage keeps its
  values as written and is listed in ``Recording.unknown_units``; ``prepare`` refuses it unless told
  which unit to assume.
* **Trigger channels** (labelled ``Status`` or ``Trigger``, as MNE detects them) are typed ``stim``
  and hold the integer codes as MNE returns them (BDF: the stored integers; EDF: the physical
  values truncated to integers; low 17 bits kept), never scaled to volts.
* **Duplicate labels** are made unique as MNE does (``X-0``, ``X-1``), with a note.
* **EDF+D** files with gaps are read as segments (``Recording.segments``); annotations keep their
  true times.
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from neurorep.data.readers import edf_format as fmt
from neurorep.data.recording import Annotations, Recording
from neurorep.errors import DataError, closest

_TEN_TWENTY = re.compile(r"^(fp|af|f|fc|ft|c|cp|tp|t|p|po|o|a|m|i|n)(\d{1,2}|z)(-(\w+))?$", re.IGNORECASE)
#: Channel types whose values are voltages.
VOLTAGE_TYPES = ("eeg", "eog", "emg", "ecg")
#: Labels MNE types as trigger channels (``stim_channel="auto"``), compared in lower case.
STIM_LABELS = ("status", "trigger")
#: Trigger codes keep their low 17 bits (BioSemi's status bits above them are dropped), as in MNE.
STIM_MASK = 2**17 - 1


def infer_ch_type(label: str) -> str:
    """Guess an MNE-style channel type from an EDF label (``EEG Fpz-Cz`` -> ``eeg``, ``Status`` -> ``stim``)."""
    low = label.lower().strip()
    if low in STIM_LABELS:
        return "stim"
    for key, kind in (("eeg", "eeg"), ("eog", "eog"), ("emg", "emg"), ("ecg", "ecg"), ("ekg", "ecg"), ("resp", "resp")):
        if low.startswith(key) or f" {key}" in low or low.endswith(key):
            return kind
    return "eeg" if _TEN_TWENTY.match(low.replace(".", "")) else "misc"


def unique_labels(labels: list[str]) -> tuple[list[str], list[str]]:
    """Labels made unique as MNE does (each copy of a repeated label gets ``-0``, ``-1``, ...).

    Returns the new labels and a note per renamed label.
    """
    out = list(labels)
    notes = []
    for stem in dict.fromkeys(lab for lab in labels if labels.count(lab) > 1):
        where = [i for i, lab in enumerate(labels) if lab == stem]
        taken = set(out)
        k = 0
        for i in where:
            while f"{stem}-{k}" in taken:
                k += 1
            out[i] = f"{stem}-{k}"
            taken.add(out[i])
            k += 1
        notes.append(f"label {stem!r} appears {len(where)} times; read as {', '.join(out[i] for i in where)}")
    return out, notes


class _Channels:
    """The data signals of a header with their unique names, types and rates."""

    def __init__(self, h: fmt.EdfHeader) -> None:
        self.index = h.data_signals
        self.names, self.notes = unique_labels([h.signals[i].label for i in self.index])
        self.types = [infer_ch_type(h.signals[i].label) for i in self.index]
        self.rates = [h.rate(i) for i in self.index]
        self.header = h

    def find(self, name: str) -> int:
        """Position of channel ``name`` (case-insensitive); errors list the channels and the closest."""
        low = [n.lower() for n in self.names]
        if name.lower() in low:
            return low.index(name.lower())
        path = self.header.path
        copies = [n for n in self.names if re.fullmatch(re.escape(name.lower()) + r"-\d+", n.lower())]
        if len(copies) > 1:
            raise DataError(f"{path}: channel {name!r} appears {len(copies)} times in the file; ask for one of "
                            f"{', '.join(copies)}")
        hint = closest(name, self.names)
        msg = f"{path}: channel {name!r} not found; channels are: {', '.join(self.names)}"
        raise DataError(msg + (f" (did you mean {hint!r}?)" if hint else ""))

    def default(self) -> list[int]:
        """Every channel at the highest rate among the EEG channels; without EEG channels, among the
        other voltage channels (EOG, EMG, ECG), then among all but triggers, then among all."""
        pool = ([k for k, t in enumerate(self.types) if t == "eeg"]
                or [k for k, t in enumerate(self.types) if t in VOLTAGE_TYPES]
                or [k for k, t in enumerate(self.types) if t != "stim"] or list(range(len(self.names))))
        top = max(self.rates[k] for k in pool)
        return [k for k, r in enumerate(self.rates) if r == top]


def _decode(ch: _Channels, ks: list[int], unknown: dict[str, str],
            into: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Channels ``ks``: in volts (voltage units), as codes (stim) or as written (other units), float32
    (written into ``into[j]`` where given)."""
    h = ch.header
    factors: list[float | None] = []
    for k in ks:
        unit = h.signals[ch.index[k]].unit
        factor = fmt.volt_factor(unit)
        if factor is None and ch.types[k] in VOLTAGE_TYPES:
            unknown[ch.names[k]] = unit
        factors.append(None if ch.types[k] == "stim" else factor or 1.0)
    out = fmt.read_signals(h, [ch.index[k] for k in ks], factors, into=into)  # stim rows: digital integers
    for j, k in enumerate(ks):
        if ch.types[k] != "stim":
            continue
        # as MNE: BDF codes are the stored integers, EDF codes the physical values truncated
        codes = out[j].astype(np.int64)
        if not h.bdf:
            s = h.signals[ch.index[k]]
            codes = (codes * s.gain + (s.physical_min - s.digital_min * s.gain)).astype(np.int64)
        out[j][:] = codes & STIM_MASK
    return out


def _to_rate(x: np.ndarray, rate: float, target: float, n: int, stim: bool) -> np.ndarray:
    """``x`` from ``rate`` to ``target`` Hz, ``n`` samples long (codes are held, signals resampled)."""
    if stim:
        idx = np.minimum((np.arange(n) * rate / target).astype(np.int64), len(x) - 1)
        return x[idx]
    from scipy.signal import resample_poly

    ratio = Fraction(target / rate).limit_denominator(10_000)
    y = resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator).astype(np.float32)
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)), mode="edge")


def read_edf(path: str | Path, channels: list[str] | None = None, subject: str | None = None,
             session: str = "0") -> Recording:
    """Read an EDF/EDF+ or BDF/BDF+ file into a :class:`Recording` (see the module docstring).

    Args:
        path: the file.
        channels: names to read into ``data``, in order (case-insensitive; the error lists the
            channels found and the closest name); channels of lower rates are resampled to the
            highest among them. Default: every channel at the highest rate among the EEG channels;
            the others go to ``Recording.extra`` at their own rates.
        subject: subject id (default: the file stem).
        session: session id.

    Returns:
        Recording with ``data (n_channels, n_times)`` float32 and the EDF+ annotations.
    """
    path = Path(path)
    h = fmt.read_header(path)
    ch = _Channels(h)
    if not ch.index:
        raise DataError(f"{path}: the file holds no signals, only annotations (an annotation-only file such as "
                        "a hypnogram: `neurorep data info` summarises it)")
    chosen = ch.default() if channels is None else [ch.find(name) for name in channels]
    signal_rates = [ch.rates[k] for k in chosen if ch.types[k] != "stim"] or [ch.rates[k] for k in chosen]
    sfreq = max(signal_rates)
    n_target = int(round(h.n_records * h.record_duration * sfreq))
    notes = list(ch.notes)
    unknown: dict[str, str] = {}
    others = [k for k in range(len(ch.names)) if k not in chosen] if channels is None else []
    data = np.empty((len(chosen), n_target), dtype=np.float32)
    into = [data[row] if ch.rates[k] == sfreq else None for row, k in enumerate(chosen)] + [None] * len(others)
    decoded = _decode(ch, chosen + others, unknown, into)
    for row, (k, x) in enumerate(zip(chosen, decoded, strict=False)):
        if ch.rates[k] != sfreq:
            data[row] = _to_rate(x, ch.rates[k], sfreq, n_target, ch.types[k] == "stim")
            notes.append(f"{ch.names[k]} resampled from {ch.rates[k]:g} Hz to {sfreq:g} Hz")
    extra = {ch.names[k]: (x, float(ch.rates[k])) for k, x in zip(others, decoded[len(chosen):], strict=True)}
    onsets, tals = fmt.read_tals(h) if h.annotation_signals else (np.full(h.n_records, np.nan), [])
    pieces = fmt.segments(h, onsets)
    spr = n_target // h.n_records if h.n_records else 0
    segments = [(t0, first * spr, n * spr) for t0, first, n in pieces] if len(pieces) > 1 else []
    if segments:
        gaps = ", ".join(f"{t0:g} s" for t0, _, _ in segments[1:])
        notes.append(f"EDF+D with {len(segments)} segments (gaps before {gaps}); windows never cross a gap")
    start = _start(h, onsets)
    return Recording(
        data=data, sfreq=sfreq, ch_names=[ch.names[k] for k in chosen], ch_types=[ch.types[k] for k in chosen],
        subject=subject if subject is not None else path.stem, session=session,
        annotations=_annotations(tals, onsets, start), extra=extra, source=str(path), meas_date=start,
        segments=segments, unknown_units=unknown, notes=notes,
    )


#: The start date EDF writers put when they know none (and anonymisers put instead of the real one).
UNKNOWN_DATE = dt.date(1985, 1, 1)


def _start(h: fmt.EdfHeader, onsets: np.ndarray) -> dt.datetime | None:
    """Date and time of the first sample: the header's, plus the EDF+ sub-second start; ``None`` when
    the header gives none or gives EDF's placeholder date 01.01.85."""
    if h.start is None or h.start.date() == UNKNOWN_DATE:
        return None
    sub = float(onsets[0]) if len(onsets) and np.isfinite(onsets[0]) else 0.0
    return h.start + dt.timedelta(seconds=sub)


def _annotations(tals: list[fmt.Tal], onsets: np.ndarray, start: dt.datetime | None) -> Annotations:
    """One annotation per non-empty text, onsets in seconds from the first sample."""
    t0 = float(onsets[0]) if len(onsets) and np.isfinite(onsets[0]) else 0.0
    rows = [(t.onset - t0, t.duration or 0.0, text) for t in tals for text in t.texts if text]
    rows.sort(key=lambda r: r[0])
    return Annotations([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], orig_time=start)


def read_edf_channels_info(path: str | Path) -> list[tuple[str, float, int]]:
    """``(label, sampling rate, n_samples)`` for every signal (labels made unique), without decoding data."""
    ch = _Channels(fmt.read_header(Path(path)))
    h = ch.header
    return [(n, float(r), h.n_records * h.signals[i].samples_per_record)
            for n, r, i in zip(ch.names, ch.rates, ch.index, strict=True)]


def describe_edf(path: str | Path) -> dict[str, object]:
    """What ``neurorep data info`` shows of an EDF/BDF file, from its header and annotations only.

    Every channel with its own rate, unit and type; gaps of EDF+D files; unknown units and other
    notes as warnings; annotation counts. Annotation-only files (hypnograms) are described too.
    """
    path = Path(path)
    h = fmt.read_header(path)
    ch = _Channels(h)
    onsets, tals = fmt.read_tals(h) if h.annotation_signals else (np.full(h.n_records, np.nan), [])
    pieces = fmt.segments(h, onsets)
    warnings = list(ch.notes)
    rows = []
    for name, kind, rate, i in zip(ch.names, ch.types, ch.rates, ch.index, strict=True):
        unit = h.signals[i].unit
        if h.signals[i].digital_min == h.signals[i].digital_max:
            raise DataError(f"{path}: channel {name!r} has digital min == max ({h.signals[i].digital_min}); "
                            "cannot scale it")
        if kind in VOLTAGE_TYPES and fmt.volt_factor(unit) is None:
            warnings.append(f"{name}: unit {unit!r} is not a voltage neurorep knows; `prepare` needs "
                            "--assume-unit to scale it")
        rows.append({"channel": name, "type": kind, "sfreq": round(rate, 6), "unit": unit,
                     "samples": h.n_records * h.signals[i].samples_per_record})
    gaps = []
    for (t0, r0, n0), (t1, _, _) in zip(pieces, pieces[1:], strict=False):
        end = t0 + n0 * h.record_duration
        gaps.append({"at_s": round(end, 6), "length_s": round(t1 - end, 6)})
    ann = _annotations(tals, onsets, None)
    kind = "annotations only" if not ch.index else ("BDF" if h.bdf else "EDF") + ("+" if h.is_plus else "")
    out: dict[str, object] = {"file": str(path), "kind": kind, "start": str(_start(h, onsets) or "unknown")}
    if ch.index:
        out.update({"duration_s": round(pieces[-1][0] + pieces[-1][2] * h.record_duration, 6) if pieces else 0.0,
                    "channels_table": rows})
    if gaps:
        out["gaps"] = gaps
    out["annotations"] = len(ann)
    if len(ann):
        counts: dict[str, int] = {}
        for d in ann.description:
            counts[d] = counts.get(d, 0) + 1
        out["annotation_counts"] = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:20])
    if warnings:
        out["warnings"] = warnings
    return out


def edf_start(path: str | Path) -> dt.datetime | None:
    """Date and time of the first sample of an EDF/BDF file (EDF+ sub-second start included)."""
    h = fmt.read_header(Path(path))
    onsets = fmt.read_tals(h)[0] if h.annotation_signals else np.full(h.n_records, np.nan)
    return _start(h, onsets)


def read_annotations_edf(path: str | Path) -> Annotations:
    """Annotations of an EDF+/BDF+ file (e.g. a Sleep-EDF ``*-Hypnogram.edf``), onsets from its first sample."""
    path = Path(path)
    h = fmt.read_header(path)
    if not h.annotation_signals:
        raise DataError(f"{path}: no annotation channel (expected an EDF+ file with 'Sleep stage ...' entries)")
    onsets, tals = fmt.read_tals(h)
    ann = _annotations(tals, onsets, _start(h, onsets))
    if not len(ann):
        raise DataError(f"{path}: no annotations found (expected a hypnogram with 'Sleep stage ...' entries)")
    return ann


def align_annotations(rec: Recording, ann: Annotations, labels_path: str | Path) -> Annotations:
    """``ann`` (read from another file) on the time axis of ``rec``, by both files' start times.

    Equal start times, or a file that gives none, leave the onsets as they are (the two are taken to
    start together). A label file that starts later or earlier is shifted by the difference; one
    whose start lies outside the recording is refused as belonging to another recording.
    """
    shifted, note = shift_to(ann, rec.meas_date, rec.end_time, labels_path, rec.source)
    if note:
        rec.notes.append(note)
    return shifted


def shift_to(ann: Annotations, start: dt.datetime | None, end_time: float, labels_path: str | Path,
             source: str = "") -> tuple[Annotations, str]:
    """``ann`` moved onto a recording that starts at ``start`` and lasts ``end_time`` s, with a note
    when they were shifted (see :func:`align_annotations`)."""
    if ann.orig_time is None or start is None:
        return ann, ""
    offset = (ann.orig_time - start).total_seconds()
    if abs(offset) < 1e-6:
        return ann, ""
    if not -end_time < offset < end_time:
        raise DataError(f"{labels_path}: its start time ({ann.orig_time}) is {offset:+.0f} s from the start of "
                        f"{source or 'the recording'} ({start}), outside the recording; is it from another "
                        "recording?")
    note = f"labels of {Path(labels_path).name} start {offset:+g} s from the recording; shifted to match"
    return Annotations(ann.onset + offset, ann.duration, ann.description, orig_time=start), note


# ---- Sleep-EDF pairing ---------------------------------------------------------------------------

def sleep_edf_key(path: str | Path) -> str:
    """The part of a Sleep-EDF name shared by a PSG and its hypnogram (``SC4001E0-PSG`` -> ``SC4001``)."""
    stem = Path(path).name.split("-")[0]
    return stem[:6] if re.match(r"^(SC|ST)\d{4}", stem) else stem


def pair_sleep_edf(folder: str | Path) -> list[tuple[Path, Path]]:
    """Pair every ``<id>-PSG.edf`` in ``folder`` (recursively) with its ``<id'>-Hypnogram.edf``.

    Sleep-EDF names differ in their last letters (``SC4001E0-PSG.edf`` / ``SC4001EC-Hypnogram.edf``):
    a hypnogram belongs to a PSG when their ids have the same length and differ at most in their last
    two characters, whatever the prefix (``SC``, ``ST`` or any other). The closest id wins (same id,
    then all but the last character equal, then all but the last two). A PSG without a hypnogram, or
    with two equally close ones, and a hypnogram claimed by two PSGs are errors that name the files.
    """
    folder = Path(folder)
    psgs = sorted(folder.rglob("*-PSG.edf"))
    hyps = sorted(folder.rglob("*-Hypnogram.edf"))
    hyp_ids = [(h.name[: -len("-Hypnogram.edf")], h) for h in hyps]
    pairs, missing, owner = [], [], {}
    for p in psgs:
        pid = p.name[: -len("-PSG.edf")]
        best = None
        for drop in range(min(2, len(pid) - 1) + 1):  # 0, 1 or 2 trailing characters may differ
            found = [h for hid, h in hyp_ids if len(hid) == len(pid) and hid[: len(hid) - drop] == pid[: len(pid) - drop]]
            if len(found) > 1:
                raise DataError(f"{p}: {len(found)} hypnograms match it equally ({', '.join(h.name for h in found)}); "
                                "keep one")
            if found:
                best = found[0]
                break
        if best is None:
            missing.append(p.name)
            continue
        if best in owner:
            raise DataError(f"{best}: hypnogram matches two recordings, {owner[best].name} and {p.name}; rename one")
        owner[best] = p
        pairs.append((p, best))
    if missing:
        raise DataError(f"{folder}: no *-Hypnogram.edf for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return pairs


def subject_from_sleep_edf(path: str | Path) -> tuple[str, str]:
    """``(subject, night)`` from a Sleep-EDF name: ``SC4012E0`` -> ``("SC401", "2")``."""
    key = sleep_edf_key(path)
    if re.match(r"^(SC|ST)\d{4}$", key):
        return key[:5], key[5]
    return key, "0"
