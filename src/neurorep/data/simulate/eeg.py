"""The two EEG derivations (``EEG Fpz-Cz``, ``EEG Pz-Oz``) at 100 Hz, in microvolts.

Each derivation is a sum of continuous rhythms whose amplitudes follow the cross-faded stage
weights of the night context, plus transient graphoelements placed as inhomogeneous Poisson events:

============== ================================= ===============================================
component      shape                             where (standard deviation or peak, Fpz-Cz)
============== ================================= ===============================================
background     1/f (flat-ish) + 1/f^2.2 (steep)  W 9+3, N1 9+6, N2 7+9, N3 5+13, REM 7+5 uV sd
alpha          peak at the subject's alpha freq  W eyes closed 9-20 uV sd on Pz-Oz, x0.35 Fpz-Cz
theta          4-7 Hz (peak 5.8 Hz)              N1 9, REM 8, N2 5, W/N3 3 uV sd
beta           16-28 Hz                          W 4, N1 2.5, REM 2, N2 1.2, N3 0.8 uV sd
slow waves     0.5-2 Hz (peak 0.9 Hz)            depth x 48-66 uV sd (depth ~0.6 N3, ~0.9 stage 4)
sigma          peak at the spindle frequency     N2 4, N3 2, N1 1, W/REM 0.5 uV sd (between spindles)
spindles       11-16 Hz bursts 0.5-2 s           2-7 / min in N2, x0.35 in N3, 22-45 uV peak
K-complexes    biphasic, 0.5-1 s                 0.8-2.5 / min in N2, 70-160 uV
vertex waves   sharp, ~0.2 s                     4 / min in N1, 40-100 uV
sawtooth       2.5-5 Hz trains of 2-5 s          1.2 / min in REM, 20-45 uV
============== ================================= ===============================================

Eye blinks and movements leak into Fpz-Cz (next to the eyes). Artefacts: electrode pops, body
movement, sweat drift (Fpz-Cz) and the residual mains hum at the 50 Hz Nyquist bin.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import sawtooth

from neurorep.data.simulate.artefacts import (
    electrode_pops,
    mains_hum,
    movement_artefact,
    slow_gain_drift,
    sweat_artefact,
)
from neurorep.data.simulate.ocular import OcularSources
from neurorep.data.simulate.params import SubjectParams
from neurorep.data.simulate.signals import (
    NightContext,
    add_waveforms,
    band,
    correlated_noise,
    event_matrix,
    event_times,
    gauss,
    lowpass_noise,
    peak,
    pink,
)

EEG_FS = 100.0
EEG_NAMES = ("EEG Fpz-Cz", "EEG Pz-Oz")


def _rhythm(
    ctx: NightContext,
    shape: Callable[[np.ndarray], np.ndarray],
    env_ctrl: np.ndarray,
    gains: tuple[float, float],
    rho: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(2, n)`` correlated rhythm with amplitude envelope ``env_ctrl`` (control grid)."""
    n = ctx.n_samples(EEG_FS)
    z = correlated_noise(n, EEG_FS, shape, rng, rho)
    return ctx.at(env_ctrl, EEG_FS) * z * np.asarray(gains, dtype=np.float32)[:, None]


