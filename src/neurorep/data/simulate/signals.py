"""Shared building blocks of the simulated signals: shaped noise, events and the night context.

The *night context* holds slowly varying control signals on a 10 Hz grid (stage weights with
cross-fades, slow-wave depth, arousals, movements, eyes open, phasic REM, respiration) that the
signal generators (:mod:`.eeg`, :mod:`.ocular`, :mod:`.cardiac`) turn into samples. The stage
weights follow the physiological state of the hypnogram (``Hypnogram.state``), not the scoring,
and change gradually (cross-fades of 20-50 s), so epochs next to a transition hold a mixture. All
random draws come from explicit ``numpy.random.Generator`` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.special import ndtri

from neurorep.data.simulate.hypnogram import EPOCH_S, Hypnogram
from neurorep.data.simulate.params import SubjectParams

CTRL_FS = 10.0  # rate of the control grid (Hz)


# ---- shaped noise ------------------------------------------------------------------------------
def _random_spectra(
    n: int, fs: float, shape: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator, k: int
) -> np.ndarray:
    """``(k, m)`` complex64 Gaussian spectra with amplitude response ``shape(f)``.

    Only the first ``m`` bins (up to the last non-zero one) are returned; :func:`_to_time`
    zero-pads the rest. The spectra are scaled so that the time signals have unit expected
    variance.
    """
    f = np.fft.rfftfreq(n, 1.0 / fs)
    amp = shape(f).astype(np.float64)
    amp[0] = 0.0
    top = amp.max()
    nz = np.flatnonzero(amp > top * 1e-4) if top > 0 else np.zeros(0, dtype=int)
    if nz.size == 0:
        return np.zeros((k, 1), dtype=np.complex64)
    hi = int(nz[-1]) + 1
    amp = amp[:hi]
    amp *= n / np.sqrt(4.0 * np.sum(amp**2))  # unit variance after the 1/n inverse transform
    z = rng.standard_normal((k, 2 * hi), dtype=np.float32).view(np.complex64)
    z *= amp.astype(np.float32)
    return z


def _to_time(spec: np.ndarray, n: int) -> np.ndarray:
    """Inverse real FFT (zero-padded to ``n // 2 + 1`` bins) along the last axis (float32)."""
    return np.fft.irfft(spec, n=n, axis=-1)


def spectrum_noise(
    n: int, fs: float, shape: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator, k: int = 1
) -> np.ndarray:
    """Gaussian noise with amplitude spectrum ``shape(f)``, scaled to unit standard deviation.

    Args:
        n: samples per signal.
        fs: sampling rate (Hz).
        shape: amplitude response as a function of frequency in Hz (vectorised).
        k: number of independent signals.

    Returns:
        ``(k, n)`` float32 array (``(n,)`` when ``k == 1``).
    """
    x = _to_time(_random_spectra(n, fs, shape, rng, k), n)
    return x[0] if k == 1 else x


def correlated_noise(
    n: int, fs: float, shape: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator, rho: float
) -> np.ndarray:
    """``(2, n)`` unit-variance shaped noise whose two rows have correlation ``rho``.

    The second row is ``rho * first + sqrt(1 - rho**2) * independent``, mixed in the frequency
    domain so that only two random spectra and two inverse FFTs are needed.
    """
    z = _random_spectra(n, fs, shape, rng, 2)
    z[1] = float(rho) * z[0] + float(np.sqrt(1.0 - rho**2)) * z[1]
    return _to_time(z, n)


def sinusoid(n: int, fs: float, freq: float, phase: float = 0.0) -> np.ndarray:
    """``cos(2 pi freq k / fs + phase)`` for ``k < n``, built from two short tables (no per-sample trig)."""
    block = 4096
    rows = -(-n // block)
    a = 2.0 * np.pi * freq / fs * np.arange(block)
    b = 2.0 * np.pi * freq / fs * block * np.arange(rows) + phase
    out = np.multiply.outer(np.cos(b), np.cos(a))
    out -= np.multiply.outer(np.sin(b), np.sin(a))
    return out.reshape(-1)[:n]


def band(lo: float, hi: float, edge: float = 0.5) -> Callable[[np.ndarray], np.ndarray]:
    """Band-pass amplitude response with raised-cosine edges of width ``edge`` Hz."""

    def shape(f: np.ndarray) -> np.ndarray:
        up = np.clip((f - (lo - edge / 2)) / edge, 0.0, 1.0)
        down = np.clip(((hi + edge / 2) - f) / edge, 0.0, 1.0)
        return np.sin(np.pi / 2 * up) ** 2 * np.sin(np.pi / 2 * down) ** 2

    return shape


def peak(f0: float, width: float) -> Callable[[np.ndarray], np.ndarray]:
    """Gaussian spectral peak at ``f0`` Hz with standard deviation ``width`` Hz."""
    return lambda f: np.exp(-0.5 * ((f - f0) / width) ** 2)


def pink(exponent: float, corner: float = 1.0, highpass: float = 0.3) -> Callable[[np.ndarray], np.ndarray]:
    """Aperiodic 1/f**exponent power spectrum (amplitude 1/f**(exponent/2)) with a low corner."""

    def shape(f: np.ndarray) -> np.ndarray:
        hp = np.clip(f / highpass, 0.0, 1.0) ** 2
        return hp / (f + corner) ** (exponent / 2.0)

    return shape


# ---- events ------------------------------------------------------------------------------------
def event_times(rate: np.ndarray, rng: np.random.Generator, fs: float = CTRL_FS) -> np.ndarray:
    """Times (s) of an inhomogeneous Poisson process with ``rate`` (events/s) on a grid at ``fs``."""
    counts = rng.poisson(np.clip(rate, 0.0, None) / fs)
    bins = np.repeat(np.arange(rate.size), counts)
    return np.sort((bins + rng.random(bins.size)) / fs)


def add_waveforms(out: np.ndarray, starts: np.ndarray, waves: np.ndarray) -> None:
    """Add ``waves[i]`` to ``out`` from sample ``starts[i]`` on (in place; clipped at the edges)."""
    if waves.size == 0:
        return
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(waves.shape[1])[None, :]
    ok = (idx >= 0) & (idx < out.size)
    np.add.at(out, idx[ok], waves[ok])


def event_matrix(times: np.ndarray, fs: float, before: float, after: float) -> tuple[np.ndarray, np.ndarray]:
    """Start samples and a ``(n_events, L)`` matrix of times (s) relative to each event time."""
    start = np.floor((times - before) * fs).astype(np.int64)
    rel = (start[:, None] + np.arange(int(np.ceil((before + after) * fs)) + 1)[None, :]) / fs - times[:, None]
    return start, rel


def gauss(t: np.ndarray, mu: float | np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    """Unit-height Gaussian bump."""
    return np.exp(-0.5 * ((t - mu) / sd) ** 2)


# ---- control grid --------------------------------------------------------------------------------
def smooth(x: np.ndarray, seconds: float, fs: float = CTRL_FS) -> np.ndarray:
    """Triangular smoothing over about ``seconds`` (two box filters of half that width)."""
    size = max(1, int(round(seconds * fs / 2)))
    return uniform_filter1d(uniform_filter1d(x, size, axis=-1, mode="nearest"), size, axis=-1, mode="nearest")


def upsample(x: np.ndarray, n: int, fs: float, ctrl_fs: float = CTRL_FS) -> np.ndarray:
    """Linearly interpolate a control-grid signal to ``n`` samples at ``fs``.

    Integer rate ratios (100 Hz from 10 Hz) take a fast path that returns float32.
    """
    ratio = fs / ctrl_fs
    x = np.asarray(x, dtype=np.float64)
    if float(ratio).is_integer():
        r = int(ratio)
        x32 = x.astype(np.float32)
        step = np.append(x32[1:], x32[-1]) - x32
        frac = np.arange(r, dtype=np.float32) / np.float32(r)
        out = np.multiply.outer(step, frac)
        out += x32[:, None]
        out = out.reshape(-1)
        if out.size >= n:
            return out[:n]
        return np.concatenate([out, np.full(n - out.size, x[-1])])
    return np.interp(np.arange(n) / fs, np.arange(x.size) / ctrl_fs, x)


def lowpass_noise(n: int, cutoff: float, rng: np.random.Generator, fs: float = CTRL_FS) -> np.ndarray:
    """Unit-variance Gaussian noise below ``cutoff`` Hz on a grid at ``fs``."""
    return spectrum_noise(n, fs, lambda f: (f <= cutoff).astype(float) * np.clip(f / 0.001, 0, 1), rng)


@dataclass
class NightContext:
    """Slow control signals of one night on the :data:`CTRL_FS` grid.

    Attributes:
        n_ctrl: grid length (``duration * CTRL_FS``).
        duration: night length in seconds.
        weights: ``(5, n_ctrl)`` weights of the physiological states (W, N1, N2, N3, REM),
            cross-faded, summing to 1.
        depth: slow-wave depth in [0, 1].
        arousal: EEG arousal intensity in [0, 1] (3-15 s bursts during sleep).
        movement: movement artefact intensity in [0, 1].
        eyes_open: 1 with eyes open (meaningful in wake).
        phasic: phasic REM activity in [0, 1].
        resp_phase: breathing phase in cycles (its fractional part is the phase).
        hours: time since the start of the night in hours.
    """

    n_ctrl: int
    duration: float
    weights: np.ndarray
    depth: np.ndarray
    arousal: np.ndarray
    movement: np.ndarray
    eyes_open: np.ndarray
    phasic: np.ndarray
    resp_phase: np.ndarray
    hours: np.ndarray

    def n_samples(self, fs: float) -> int:
        """Samples of a channel at ``fs`` covering the night."""
        return int(round(self.duration * fs))

    def at(self, x: np.ndarray, fs: float) -> np.ndarray:
        """Control signal ``x`` interpolated to the channel rate ``fs``."""
        return upsample(x, self.n_samples(fs), fs)

    def mix(self, levels: tuple[float, float, float, float, float]) -> np.ndarray:
        """Stage-weighted level on the control grid: ``sum_s levels[s] * weights[s]``."""
        return np.asarray(levels, dtype=np.float64) @ self.weights


def _bursts(times: np.ndarray, lengths: np.ndarray, n: int) -> np.ndarray:
    """0/1 indicator on the control grid of intervals ``[times, times + lengths)``."""
    out = np.zeros(n + 1)
    a = np.clip((times * CTRL_FS).astype(int), 0, n)
    b = np.clip(((times + lengths) * CTRL_FS).astype(int), 0, n)
    np.add.at(out, a, 1.0)
    np.add.at(out, b, -1.0)
    return (np.cumsum(out)[:n] > 0).astype(np.float64)


def build_context(hyp: Hypnogram, params: SubjectParams, rng: np.random.Generator) -> NightContext:
    """Turn a hypnogram and the subject's traits into the night's control signals."""
    per_epoch = int(EPOCH_S * CTRL_FS)
    n = hyp.n_epochs * per_epoch
    onehot = np.zeros((5, hyp.n_epochs))
    onehot[hyp.state.astype(int), np.arange(hyp.n_epochs)] = 1.0  # signals follow the state, not the scoring
    weights = smooth(np.repeat(onehot, per_epoch, axis=1), params.crossfade_s)
    weights /= weights.sum(axis=0, keepdims=True)
    depth = smooth(np.repeat(hyp.depth, per_epoch), params.crossfade_s)
    asleep = 1.0 - weights[0]

    # arousals: 3-15 s bursts during sleep, more out of REM/N2 than N3
    rate = params.arousal_per_hour / 3600.0 * (asleep - 0.7 * weights[3])
    at = event_times(rate, rng)
    arousal = smooth(_bursts(at, rng.uniform(3.0, 15.0, at.size), n), 2.0)

    # movements: epochs scored "Movement time", plus bursts while awake or aroused
    mt = np.array([r == "Movement time" for r in hyp.rk_stages], dtype=np.float64)
    mv_rate = params.movements_per_hour / 3600.0 * np.clip(weights[0] + arousal, 0.0, 1.0)
    mv_t = event_times(mv_rate, rng)
    movement = np.maximum(np.repeat(mt, per_epoch), _bursts(mv_t, rng.uniform(1.0, 8.0, mv_t.size), n))
    movement = smooth(movement, 1.0)

    # eyes open / closed in wake: a slow binary process with runs of tens of seconds
    eo_noise = lowpass_noise(n, 1.0 / 40.0, rng)
    eyes_open = smooth((eo_noise > ndtri(1.0 - params.eyes_open_frac)).astype(np.float64), 1.0)

    # phasic REM: bursts of eye movements and twitches, denser later in the night
    hours = np.arange(n) / CTRL_FS / 3600.0
    ph_noise = lowpass_noise(n, 1.0 / 20.0, rng)
    phasic = smooth((ph_noise > 0.3 - 0.08 * hours).astype(np.float64), 1.0)

    # breathing: faster and irregular in wake and REM, slow and regular in N3
    irregular = np.array([0.10, 0.06, 0.03, 0.015, 0.09]) @ weights
    rate_hz = params.resp_rate * (1.0 + 0.05 * weights[0]) + irregular * lowpass_noise(n, 0.05, rng)
    resp_phase = np.cumsum(np.clip(rate_hz, 0.08, 0.6)) / CTRL_FS

    return NightContext(
        n_ctrl=n,
        duration=hyp.n_epochs * EPOCH_S,
        weights=weights,
        depth=depth,
        arousal=arousal,
        movement=movement,
        eyes_open=eyes_open,
        phasic=phasic,
        resp_phase=resp_phase,
        hours=hours,
    )
