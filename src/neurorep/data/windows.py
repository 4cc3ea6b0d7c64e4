"""Cutting a labelled recording into fixed-length, preprocessed windows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from neurorep.data.filtering import butter_sos, sosfiltfilt
from neurorep.data.labels import check_annotations, epoch_labels, get_scheme
from neurorep.data.recording import Annotations, Recording
from neurorep.errors import DataError


class PrepareConfig(BaseModel):
    """How recordings become windows. Part of the cache key: any change makes a new cache."""

    model_config = ConfigDict(extra="forbid")

    channels: list[str] | None = Field(None, description="channel names; default: the dataset's default channels")
    window_s: float = Field(30.0, gt=0, description="window length in seconds, aligned to the scoring")
    sfreq: float | None = Field(100.0, gt=0, description="resample to this rate (Hz); null keeps the native rate")
    l_freq: float | None = Field(0.3, ge=0, description="band-pass low edge (Hz); null for none")
    h_freq: float | None = Field(35.0, gt=0, description="band-pass high edge (Hz); null for none")
    scaling: Literal["robust", "zscore", "none"] = "robust"
    scheme: str = Field("aasm5", description="label scheme: aasm5, 4class or 3class")
    trim_wake_min: float | None = Field(30.0, ge=0, description="keep this much wake before/after sleep; null keeps all")
    min_coverage: float = Field(0.5, gt=0, le=1, description="least share of a window its label must cover")
    keep_unlabelled: bool = Field(False, description="keep windows without a stage label (y = -1)")
    min_hypnogram_coverage: float = Field(
        0.5, ge=0, le=1, description="least share of the PSG its hypnogram must span (0 accepts any); "
        "a shorter hypnogram is taken for a truncated file or one from another night")
    assume_unit: Literal["V", "mV", "uV", "nV"] | None = Field(
        None, description="unit of EEG/EOG/EMG/ECG channels whose file gives no voltage unit; "
        "without it such channels are refused")
    # ---- any recording (the ``files`` and ``bids`` sources, see neurorep.data.generic) ----
    format: str = Field("auto", description="file format: auto, edf, bdf, fif, brainvision, eeglab, gdf, cnt, csv, "
                        "bids")
    events: list[tuple[str, str]] | None = Field(
        None, description="class name and event code or annotation text, in class order (NAME=CODE)")
    tmin: float | None = Field(None, description="event-locked windows start this many seconds after each event")
    tmax: float | None = Field(None, description="event-locked windows end this many seconds after each event")
    stride_s: float | None = Field(None, gt=0, description="step between fixed windows (s); default: window_s")
    vote: Literal["coverage", "majority"] = Field(
        "coverage", description="fixed windows from annotations: coverage (the class must cover min_coverage "
        "of the window) or majority (the class covering most of it)")
    label_from_path: str | None = Field(None, description="regex with a named group 'label' on each file's path")
    labels_csv: str | None = Field(None, description="CSV of file[,onset],label rows")
    subject_from_path: str | None = Field(None, description="regex with a named group 'subject' on each path")
    session_from_path: str | None = Field(None, description="regex with a named group 'session' on each path")
    csv_rate: float | None = Field(None, gt=0, description="sampling rate (Hz) of CSV tables of samples")
    label_column: str | None = Field(None, description="CSV tables of samples: the column holding each sample's label")

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        get_scheme(v)
        return v


@dataclass
class Windows:
    """Windows of one recording: ``x (n, C, T)`` float32, ``y (n,)`` int64 (-1 unlabelled), ``onset (n,)`` s."""

    x: np.ndarray
    y: np.ndarray
    onset: np.ndarray
    sfreq: float
    ch_names: list[str]
    dropped: Counter[str] = field(default_factory=Counter)
    #: per-window arrays (first axis ``n``), e.g. soft labels; stored beside ``x`` and given as sample keys
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    #: per-recording arrays of any shape, e.g. the whole preprocessed signal; stored beside ``x``
    whole: dict[str, np.ndarray] = field(default_factory=dict)


#: Smallest ``edge / sfreq`` filtered with float32 second-order sections. At or above it the float32
#: filter stays within 3e-4 (RMS, relative) of the float64 one (measured: 3e-5 for 0.3 Hz at 100 Hz,
#: 1.3e-4 at 256 Hz; ``tests/data/test_windows_numeric.py``); below it (0.3 Hz at 512 Hz, 0.1 Hz at
#: 1 kHz) float32 poles sit too close to 1 and the filter runs in float64.
FLOAT32_MIN_EDGE = 1e-3


def bandpass(data: np.ndarray, sfreq: float, l_freq: float | None, h_freq: float | None) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass of ``data (..., T)`` (returns float32).

    Second-order sections, forward and backward, one row (channel) at a time so that the working
    set is one channel; float32 sections unless the lowest edge is below ``FLOAT32_MIN_EDGE * sfreq``.
    The design and the recursion come from :mod:`neurorep.data.filtering` (``scipy.signal``'s, without
    its import). Returns ``data`` itself when there is nothing to filter.
    """
    nyq = sfreq / 2
    hi = h_freq if h_freq is not None and h_freq < nyq * 0.99 else None
    lo = l_freq if l_freq else None
    if lo is None and hi is None:
        return data
    edge = lo if lo is not None else hi
    dtype = np.float32 if edge / sfreq >= FLOAT32_MIN_EDGE else np.float64
    return sosfiltfilt(butter_sos(4, lo, hi, sfreq), data, dtype)


