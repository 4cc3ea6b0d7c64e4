"""The two EEG derivations (``EEG Fpz-Cz``, ``EEG Pz-Oz``) at 100 Hz, in microvolts.

Each derivation is a sum of continuous rhythms whose amplitudes follow the cross-faded stage
weights of the night context, plus transient graphoelements placed as inhomogeneous Poisson events.
Most components are also multiplied by a slow lognormal *modulator* (varying over about a minute),
so epochs of one stage differ: many N2 epochs have no spindle or K-complex, N1 keeps anything
from almost none to most of the wake alpha, sawtooth waves come only in some REM stretches.

============== ================================= ===============================================
component      shape                             where (standard deviation or peak, Fpz-Cz)
============== ================================= ===============================================
background     1/f + 1/f^2.2, subject slope ±0.35 W 9+3, N1 9+6, N2 7+9, N3 5+13, REM 7+5 uV sd
                                                 x per-subject stage gains (sd 15 %), wander 20 %
alpha          subject's alpha freq (8-11.5 Hz)  W eyes closed 3-22 uV sd on Pz-Oz (eyes open
                                                 x0.12), x0.35 Fpz-Cz; N1 2-80 % of it 0.8 Hz
                                                 slower; REM 18 % 1.5 Hz slower; arousals
theta          peak 5-7 Hz (subject)             N1 7, REM 7, N2 5, N3 3, W 2 (+3 eyes closed)
beta           16-28 Hz                          W 3.5 (+2 eyes open), N1 2.5, REM 2, N2 1.2
frontal muscle 20-45 Hz                          alert wake 1-8 uV (subject), arousals; none in REM
slow osc.      peak 0.75 Hz                      (depth - 0.1) x 38-72 uV sd (N3)
delta waves    peak 1.8 Hz                       min(depth, 0.35) x 0.6 x 38-72 uV sd (N2, N3)
sigma          peak at the spindle frequency     N2 2, N3 1.2 uV sd between spindles
spindles       11-16 Hz bursts 0.5-2 s           0.8-6.5 / min in N2 x drive (lognormal, sd 0.9),
                                                 x0.35 in N3, slower in deep sleep, 15-40 uV
K-complexes    biphasic, 0.5-1 s                 0.4-2.5 / min in N2 x drive, 70-160 uV
vertex waves   sharp, ~0.2 s                     1-5 / min in N1 x drive, 30-90 uV
sawtooth       2.5-5 Hz trains of 2-5 s          0.3-2.5 / min in some REM stretches, 20-45 uV
============== ================================= ===============================================

Fpz-Cz sits just above the eyes: it carries blinks and the vertical part of eye movements (slow
rolling ones in drowsiness and N1, rapid ones in REM), 10-35 % depending on the subject, and a
little of the horizontal EOG. Artefacts: the cardiac field (R peaks, 0-6 uV), stretches of poor
electrode contact, electrode pops, body movement, sweat drift (Fpz-Cz) and the residual mains hum
at the 50 Hz Nyquist bin.
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
    CTRL_FS,
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
    smooth,
    spectrum_noise,
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
    times: np.ndarray, depth: np.ndarray, params: SubjectParams, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``(2, n)`` sleep spindles (waxing-waning 11-16 Hz bursts) at ``times``.

    Spindles slow down by up to ~1 Hz as sleep deepens (``depth`` on the control grid).
    """
    out = np.zeros((2, n))
    if times.size == 0:
        return out
    d = depth[np.clip((times * CTRL_FS).astype(int), 0, depth.size - 1)]
    centre = params.spindle_freq - 1.6 * np.clip(d - 0.15, 0.0, None)
    freq = np.clip(rng.normal(centre, 0.5), 11.0, 16.0)
    dur = np.clip(0.5 + rng.gamma(2.0, 0.25, times.size), 0.5, 2.0)
    amp = params.spindle_amp * np.exp(rng.normal(0.0, 0.3, times.size))
    start, rel = event_matrix(times, EEG_FS, 0.0, 2.0)
    x = rel / dur[:, None]
    inside = (x >= 0.0) & (x <= 1.0)
    env = np.where(inside, np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 2, 0.0)
    inst_f = freq[:, None] - 0.5 * (x - 0.5)  # slight deceleration within the spindle
    phase = 2.0 * np.pi * inst_f * rel + rng.uniform(0.0, 2.0 * np.pi, (times.size, 1))
    wave = amp[:, None] * env * np.sin(phase)
    fast = np.clip((freq - 12.0) / 2.0, 0.0, 1.0)[:, None]  # fast spindles are centro-parietal (Cz, Pz)
    add_waveforms(out[0], start, wave * (0.9 - 0.2 * fast))
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


def _modulator(ctx: NightContext, sd: float, cutoff: float, rng: np.random.Generator) -> np.ndarray:
    """Slow lognormal multiplier (mean 1, log-sd ``sd``) varying below ``cutoff`` Hz on the control grid."""
    return np.exp(sd * lowpass_noise(ctx.n_ctrl, cutoff, rng) - 0.5 * sd**2)


