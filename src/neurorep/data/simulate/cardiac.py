"""Heart rate, beat times and the ``ECG`` channel (256 Hz, microvolts).

Heart rate (beats per minute, on the 10 Hz control grid) is the sum of

* a stage-dependent level: subject resting rate in N2, +7 W, +3 N1, -3.5 N3, +4 REM, falling
  0.7 bpm per hour over the night;
* respiratory sinus arrhythmia: ``rsa * sin(breathing phase)``, strongest in N3 (x1.25 of N2),
  weakest in REM and wake (x0.6);
* low-frequency (0.04-0.15 Hz) and very-low-frequency (< 0.03 Hz) fluctuations, large and
  irregular in REM and wake, small in N3 (so the LF/HF balance shifts with stage);
* surges of up to ~9 bpm with arousals and ~10 bpm with movements.

Beats follow from integrating the rate (integral pulse frequency modulation). Each beat is a
PQRST complex made of five Gaussians; the T wave moves with the RR interval (QT ~ sqrt(RR)) and the
R amplitude is modulated by breathing. Baseline wander, muscle noise, 50 Hz mains and electrode
artefacts are added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurorep.data.simulate.artefacts import (
    electrode_pops,
    mains_hum,
    movement_artefact,
)
from neurorep.data.simulate.params import SubjectParams
from neurorep.data.simulate.signals import (
    CTRL_FS,
    NightContext,
    add_waveforms,
    band,
    event_matrix,
    gauss,
    lowpass_noise,
    smooth,
    spectrum_noise,
)

ECG_FS = 256.0
# (name, relative amplitude, centre (s from R) at RR = 1 s, sd (s), scales with sqrt(RR))
_WAVES = (
    ("P", 0.11, -0.17, 0.024, False),
    ("Q", -0.10, -0.035, 0.010, False),
    ("R", 1.00, 0.0, 0.011, False),
    ("S", -0.22, 0.036, 0.012, False),
    ("T", 1.00, 0.27, 0.055, True),
)


@dataclass
class CardiacOutput:
    """ECG and the heart-rate process behind it.

    Attributes:
        ecg: ``(n,)`` ECG in microvolts at 256 Hz.
        beat_times: R-peak times (s).
        heart_rate: ``(n_ctrl,)`` instantaneous heart rate (bpm) on the control grid.
    """

    ecg: np.ndarray
    beat_times: np.ndarray
    heart_rate: np.ndarray


def heart_rate(ctx: NightContext, params: SubjectParams, rng: np.random.Generator, stage_scale: float = 1.0,
               drift_bpm: float = 0.0) -> np.ndarray:
    """Instantaneous heart rate (bpm) on the control grid.

    ``stage_scale`` multiplies the stage-dependent levels (1 = the defaults above); ``drift_bpm`` > 0
    adds a slow (< 0.004 Hz) wandering of the rate with that standard deviation, unrelated to the
    stage. The defaults (1, 0) draw exactly the same random numbers as before these options existed.
    """
    mix, n = ctx.mix, ctx.n_ctrl
    hr = params.hr_rest + float(stage_scale) * mix((7.0, 3.0, 0.0, -3.5, 4.0)) - 0.7 * ctx.hours
    hr += 9.0 * smooth(ctx.arousal, 4.0) + 10.0 * ctx.movement
    hr += params.rsa_amp * mix((0.6, 0.8, 1.0, 1.25, 0.6)) * np.sin(2.0 * np.pi * ctx.resp_phase)
    lf = spectrum_noise(n, CTRL_FS, band(0.04, 0.15, 0.02), rng)
    hr += params.lf_amp * mix((3.0, 2.5, 1.6, 0.9, 3.5)) * lf
    hr += params.lf_amp * mix((2.0, 1.2, 0.7, 0.5, 3.0)) * lowpass_noise(n, 0.03, rng)
    if drift_bpm > 0:
        hr += float(drift_bpm) * lowpass_noise(n, 0.004, rng)
    return np.clip(hr, 38.0, 150.0)


def beat_times_from_rate(hr: np.ndarray, fs: float = CTRL_FS) -> np.ndarray:
    """R-peak times (s) where the integrated rate ``hr`` (bpm on a grid at ``fs``) crosses integers."""
    phase = np.concatenate([[0.0], np.cumsum(hr / 60.0 / fs)])
    t = np.arange(phase.size) / fs
    k = np.arange(np.ceil(phase[0] + 0.3), np.floor(phase[-1]) + 1)  # first beat a little in
    return np.interp(k, phase, t)


def _render_beats(
    beats: np.ndarray, params: SubjectParams, ctx: NightContext, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Sum of PQRST complexes (microvolts) at ``beats``."""
    out = np.zeros(n)
    if beats.size == 0:
        return out
    rr = np.diff(beats, prepend=beats[0] - (beats[1] - beats[0] if beats.size > 1 else 1.0))
    rr = np.clip(rr, 0.35, 2.0)
    resp = np.interp(beats, np.arange(ctx.n_ctrl) / CTRL_FS, np.sin(2.0 * np.pi * ctx.resp_phase))
    scale = params.ecg_amp * (1.0 + 0.06 * resp) * (1.0 + 0.02 * rng.standard_normal(beats.size))
    for _name, rel_amp, mu, sd, qt in _WAVES:
        amp = rel_amp * (params.t_amp if qt else 1.0) * scale
        centre = beats + mu * (np.sqrt(rr) if qt else rr**0.3)
        width = sd * (np.sqrt(rr) if qt else np.ones_like(rr))
        half = 4.0 * float(width.max())  # +-4 sd: the bump is < 0.04 % of its peak at the edges
        start, rel = event_matrix(centre, ECG_FS, half, half)
        add_waveforms(out, start, amp[:, None] * gauss(rel, 0.0, width[:, None]))
    return out


def simulate_ecg(ctx: NightContext, params: SubjectParams, rng: np.random.Generator, stage_scale: float = 1.0,
                 drift_bpm: float = 0.0) -> CardiacOutput:
    """Simulate heart rate, beats and the ECG channel for one night (options: see :func:`heart_rate`)."""
    n = ctx.n_samples(ECG_FS)
    hr = heart_rate(ctx, params, rng, stage_scale=stage_scale, drift_bpm=drift_bpm)
    beats = beat_times_from_rate(hr)
    beats = beats[beats < ctx.duration]
    ecg = _render_beats(beats, params, ctx, n, rng)
    wander = 60.0 * np.sin(2.0 * np.pi * ctx.resp_phase) + 80.0 * lowpass_noise(ctx.n_ctrl, 0.05, rng)
    ecg += ctx.at(wander, ECG_FS)
    muscle = 3.0 * params.noise_uv + 5.0 * ctx.weights[0] + 8.0 * ctx.arousal + 40.0 * ctx.movement
    ecg += ctx.at(muscle, ECG_FS) * rng.standard_normal(n)
    ecg += mains_hum(n, ECG_FS, params.line_uv, params.mains_offset_hz, rng)
    ecg += movement_artefact(ctx, ECG_FS, 250.0, rng)
    ecg += electrode_pops(n, ECG_FS, params.pops_per_hour * 0.5, 400.0, rng)
    return CardiacOutput(ecg=ecg, beat_times=beats, heart_rate=hr)