def resample(data: np.ndarray, sfreq: float, target: float | None) -> tuple[np.ndarray, float]:
    """Polyphase resampling of ``data (C, T)`` from ``sfreq`` to ``target`` (anti-aliased), float32."""
    if target is None or abs(target - sfreq) < 1e-9:
        return data, sfreq
    ratio = Fraction(target / sfreq).limit_denominator(1000)
    from scipy.signal import resample_poly  # ~1 s to import: only when the rate changes

    out = resample_poly(np.asarray(data, np.float32), ratio.numerator, ratio.denominator, axis=-1)
    return out.astype(np.float32, copy=False), sfreq * ratio.numerator / ratio.denominator


#: Size of the sample long rows take their brackets from (every ``n // SAMPLE_SIZE``-th value) and the
#: margin in sample ranks each side of a wanted rank: 6 standard deviations of a sample rank's spread
#: (sqrt(m) / 2 at most), wide enough that a bracket of a random sample misses about once in 10^9.
SAMPLE_SIZE = 65_536
SAMPLE_MARGIN = 3 * int(np.sqrt(SAMPLE_SIZE))
#: Rows at least this long find their order statistics through the sample (see :func:`order_statistics`).
SAMPLED_SELECTION_MIN = 4 * SAMPLE_SIZE
_BLOCK = 1 << 16