def _cardiac_field(beat_times: np.ndarray, amp: float, n: int) -> np.ndarray:
    """``(2, n)`` ECG artefact: a small QRS-shaped deflection at every R peak (larger on Pz-Oz)."""
    out = np.zeros((2, n))
    if beat_times.size == 0 or amp <= 0:
        return out
    start, rel = event_matrix(beat_times, EEG_FS, 0.06, 0.06)
    qrs = amp * (gauss(rel, 0.0, 0.012) - 0.35 * gauss(rel, 0.035, 0.015))
    add_waveforms(out[0], start, 0.5 * qrs)
    add_waveforms(out[1], start, qrs)
    return out


def _poor_contact(ctx: NightContext, per_night: float, rng: np.random.Generator) -> np.ndarray:
    """``(2, n_ctrl)`` extra-noise level (uV) during 5-60 min stretches of poor electrode contact."""
    out = np.zeros((2, ctx.n_ctrl))
    for _ in range(int(rng.poisson(per_night))):
        ch = int(rng.integers(0, 2))
        t0 = rng.uniform(0.0, ctx.duration)
        a, b = int(t0 * CTRL_FS), int(min(t0 + rng.uniform(300.0, 3600.0), ctx.duration) * CTRL_FS)
        out[ch, a:b] += rng.uniform(3.0, 15.0)
    return smooth(out, 20.0)


