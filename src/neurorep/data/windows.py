"""Cutting a labelled recording into fixed-length, preprocessed windows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy import signal as sps

from neurorep.data.labels import check_annotations, epoch_labels, get_scheme
from neurorep.data.recording import Recording
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


def bandpass(data: np.ndarray, sfreq: float, l_freq: float | None, h_freq: float | None) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass of ``data (C, T)`` (returns float32)."""
    nyq = sfreq / 2
    hi = h_freq if h_freq is not None and h_freq < nyq * 0.99 else None
    lo = l_freq if l_freq else None
    if lo is None and hi is None:
        return data
    if lo is not None and hi is not None:
        sos = sps.butter(4, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
    elif lo is not None:
        sos = sps.butter(4, lo, btype="highpass", fs=sfreq, output="sos")
    else:
        sos = sps.butter(4, hi, btype="lowpass", fs=sfreq, output="sos")
    return sps.sosfiltfilt(sos, data, axis=-1).astype(np.float32)


def resample(data: np.ndarray, sfreq: float, target: float | None) -> tuple[np.ndarray, float]:
    """Polyphase resampling of ``data (C, T)`` from ``sfreq`` to ``target`` (anti-aliased)."""
    if target is None or abs(target - sfreq) < 1e-9:
        return data, sfreq
    ratio = Fraction(target / sfreq).limit_denominator(1000)
    out = sps.resample_poly(data, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)
    return out, sfreq * ratio.numerator / ratio.denominator


def scale(data: np.ndarray, how: str) -> np.ndarray:
    """Per-channel scaling of ``data (C, T)``: robust (median / IQR), z-score, or none."""
    if how == "none":
        return data
    if how == "robust":
        q25, med, q75 = np.percentile(data, [25, 50, 75], axis=1, keepdims=True)
        spread = q75 - q25
    else:
        med = data.mean(axis=1, keepdims=True)
        spread = data.std(axis=1, keepdims=True)
    spread = np.where(spread > 0, spread, 1.0)
    return ((data - med) / spread).astype(np.float32)


def make_windows(rec: Recording, cfg: PrepareConfig) -> Windows:
    """Preprocess ``rec`` (already holding only the wanted channels) and cut it into windows.

    Steps: band-pass at the native rate, resample, per-recording scaling, windows of
    ``cfg.window_s`` from t = 0 (the scoring's time base), labels from the annotations under
    ``cfg.scheme``, trimming of long wake at the edges, and dropping of unlabelled windows.
    """
    src = rec.source or "recording"
    flat = np.where(np.ptp(rec.data, axis=1) == 0)[0]
    if len(flat):
        raise DataError(f"{src}: channel {rec.ch_names[int(flat[0])]!r} is flat (constant); check the montage")
    data = bandpass(rec.data, rec.sfreq, cfg.l_freq, cfg.h_freq)
    data, sfreq = resample(data, rec.sfreq, cfg.sfreq)
    data = scale(data, cfg.scaling)
    win = int(round(cfg.window_s * sfreq))
    if abs(win - cfg.window_s * sfreq) > 1e-6:
        raise DataError(f"{src}: window_s={cfg.window_s} s is not a whole number of samples at {sfreq:g} Hz")
    n = data.shape[1] // win
    if n == 0:
        raise DataError(f"{src}: recording ({rec.duration:.1f} s) is shorter than one window ({cfg.window_s} s)")
    x = data[:, : n * win].reshape(data.shape[0], n, win).transpose(1, 0, 2)
    y, dropped = _labels(rec, cfg, n, src)
    keep = np.arange(n)
    w = get_scheme(cfg.scheme).classes.index("W")
    sleep = np.where((y >= 0) & (y != w))[0]
    if cfg.trim_wake_min is not None and len(sleep):
        pad = int(round(cfg.trim_wake_min * 60 / cfg.window_s))
        keep = keep[max(sleep[0] - pad, 0): sleep[-1] + pad + 1]
    if not cfg.keep_unlabelled:
        keep = keep[y[keep] >= 0]
    return Windows(
        x=np.ascontiguousarray(x[keep]), y=y[keep], onset=keep * cfg.window_s, sfreq=sfreq,
        ch_names=list(rec.ch_names), dropped=dropped,
    )


def _labels(rec: Recording, cfg: PrepareConfig, n: int, src: str) -> tuple[np.ndarray, Counter[str]]:
    ann = rec.annotations
    stage_idx = [i for i, d in enumerate(ann.description) if d.startswith("Sleep stage") or d == "Movement time"]
    if not stage_idx:
        if cfg.keep_unlabelled:
            return np.full(n, -1, dtype=np.int64), Counter()
        raise DataError(f"{src}: no sleep-stage annotations; set keep_unlabelled to use unlabelled windows")
    onset, duration = ann.onset[stage_idx], ann.duration[stage_idx]
    descriptions = [ann.description[i] for i in stage_idx]
    check_annotations(onset, duration, src, rec.duration)
    codes, _ = get_scheme(cfg.scheme).encode_descriptions(descriptions, src)
    scored_end = float((onset + duration)[codes >= 0].max()) if (codes >= 0).any() else 0.0
    if scored_end > rec.duration + cfg.window_s:
        raise DataError(
            f"{src}: the hypnogram scores until {scored_end:.0f} s but the PSG ends at {rec.duration:.0f} s; "
            "is the hypnogram from another night?"
        )
    hyp_end = float((onset + duration).max())
    if hyp_end < cfg.min_hypnogram_coverage * rec.duration:
        raise DataError(
            f"{src}: the hypnogram ends at {hyp_end:.0f} s but the PSG lasts {rec.duration:.0f} s "
            f"({hyp_end / rec.duration:.0%} scored, expected at least {cfg.min_hypnogram_coverage:.0%}); "
            "is the hypnogram truncated or from another night? (setting min_hypnogram_coverage)"
        )
    y = epoch_labels(onset, duration, codes, n, cfg.window_s, cfg.min_coverage)
    dropped: Counter[str] = Counter()
    for d, c, desc in zip(duration, codes, descriptions, strict=True):
        if c < 0:
            dropped[desc] += int(round(d / cfg.window_s))
    return y, dropped
