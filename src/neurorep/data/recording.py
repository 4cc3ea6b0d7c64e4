"""The :class:`Recording` type every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from neurorep.errors import DataError, closest

if TYPE_CHECKING:  # pragma: no cover
    import mne

CH_TYPES = ("eeg", "eog", "emg", "ecg", "mag", "grad", "resp", "misc", "stim")


@dataclass
class Annotations:
    """Time-stamped labels: onsets and durations in seconds from the recording start.

    ``orig_time`` is the start date and time of the file the annotations came from, when it gives
    one; annotations read from a separate file are aligned to the recording by it.
    """

    onset: np.ndarray
    duration: np.ndarray
    description: list[str]
    orig_time: Any = None

    def __post_init__(self) -> None:
        self.onset = np.asarray(self.onset, dtype=np.float64).reshape(-1)
        self.duration = np.asarray(self.duration, dtype=np.float64).reshape(-1)
        self.description = [str(d) for d in self.description]
        if not (len(self.onset) == len(self.duration) == len(self.description)):
            raise DataError(
                "annotations need as many onsets, durations and descriptions; got "
                f"{len(self.onset)}, {len(self.duration)} and {len(self.description)}"
            )

    @classmethod
    def empty(cls) -> Annotations:
        return cls(np.zeros(0), np.zeros(0), [])

    def __len__(self) -> int:
        return len(self.onset)

    @property
    def end(self) -> float:
        """Time (s) at which the last annotation ends (0 when empty)."""
        return float((self.onset + self.duration).max()) if len(self) else 0.0


@dataclass
class Recording:
    """A multichannel recording.

    Attributes:
        data: float32 array ``(n_channels, n_times)`` in volts (SI units).
        sfreq: sampling rate in Hz, shared by all channels of ``data``.
        ch_names: one name per channel.
        ch_types: one of :data:`CH_TYPES` per channel.
        subject: subject identifier (splits are made by subject).
        session: session or night identifier within the subject.
        annotations: time-stamped labels such as sleep stages.
        extra: other signals at their own rates, e.g. ``{"ECG": (array(n_times,), 256.0)}``.
        source: path of the file it was read from, for messages.
        meas_date: start date and time of the first sample, when the file gives it.
        segments: for recordings with gaps (EDF+D), the contiguous pieces of ``data`` as
            ``(onset s from the start, first sample, n samples)``; empty means one piece from 0 s.
            Annotation onsets are true times, so they may fall in a gap.
        unknown_units: voltage-type channels (EEG, EOG, EMG, ECG) whose unit is not a voltage
            the reader knows, ``{name: unit as written}``; their values are left in that unit.
        notes: what the reader did that a user should know (renamed duplicate labels, resampled
            channels, gaps), for ``neurorep data info``.
    """

    data: np.ndarray
    sfreq: float
    ch_names: list[str]
    ch_types: list[str]
    subject: str = "unknown"
    session: str = "0"
    annotations: Annotations = field(default_factory=Annotations.empty)
    extra: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    source: str = ""
    meas_date: Any = None
    segments: list[tuple[float, int, int]] = field(default_factory=list)
    unknown_units: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.float32)
        where = f" in {self.source}" if self.source else ""
        if self.data.ndim != 2:
            raise DataError(f"recording data must be (n_channels, n_times){where}; got shape {self.data.shape}")
        if len(self.ch_names) != self.data.shape[0]:
            raise DataError(
                f"recording has {self.data.shape[0]} channels but {len(self.ch_names)} names{where}"
            )
        if len(self.ch_types) != len(self.ch_names):
            raise DataError(f"recording has {len(self.ch_names)} channels but {len(self.ch_types)} types{where}")
        bad = [t for t in self.ch_types if t not in CH_TYPES]
        if bad:
            raise DataError(f"unknown channel type {bad[0]!r}{where}; allowed values are {', '.join(CH_TYPES)}")
        if not np.isfinite(self.sfreq) or self.sfreq <= 0:
            raise DataError(f"sampling rate must be positive{where}; got {self.sfreq}")

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_times(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration(self) -> float:
        """Seconds of data held (gaps between segments not counted)."""
        return self.n_times / self.sfreq

    @property
    def end_time(self) -> float:
        """Time (s from the start) at which the last sample ends, gaps included."""
        if not self.segments:
            return self.duration
        onset, _, n = self.segments[-1]
        return onset + n / self.sfreq

    def pieces(self) -> list[tuple[float, int, int]]:
        """Contiguous pieces as ``(onset s, first sample, n samples)``; one piece without gaps."""
        return list(self.segments) if self.segments else [(0.0, 0, self.n_times)]

    @property
    def gaps(self) -> list[tuple[float, float]]:
        """``(start s, length s)`` of every gap between segments."""
        out = []
        for (t0, _, n0), (t1, _, _) in zip(self.segments, self.segments[1:], strict=False):
            end = t0 + n0 / self.sfreq
            out.append((end, t1 - end))
        return out

    def channel_index(self, name: str) -> int:
        """Index of channel ``name``; the error lists the channels found and the closest name."""
        if name in self.ch_names:
            return self.ch_names.index(name)
        lowered = {c.lower(): i for i, c in enumerate(self.ch_names)}
        if name.lower() in lowered:
            return lowered[name.lower()]
        hint = closest(name, self.ch_names)
        where = f" in {self.source}" if self.source else ""
        msg = f"channel {name!r} not found{where}; channels are: {', '.join(self.ch_names)}"
        if hint:
            msg += f" (did you mean {hint!r}?)"
        raise DataError(msg)

    def pick(self, names: list[str]) -> Recording:
        """A new recording with only the channels ``names``, in that order."""
        idx = [self.channel_index(n) for n in names]
        return Recording(
            data=self.data[idx],
            sfreq=self.sfreq,
            ch_names=[self.ch_names[i] for i in idx],
            ch_types=[self.ch_types[i] for i in idx],
            subject=self.subject,
            session=self.session,
            annotations=self.annotations,
            extra=self.extra,
            source=self.source,
            meas_date=self.meas_date,
            segments=self.segments,
            unknown_units={self.ch_names[i]: self.unknown_units[self.ch_names[i]] for i in idx
                           if self.ch_names[i] in self.unknown_units},
            notes=self.notes,
        )

    # ---- MNE interop -------------------------------------------------------------------------
    @classmethod
    def from_mne(cls, raw: mne.io.BaseRaw, subject: str = "unknown", session: str = "0") -> Recording:
        """Build a recording from an MNE ``Raw`` (data in volts, annotations kept)."""
        types = raw.get_channel_types()
        ch_types = [t if t in CH_TYPES else "misc" for t in types]
        ann = raw.annotations
        first = raw.first_time if hasattr(raw, "first_time") else 0.0
        return cls(
            data=raw.get_data().astype(np.float32),
            sfreq=float(raw.info["sfreq"]),
            ch_names=list(raw.ch_names),
            ch_types=ch_types,
            subject=subject,
            session=session,
            annotations=Annotations(np.asarray(ann.onset) - first, ann.duration, list(ann.description)),
            source=str(raw.filenames[0]) if getattr(raw, "filenames", None) and raw.filenames[0] else "",
            meas_date=raw.info.get("meas_date"),
        )

    def to_mne(self) -> mne.io.RawArray:
        """An MNE ``RawArray`` with the same data, channel types and annotations."""
        import mne

        info = mne.create_info(self.ch_names, self.sfreq, ch_types=self.ch_types)
        raw = mne.io.RawArray(self.data.astype(np.float64), info, verbose="error")
        if len(self.annotations):
            raw.set_annotations(
                mne.Annotations(self.annotations.onset, self.annotations.duration, self.annotations.description)
            )
        return raw

    def summary(self) -> dict[str, Any]:
        """Plain-data description used by ``neurorep data info``."""
        return {
            "source": self.source,
            "subject": self.subject,
            "session": self.session,
            "channels": list(self.ch_names),
            "types": list(self.ch_types),
            "sfreq": self.sfreq,
            "duration_s": round(self.duration, 3),
            "extra": {k: sf for k, (_, sf) in self.extra.items()},
            "n_annotations": len(self.annotations),
        }

    def channel_table(self) -> list[dict[str, Any]]:
        """One row per channel, those of ``data`` and those in ``extra``, each with its own rate."""
        rows = [{"channel": n, "type": t, "sfreq": self.sfreq, "samples": self.n_times,
                 "unit": self.unknown_units.get(n, "counts" if t == "stim" else "V")}
                for n, t in zip(self.ch_names, self.ch_types, strict=True)]
        for name, (x, sf) in self.extra.items():
            if sf > 0:
                rows.append({"channel": name, "type": "other rate", "sfreq": sf, "samples": len(x), "unit": ""})
        return rows