def simulate_eeg(
    ctx: NightContext,
    params: SubjectParams,
    ocular: OcularSources,
    beat_times: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Simulate both EEG derivations for one night.

    Args:
        beat_times: R-peak times (s) of the ECG, for the cardiac-field artefact.

    Returns:
        ``({name: (n,) microvolts}, frontal_slow)`` where ``frontal_slow`` is the slow-wave and
        K-complex part of Fpz-Cz (it leaks into the EOG).
    """
    n = ctx.n_samples(EEG_FS)
    w = ctx.weights
    asleep = 1.0 - w[0]
    closed = 1.0 - ctx.eyes_open

    def mix(levels: tuple[float, ...]) -> np.ndarray:
        return ctx.mix(levels)  # type: ignore[arg-type]

    # background: two aperiodic components, per-subject slope and stage levels, slow amplitude wander
    sg = np.asarray(params.stage_gain)
    bg_mod = _modulator(ctx, 0.2, 1.0 / 60.0, rng)
    flat, steep = 1.0 + params.aperiodic_shift, 2.2 + params.aperiodic_shift
    eeg = _rhythm(ctx, pink(flat, corner=2.0), mix(tuple(sg * (9, 9, 7, 5, 7))) * bg_mod, (1.0, 0.9), 0.35, rng)
    eeg += _rhythm(ctx, pink(steep, corner=0.7), mix(tuple(sg * (3, 6, 9, 13, 5))) * bg_mod, (1.0, 0.85), 0.5, rng)

    # alpha: eyes-closed wake; partial dropout in N1 (varying from epoch to epoch); a little in REM
    waxing = np.clip(1.0 + 0.45 * lowpass_noise(ctx.n_ctrl, 0.2, rng), 0.15, None)
    n1_alpha = np.clip(0.3 + 0.25 * lowpass_noise(ctx.n_ctrl, 1.0 / 45.0, rng), 0.02, 0.8)
    alpha_env = params.alpha_amp * waxing * np.clip(w[0] * (0.12 + 0.88 * closed) + 0.6 * ctx.arousal * asleep, 0, 1.2)
    eeg += _rhythm(ctx, peak(params.alpha_freq, 0.6), alpha_env, (0.35, 1.0), 0.8, rng)
    # drowsy (N1) alpha is ~0.8 Hz slower, REM alpha ~1.5 Hz slower than relaxed wake alpha
    env_n1, env_rem = params.alpha_amp * waxing * n1_alpha * w[1], params.alpha_amp * waxing * 0.18 * w[4]
    eeg += _rhythm(ctx, peak(params.alpha_freq - 0.8, 0.6), env_n1, (0.35, 1.0), 0.8, rng)
    eeg += _rhythm(ctx, peak(params.alpha_freq - 1.5, 0.6), env_rem, (0.45, 1.0), 0.8, rng)
    # theta: drowsiness, N1 and REM; varies in strength from minute to minute
    theta_env = params.theta_gain * (mix((2, 7, 5, 3, 7)) + 3.0 * w[0] * closed) * _modulator(ctx, 0.35, 1 / 40, rng)
    eeg += _rhythm(ctx, peak(params.theta_freq, 1.0), theta_env, (1.0, 0.8), 0.6, rng)
    # spindle propensity: slow lognormal drive, rising over the night (many N2 epochs have none)
    sp_drive = _modulator(ctx, 0.9, 1.0 / 60.0, rng) * (0.8 + 0.06 * ctx.hours)
    sigma_env = mix((0.4, 0.8, 3.0, 1.5, 0.3)) * np.sqrt(sp_drive) * (1.0 - ctx.arousal)
    eeg += _rhythm(ctx, peak(params.spindle_freq, 0.9), sigma_env, (0.9, 0.8), 0.6, rng)
    beta_env = params.beta_gain * mix((3.5, 2.5, 1.2, 0.8, 1.6)) * _modulator(ctx, 0.3, 1 / 40, rng)
    beta_env = beta_env + 2.0 * w[0] * ctx.eyes_open + 4.0 * ctx.arousal * asleep
    eeg += _rhythm(ctx, band(16.0, 28.0, 2.0), beta_env, (1.2, 0.8), 0.5, rng)
    # frontal and temporal muscle in alert wake and arousals (none in REM atonia)
    tone = params.frontal_emg_uv * (w[0] * (0.25 + 0.75 * ctx.eyes_open) + 0.15 * w[1] + 0.8 * ctx.arousal * asleep)
    eeg += _rhythm(ctx, band(20.0, 45.0, 4.0), tone * _modulator(ctx, 0.5, 0.1, rng), (1.0, 0.35), 0.3, rng)
    # slow waves: < 1 Hz slow oscillation grows with depth (N3); 1-4 Hz delta waves dominate light NREM
    so_env = params.slow_wave_amp * ctx.depth
    slow = _rhythm(ctx, peak(0.75, 0.35), so_env, (1.0, 0.6), 0.8, rng)
    delta_env = params.slow_wave_amp * 0.5 * np.minimum(ctx.depth, 0.35)
    slow += _rhythm(ctx, peak(1.8, 0.7), delta_env, (1.0, 0.7), 0.7, rng)

    def rate(levels: tuple[float, ...], per_min: float, gate: np.ndarray) -> np.ndarray:
        return per_min / 60.0 * mix(levels) * gate

    not_aroused = 1.0 - ctx.arousal
    # K-complexes (spontaneous in N2, some evoked at arousal onset); 35 % followed by a spindle
    kc_drive = not_aroused * _modulator(ctx, 0.7, 1.0 / 60.0, rng)
    kc_t = event_times(rate((0, 0.1, 1, 0.3, 0), params.kcomplex_rate, kc_drive) + 0.02 * ctx.arousal * asleep, rng)
    kc_amp = rng.uniform(70.0, 160.0, kc_t.size)
    kcomplex = _transients(
        kc_t, kc_amp, [(0.15, -0.15, 0.05), (-1.0, 0.05, 0.1), (0.55, 0.45, 0.18)], (0.4, 1.2), (1.0, 0.45), n
    )
    slow += kcomplex
    sp_t = event_times(rate((0, 0.05, 1, 0.35, 0), params.spindle_density, not_aroused * sp_drive), rng)
    sp_t = np.sort(np.concatenate([sp_t, kc_t[rng.random(kc_t.size) < 0.35] + 0.5]))
    eeg += slow + _spindles(sp_t, ctx.depth, params, n, rng)
    vx_gate = _modulator(ctx, 0.8, 1.0 / 60.0, rng)
    vx_t = event_times(rate((0.1, 1.0, 0.1, 0, 0), params.vertex_rate, vx_gate), rng)
    eeg += _transients(
        vx_t, rng.uniform(30.0, 90.0, vx_t.size), [(-1.0, 0.0, 0.045), (0.35, 0.12, 0.06)], (0.2, 0.4), (-0.8, 0.5), n
    )
    saw_gate = (lowpass_noise(ctx.n_ctrl, 1.0 / 120.0, rng) > 0.3).astype(np.float64)  # some REM stretches only
    saw_t = event_times(params.sawtooth_rate / 60.0 * w[4] * (0.3 + ctx.phasic) * saw_gate, rng)
    eeg += _sawtooth_trains(saw_t, n, rng)

    # eyes (Fpz sits just above them: blinks and vertical eye movements), heart, then electrodes
    eeg[0] += params.eye_leak * (0.6 * ocular.blinks + ocular.vertical) + 0.04 * ocular.horizontal
    eeg[1] += 0.03 * ocular.blinks
    eeg += _cardiac_field(beat_times, params.ecg_eeg_uv, n)
    eeg[0] += sweat_artefact(ctx, EEG_FS, params.sweat_uv, rng)
    contact = _poor_contact(ctx, params.bad_per_night, rng)
    out: dict[str, np.ndarray] = {}
    for ch, name in enumerate(EEG_NAMES):
        x = eeg[ch] * params.eeg_gain[ch] * slow_gain_drift(ctx, EEG_FS, 0.05, rng)
        x += params.noise_uv * rng.standard_normal(n)
        if contact[ch].any():
            x += ctx.at(contact[ch], EEG_FS) * spectrum_noise(n, EEG_FS, pink(1.5, corner=1.0), rng)
        x += movement_artefact(ctx, EEG_FS, 80.0, rng)
        x += electrode_pops(n, EEG_FS, params.pops_per_hour, 200.0, rng)
        x += mains_hum(n, EEG_FS, params.line_alias_uv, params.mains_offset_hz, rng)
        out[name] = x
    return out, slow[0] * params.eeg_gain[0]