def order_statistics(row: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """The ``ks``-th smallest values (0-based ranks, sorted) of the 1-D ``row`` without NaN; exactly
    ``np.partition(row, ks)[ks]``.

    Long rows avoid partitioning everything: a strided sample of :data:`SAMPLE_SIZE` values gives,
    for each run of neighbouring ranks, a bracket of values ``[lo, hi]`` wide enough to hold them
    (the sample rank :data:`SAMPLE_MARGIN` below and above); one pass counts the values below ``lo``
    and keeps those inside, and a partition of those few gives the exact order statistics. The
    sample only decides the speed: a bracket that misses its ranks (a signal periodic in the stride,
    many ties) is seen from the counts and that run is found by partitioning the whole row.
    """
    n = len(row)
    if n < SAMPLED_SELECTION_MIN:
        return np.partition(row, ks)[ks]
    sample = np.sort(row[:: n // SAMPLE_SIZE])
    m = len(sample)
    runs = [r.tolist() for r in np.split(np.arange(len(ks)), np.where(np.diff(ks) > 1)[0] + 1)]
    bounds = []
    for run in runs:
        j0 = int(ks[run[0]] / (n - 1) * (m - 1)) - SAMPLE_MARGIN
        j1 = int(np.ceil(ks[run[-1]] / (n - 1) * (m - 1))) + SAMPLE_MARGIN
        bounds.append((sample[max(j0, 0)], sample[min(j1, m - 1)]))
    # one pass in cache-sized blocks: count the values below each bracket, keep those inside any
    n_below, n_upto = np.zeros(len(runs), np.int64), np.zeros(len(runs), np.int64)
    below, upto, keep = (np.empty(min(n, _BLOCK), bool) for _ in range(3))
    near = []
    for start in range(0, n, _BLOCK):
        blk = row[start: start + _BLOCK]
        b, u, k = below[: len(blk)], upto[: len(blk)], keep[: len(blk)]
        k.fill(False)
        for j, (lo, hi) in enumerate(bounds):
            np.less(blk, lo, out=b)
            n_below[j] += np.count_nonzero(b)
            np.less_equal(blk, hi, out=u)
            n_upto[j] += np.count_nonzero(u)
            np.logical_xor(u, b, out=u)  # lo <= value <= hi
            np.logical_or(k, u, out=k)
        near.append(blk[k])
    values = np.concatenate(near)
    out = np.empty(len(ks), row.dtype)
    for run, (lo, hi), nb, nu in zip(runs, bounds, n_below.tolist(), n_upto.tolist(), strict=True):
        if nb <= ks[run[0]] and ks[run[-1]] < nu:
            local = ks[run] - nb
            out[run] = np.partition(values[(values >= lo) & (values <= hi)], local)[local]
        else:  # the sample missed these ranks: partition the whole row for them
            out[run] = np.partition(row, ks[run])[ks[run]]
    return out


def quantiles(data: np.ndarray, q: list[float]) -> np.ndarray:
    """Per-row quantiles ``(C, len(q))`` of ``data (C, T)``, equal to ``np.percentile(data, 100 * q, axis=1)``.

    The same linear interpolation between order statistics, found by :func:`order_statistics` one row
    at a time (linear time, no sort, no copy of the whole array). A row holding NaN gives NaN, as
    ``np.percentile`` does.
    """
    rows = np.asarray(data)
    n = rows.shape[1]
    if n == 0:
        raise ValueError("quantiles of an empty row")
    pos = np.asarray(q, np.float64) * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    t = pos - lo
    kth = np.array(sorted({*lo.tolist(), *hi.tolist()}), np.intp)  # (np.unique would import numpy.ma)
    out = np.empty((rows.shape[0], len(pos)), np.float64)
    for i, row in enumerate(rows):
        if np.isnan(row.max()):
            out[i] = np.nan
            continue
        stats = order_statistics(row, kth)
        a, b = stats[np.searchsorted(kth, lo)], stats[np.searchsorted(kth, hi)]
        diff = (b - a).astype(np.float64)  # in the data's type, as np.percentile does
        a, b = a.astype(np.float64), b.astype(np.float64)
        out[i] = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
    return out


def scale_stats(data: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel centre and spread of ``data (C, T)``: median / IQR (robust), mean / sd (zscore) or 0 / 1."""
    if how == "none":
        return np.zeros((data.shape[0], 1), np.float32), np.ones((data.shape[0], 1), np.float32)
    if how == "robust":
        q25, med, q75 = quantiles(data, [0.25, 0.5, 0.75]).T[..., None]
        spread = q75 - q25
    else:
        med = data.mean(axis=1, keepdims=True)
        spread = data.std(axis=1, keepdims=True)
    spread = np.where(spread > 0, spread, 1.0)
    return med.astype(np.float32), spread.astype(np.float32)


def scale(data: np.ndarray, how: str) -> np.ndarray:
    """Per-channel scaling of ``data (C, T)``: robust (median / IQR), z-score, or none."""
    if how == "none":
        return data
    center, spread = scale_stats(data, how)
    return ((data - center) / spread).astype(np.float32)


#: Factor to volts of each ``assume_unit``.
ASSUMED_UNIT = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "nV": 1e-9}


def to_volts(rec: Recording, cfg: PrepareConfig) -> np.ndarray:
    """``rec.data`` with channels of unknown units scaled by ``cfg.assume_unit``; refused without it."""
    if not rec.unknown_units:
        return rec.data
    src = rec.source or "recording"
    if cfg.assume_unit is None:
        found = ", ".join(f"{n} ({u!r})" for n, u in rec.unknown_units.items())
        raise DataError(f"{src}: channels without a voltage unit: {found}; set assume_unit (--assume-unit) to "
                        "the unit their values are in (V, mV, uV or nV)")
    data = rec.data.copy()
    for name in rec.unknown_units:
        data[rec.channel_index(name)] *= np.float32(ASSUMED_UNIT[cfg.assume_unit])
    return data


def _preprocess(data: np.ndarray, rec: Recording, cfg: PrepareConfig) -> tuple[list[np.ndarray], float]:
    """Band-pass, resample and scale each contiguous piece; trigger rows are only resampled (held).

    The filtered pieces are new arrays, scaled in place; ``data`` itself is never written.
    """
    sig = np.array([t != "stim" for t in rec.ch_types])
    out, sfreq = [], rec.sfreq
    for _, a, n in rec.pieces():
        piece = data[:, a: a + n]
        x, sfreq = resample(bandpass(piece if sig.all() else piece[sig], rec.sfreq, cfg.l_freq, cfg.h_freq),
                            rec.sfreq, cfg.sfreq)
        if sig.all():
            out.append(x.copy() if np.may_share_memory(x, data) else x)
            continue
        length = x.shape[1] if sig.any() else int(np.ceil(n * sfreq / rec.sfreq - 1e-9))
        full = np.empty((len(sig), length), np.float32)
        full[sig] = x
        held = np.minimum((np.arange(length) * rec.sfreq / sfreq).astype(np.int64), n - 1)
        full[~sig] = piece[~sig][:, held]
        out.append(full)
    if sig.any() and cfg.scaling != "none":
        whole = out[0] if len(out) == 1 else np.concatenate(out, axis=1)
        center, spread = scale_stats(whole if sig.all() else whole[sig], cfg.scaling)
        for p in out:
            if sig.all():
                p -= center
                p /= spread
            else:
                p[sig] = (p[sig] - center) / spread
    return out, sfreq


def preprocessed(rec: Recording, cfg: PrepareConfig) -> tuple[list[np.ndarray], float]:
    """The recording in volts, checked for flat channels, band-passed, resampled and scaled per piece
    (see :func:`make_windows`); returns the pieces and their rate."""
    data = to_volts(rec, cfg)
    sig = np.array([t != "stim" for t in rec.ch_types])
    flat = np.where((np.ptp(data, axis=1) == 0) & sig)[0] if data.shape[1] else np.zeros(0, int)
    if len(flat):
        src = rec.source or "recording"
        raise DataError(f"{src}: channel {rec.ch_names[int(flat[0])]!r} is flat (constant); check the montage")
    return _preprocess(data, rec, cfg)


def make_windows(rec: Recording, cfg: PrepareConfig) -> Windows:
    """Preprocess ``rec`` (already holding only the wanted channels) and cut it into windows.

    Steps: unit check, band-pass at the native rate, resample, per-recording scaling (trigger
    channels are neither filtered nor scaled), windows of ``cfg.window_s`` on the grid that starts
    at t = 0 (the scoring's time base), labels from the annotations under ``cfg.scheme``, trimming
    of long wake at the edges, and dropping of unlabelled windows. A recording with gaps (EDF+D) is
    processed piece by piece and a window never spans a gap.
    """
    src = rec.source or "recording"
    pieces, sfreq = preprocessed(rec, cfg)
    win = int(round(cfg.window_s * sfreq))
    if abs(win - cfg.window_s * sfreq) > 1e-6:
        raise DataError(f"{src}: window_s={cfg.window_s} s is not a whole number of samples at {sfreq:g} Hz")
    blocks, index = [], []
    for (t0, _, _), x in zip(rec.pieces(), pieces, strict=True):
        k0 = int(np.ceil(t0 / cfg.window_s - 1e-9))
        a0 = int(round((k0 * cfg.window_s - t0) * sfreq))
        m = max((x.shape[1] - a0) // win, 0)
        if m:
            blocks.append(x[:, a0: a0 + m * win].reshape(x.shape[0], m, win).transpose(1, 0, 2))
            index.append(np.arange(k0, k0 + m))
    if not blocks:
        raise DataError(f"{src}: recording ({rec.duration:.1f} s) is shorter than one window ({cfg.window_s} s)")
    grid = np.concatenate(index)
    y_grid, dropped = window_labels(rec.annotations, rec.end_time, cfg, int(grid[-1]) + 1, src)
    y = y_grid[grid]
    keep = select_windows(y, cfg)
    x = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return Windows(
        x=np.ascontiguousarray(x[keep]), y=y[keep], onset=grid[keep] * cfg.window_s, sfreq=sfreq,
        ch_names=list(rec.ch_names), dropped=dropped,
    )


def select_windows(y: np.ndarray, cfg: PrepareConfig) -> np.ndarray:
    """Positions of the windows kept: wake trimmed to ``trim_wake_min`` around sleep, unlabelled
    windows dropped unless ``keep_unlabelled``."""
    keep = np.arange(len(y))
    w = get_scheme(cfg.scheme).classes.index("W")
    sleep = np.where((y >= 0) & (y != w))[0]
    if cfg.trim_wake_min is not None and len(sleep):
        pad = int(round(cfg.trim_wake_min * 60 / cfg.window_s))
        keep = keep[max(sleep[0] - pad, 0): sleep[-1] + pad + 1]
    if not cfg.keep_unlabelled:
        keep = keep[y[keep] >= 0]
    return keep


def window_labels(ann: Annotations, duration: float, cfg: PrepareConfig, n: int,
                  src: str) -> tuple[np.ndarray, Counter[str]]:
    """Label of each window ``k`` of the grid ``[k * window_s, (k+1) * window_s)``, ``k < n``, and
    the counts of dropped epochs (movement, unscored), from stage annotations.

    ``duration`` is the recording's length (gaps included), used to refuse hypnograms of another night.
    """
    stage_idx = [i for i, d in enumerate(ann.description) if d.startswith("Sleep stage") or d == "Movement time"]
    if not stage_idx:
        if cfg.keep_unlabelled:
            return np.full(n, -1, dtype=np.int64), Counter()
        raise DataError(f"{src}: no sleep-stage annotations; set keep_unlabelled to use unlabelled windows")
    onset, dur = ann.onset[stage_idx], ann.duration[stage_idx]
    descriptions = [ann.description[i] for i in stage_idx]
    check_annotations(onset, dur, src, duration)
    codes, _ = get_scheme(cfg.scheme).encode_descriptions(descriptions, src)
    scored_end = float((onset + dur)[codes >= 0].max()) if (codes >= 0).any() else 0.0
    if scored_end > duration + cfg.window_s:
        raise DataError(
            f"{src}: the hypnogram scores until {scored_end:.0f} s but the PSG ends at {duration:.0f} s; "
            "is the hypnogram from another night?"
        )
    hyp_end = float((onset + dur).max())
    if hyp_end < cfg.min_hypnogram_coverage * duration:
        raise DataError(
            f"{src}: the hypnogram ends at {hyp_end:.0f} s but the PSG lasts {duration:.0f} s "
            f"({hyp_end / duration:.0%} scored, expected at least {cfg.min_hypnogram_coverage:.0%}); "
            "is the hypnogram truncated or from another night? (setting min_hypnogram_coverage)"
        )
    y = epoch_labels(onset, dur, codes, n, cfg.window_s, cfg.min_coverage)
    dropped: Counter[str] = Counter()
    for d, c, desc in zip(dur, codes, descriptions, strict=True):
        if c < 0:
            dropped[desc] += int(round(d / cfg.window_s))
    return y, dropped
