"""Heart rate from ECG: R-peak detection (neurokit2) and the instantaneous-heart-rate series.

The ECG student of the kd-sleep recipe can take the raw ECG or an instantaneous heart rate (IHR):
beats -> RR intervals -> ``60 / RR`` (bpm) placed at each closing beat, implausible intervals
(outside ``[rr_min, rr_max]`` s, e.g. missed beats or gaps in an annotation file) dropped, and the
rest interpolated linearly onto a regular grid (held constant before the first and after the last
valid beat).
"""

from __future__ import annotations

import numpy as np

from neurorep.errors import DataError

IHR_FS = 4.0


def detect_rpeaks(ecg: np.ndarray, sfreq: float, method: str = "neurokit") -> np.ndarray:
    """R-peak times (s) of one ECG lead ``(n,)`` with :func:`neurokit2.ecg_peaks` after ``ecg_clean``."""
    import neurokit2 as nk

    x = np.asarray(ecg, dtype=np.float64).reshape(-1)
    if x.size < sfreq * 5:
        raise DataError(f"ECG is too short for R-peak detection ({x.size / sfreq:.1f} s; need at least 5 s)")
    if not np.isfinite(x).all() or np.ptp(x) == 0:
        raise DataError("ECG is flat or holds non-finite samples; cannot detect R-peaks")
    clean = nk.ecg_clean(x, sampling_rate=int(round(sfreq)), method=method)
    _, info = nk.ecg_peaks(clean, sampling_rate=int(round(sfreq)), method=method)
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    return peaks / float(sfreq)


def ihr_series(beat_times: np.ndarray, duration: float, fs: float = IHR_FS, rr_min: float = 0.3,
               rr_max: float = 2.0) -> np.ndarray:
    """Instantaneous heart rate (bpm) on a grid ``k / fs`` for ``k < duration * fs``.

    Args:
        beat_times: R-peak times (s), increasing.
        duration: length of the series (s).
        fs: grid rate (Hz).
        rr_min, rr_max: RR intervals outside this range (s) are treated as artefacts or gaps.

    Returns: float32 ``(round(duration * fs),)``.
    """
    t = np.asarray(beat_times, dtype=np.float64).reshape(-1)
    n = int(round(duration * fs))
    if t.size < 3:
        raise DataError(f"need at least 3 beats for a heart-rate series; got {t.size}")
    rr = np.diff(t)
    ok = (rr >= rr_min) & (rr <= rr_max)
    if ok.sum() < 2:
        raise DataError(f"fewer than 2 RR intervals in [{rr_min}, {rr_max}] s; is this an ECG?")
    times, bpm = t[1:][ok], 60.0 / rr[ok]
    grid = np.arange(n) / fs
    return np.interp(grid, times, bpm).astype(np.float32)


#: Channels :func:`rolling_channels` can derive from a heart-rate series.
DERIVED = ("rolling_mean", "rolling_sd", "elapsed")


def rolling_channels(series: np.ndarray, fs: float, window_s: float, kinds: list[str] | tuple[str, ...]) -> np.ndarray:
    """Slow summaries of a heart-rate series ``(C, n)`` sampled at ``fs``: for each of ``kinds``
    (``rolling_mean``, ``rolling_sd``) and each channel, the mean or standard deviation over a centred
    window of ``window_s`` seconds (:func:`scipy.ndimage.uniform_filter1d`, edges repeated); ``elapsed``
    is the time since the first sample in units of 8 hours (0 at the start, 1 after 8 h; the position in
    the recording, the same for every channel), which tells a stager how far into the night it is.

    Returns float32 ``(len(kinds) * C, n)``, kinds in the given order.
    """
    from scipy.ndimage import uniform_filter1d

    x = np.asarray(series, dtype=np.float64)
    size = max(int(round(window_s * fs)), 1)
    mean = uniform_filter1d(x, size, axis=-1, mode="nearest")
    out = []
    for kind in kinds:
        if kind == "rolling_mean":
            out.append(mean)
        elif kind == "rolling_sd":
            var = uniform_filter1d(x * x, size, axis=-1, mode="nearest") - mean * mean
            out.append(np.sqrt(np.clip(var, 0.0, None)))
        elif kind == "elapsed":
            out.append(np.broadcast_to(np.arange(x.shape[-1]) / (fs * 8 * 3600.0), x.shape))
        else:
            raise DataError(f"unknown derived heart-rate channel {kind!r}; choose from {', '.join(DERIVED)}")
    return np.concatenate(out, axis=0).astype(np.float32)