def _spindles(
    times: np.ndarray, params: SubjectParams, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``(2, n)`` sleep spindles (waxing-waning 11-16 Hz bursts) at ``times``."""
    out = np.zeros((2, n))
    if times.size == 0:
        return out
    freq = np.clip(rng.normal(params.spindle_freq, 0.5, times.size), 11.0, 16.0)
    dur = np.clip(0.5 + rng.gamma(2.0, 0.25, times.size), 0.5, 2.0)
    amp = params.spindle_amp * np.exp(rng.normal(0.0, 0.3, times.size))
    start, rel = event_matrix(times, EEG_FS, 0.0, 2.0)
    x = rel / dur[:, None]
    inside = (x >= 0.0) & (x <= 1.0)
    env = np.where(inside, np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 2, 0.0)
    inst_f = freq[:, None] - 0.5 * (x - 0.5)  # slight deceleration within the spindle
    phase = 2.0 * np.pi * inst_f * rel + rng.uniform(0.0, 2.0 * np.pi, (times.size, 1))
    wave = amp[:, None] * env * np.sin(phase)
    fast = np.clip((freq - 12.0) / 2.0, 0.0, 1.0)[:, None]  # fast spindles are posterior
    add_waveforms(out[0], start, wave * (0.9 - 0.4 * fast))
    add_waveforms(out[1], start, wave * (0.5 + 0.5 * fast))
    return out


def _transients(
    times: np.ndarray,
    amp: np.ndarray,
    waves: list[tuple[float, float, float]],
    span: tuple[float, float],
    gains: tuple[float, float],
    n: int,
) -> np.ndarray:
    """``(2, n)`` sum-of-Gaussians transients: ``waves`` lists (relative amp, centre s, sd s)."""
    out = np.zeros((2, n))
    if times.size == 0:
        return out
    start, rel = event_matrix(times, EEG_FS, *span)
    shape = sum(a * gauss(rel, mu, sd) for a, mu, sd in waves)
    for ch, g in enumerate(gains):
        add_waveforms(out[ch], start, g * amp[:, None] * shape)
    return out


def _sawtooth_trains(times: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(2, n)`` REM sawtooth-wave trains (2.5-5 Hz, 2-5 s, frontocentral)."""
    out = np.zeros((2, n))
    if times.size == 0:
        return out
    dur = rng.uniform(2.0, 5.0, times.size)[:, None]
    freq = rng.uniform(2.5, 5.0, times.size)[:, None]
    amp = rng.uniform(20.0, 45.0, times.size)[:, None]
    start, rel = event_matrix(times, EEG_FS, 0.0, 5.0)
    x = np.clip(rel / dur, 0.0, 1.0)
    env = np.where(rel <= dur, np.sin(np.pi * x) ** 0.5, 0.0)
    wave = amp * env * sawtooth(2.0 * np.pi * freq * rel + rng.uniform(0, 6.3, (times.size, 1)), 0.8)
    add_waveforms(out[0], start, wave)
    add_waveforms(out[1], start, 0.5 * wave)
    return out


def simulate_eeg(
    ctx: NightContext, params: SubjectParams, ocular: OcularSources, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Simulate both EEG derivations for one night.

    Returns:
        ``({name: (n,) microvolts}, frontal_slow)`` where ``frontal_slow`` is the slow-wave and
        K-complex part of Fpz-Cz (it leaks into the EOG).
    """
    n = ctx.n_samples(EEG_FS)
    w = ctx.weights
    mix = ctx.mix
    asleep = 1.0 - w[0]

    eeg = _rhythm(ctx, pink(1.0, corner=2.0), mix((9, 9, 7, 5, 7)), (1.0, 0.9), 0.35, rng)
    eeg += _rhythm(ctx, pink(2.2, corner=0.7), mix((3, 6, 9, 13, 5)), (1.0, 0.85), 0.5, rng)
    waxing = 1.0 + 0.35 * lowpass_noise(ctx.n_ctrl, 0.2, rng)
    alpha_env = params.alpha_amp * np.clip(
        w[0] * (1.0 - 0.85 * ctx.eyes_open) + 0.25 * w[1] + 0.12 * w[4] + 0.6 * ctx.arousal * asleep, 0.0, 1.2
    ) * np.clip(waxing, 0.2, None)
    eeg += _rhythm(ctx, peak(params.alpha_freq, 0.6), alpha_env, (0.35, 1.0), 0.8, rng)
    eeg += _rhythm(ctx, peak(5.8, 1.0), mix((3, 9, 5, 3, 8)), (1.0, 0.8), 0.6, rng)
    sigma_env = mix((0.5, 1.0, 4.0, 2.0, 0.5)) * (1.0 - ctx.arousal)  # NREM sigma outside spindles
    eeg += _rhythm(ctx, peak(params.spindle_freq, 0.9), sigma_env, (0.9, 0.8), 0.6, rng)
    beta_env = mix((4.0, 2.5, 1.2, 0.8, 2.0)) + 4.0 * ctx.arousal * asleep
    eeg += _rhythm(ctx, band(16.0, 28.0, 2.0), beta_env, (1.2, 0.8), 0.5, rng)
    slow = _rhythm(ctx, peak(0.9, 0.45), params.slow_wave_amp * ctx.depth, (1.0, 0.6), 0.8, rng)

    def rate(levels: tuple[float, ...], per_min: float, gate: np.ndarray) -> np.ndarray:
        return per_min / 60.0 * mix(levels) * gate

    not_aroused = 1.0 - ctx.arousal
    # K-complexes (spontaneous in N2, some evoked at arousal onset); 35 % followed by a spindle
    kc_t = event_times(rate((0, 0, 1, 0.3, 0), params.kcomplex_rate, not_aroused) + 0.02 * ctx.arousal * asleep, rng)
    kc_amp = rng.uniform(70.0, 160.0, kc_t.size)
    kcomplex = _transients(
        kc_t, kc_amp, [(0.15, -0.15, 0.05), (-1.0, 0.05, 0.1), (0.55, 0.45, 0.18)], (0.4, 1.2), (1.0, 0.45), n
    )
    slow += kcomplex
    sp_t = event_times(rate((0, 0.05, 1, 0.35, 0), params.spindle_density, not_aroused), rng)
    sp_t = np.sort(np.concatenate([sp_t, kc_t[rng.random(kc_t.size) < 0.35] + 0.5]))
    eeg += slow + _spindles(sp_t, params, n, rng)
    vx_t = event_times(rate((0, 4.0, 0.4, 0, 0), 1.0, np.ones(ctx.n_ctrl)), rng)
    eeg += _transients(
        vx_t, rng.uniform(40.0, 100.0, vx_t.size), [(-1.0, 0.0, 0.045), (0.35, 0.12, 0.06)], (0.2, 0.4), (-0.8, 0.5), n
    )
    saw_t = event_times(1.2 / 60.0 * w[4] * (0.5 + ctx.phasic), rng)
    eeg += _sawtooth_trains(saw_t, n, rng)

    # eyes (Fpz sits just above them), then electrodes and amplifier
    eeg[0] += 0.3 * ocular.blinks + 0.1 * ocular.horizontal
    eeg[1] += 0.03 * ocular.blinks
    eeg[0] += sweat_artefact(ctx, EEG_FS, params.sweat_uv, rng)
    out: dict[str, np.ndarray] = {}
    for ch, name in enumerate(EEG_NAMES):
        x = eeg[ch] * params.eeg_gain[ch] * slow_gain_drift(ctx, EEG_FS, 0.05, rng)
        x += params.noise_uv * rng.standard_normal(n)
        x += movement_artefact(ctx, EEG_FS, 80.0, rng)
        x += electrode_pops(n, EEG_FS, params.pops_per_hour, 200.0, rng)
        x += mains_hum(n, EEG_FS, params.line_alias_uv, params.mains_offset_hz, rng)
        out[name] = x
    return out, slow[0] * params.eeg_gain[0]
