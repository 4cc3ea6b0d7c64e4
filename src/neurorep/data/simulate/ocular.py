"""Eye movements and blinks, and the horizontal EOG channel built from them.

Sources (microvolts at 100 Hz):

* saccades: a piecewise-constant gaze (horizontal, and a vertical part 0.45 times as large) whose
  jumps take 40-70 ms; frequent in wake with eyes open, clustered in phasic REM (rapid eye
  movements), nearly absent in N2/N3;
* slow rolling eye movements (0.15-0.5 Hz) in N1 and drowsy, eyes-closed wake;
* blinks (mostly vertical: large on Fpz-Cz, small on the horizontal EOG) in wake with eyes open.

The EOG recording is AC-coupled (first-order high-pass, time constant 1.5 s), so held gaze
positions decay back to zero as in a real EOG.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import lfilter

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
    event_times,
    gauss,
    spectrum_noise,
)

EOG_FS = 100.0


@dataclass
class OcularSources:
    """Eye signals before they reach an electrode (microvolts, ``(n,)`` at 100 Hz each).

    Attributes:
        horizontal: high-passed horizontal gaze (saccades, rapid and slow eye movements).
        vertical: high-passed vertical gaze (the vertical part of oblique saccades and rapid eye
            movements); with the blinks it is what the frontal EEG picks up.
        blinks: vertical blink deflections.
        saccade_times: onset of every saccade (s).
    """

    horizontal: np.ndarray
    vertical: np.ndarray
    blinks: np.ndarray
    saccade_times: np.ndarray


def highpass(x: np.ndarray, fs: float, tau: float) -> np.ndarray:
    """First-order (AC-coupling) high-pass with time constant ``tau`` seconds."""
    a = tau / (tau + 1.0 / fs)
    return lfilter([a, -a], [1.0, -a], x)


def ocular_sources(ctx: NightContext, params: SubjectParams, rng: np.random.Generator) -> OcularSources:
    """Simulate saccades, slow eye movements and blinks for one night."""
    fs = EOG_FS
    n = ctx.n_samples(fs)
    w, eo, ph = ctx.weights, ctx.eyes_open, ctx.phasic

    # saccades and rapid eye movements
    rem_density = params.rem_density * (0.7 + 0.1 * ctx.hours)  # REM density grows over the night
    rate = w[0] * (1.1 * eo + 0.08 * (1.0 - eo)) + 0.3 * ctx.arousal + w[4] * (0.03 + ph * rem_density)
    times = event_times(rate, rng)
    idx = np.clip((times * fs).astype(np.int64), 0, n - 1)
    in_rem = w[4][np.clip((times * CTRL_FS).astype(int), 0, ctx.n_ctrl - 1)] > 0.5
    targets = rng.normal(0.0, 1.0, (2, times.size)) * np.where(in_rem, 150.0, 110.0) * np.array([[1.0], [0.45]])
    steps = np.diff(np.concatenate([np.zeros((2, 1)), targets], axis=1), axis=1)
    gaze = np.stack([np.cumsum(np.bincount(idx, weights=st, minlength=n)) for st in steps])
    gaze = uniform_filter1d(uniform_filter1d(gaze, 3, axis=-1), 3, axis=-1)  # ~50 ms ramps

    # slow rolling eye movements: N1 and drowsy wake with eyes closed
    sem_env = 55.0 * w[1] + 18.0 * w[0] * (1.0 - eo)
    sem = spectrum_noise(ctx.n_ctrl, CTRL_FS, band(0.15, 0.5, 0.1), rng) * sem_env
    sem = ctx.at(sem, fs)
    horizontal = highpass(gaze[0] + sem, fs, 1.5)
    vertical = highpass(gaze[1] + 0.3 * sem, fs, 1.5)

    # blinks
    b_rate = params.blink_rate / 60.0 * w[0] * (eo + 0.1 * (1.0 - eo)) + 0.1 * ctx.arousal
    b_times = event_times(b_rate, rng)
    start, rel = event_matrix(b_times, fs, 0.3, 0.6)
    amp = rng.uniform(100.0, 250.0, b_times.size)[:, None]
    shape = np.where(rel < 0.0, gauss(rel, 0.0, 0.055), gauss(rel, 0.0, 0.11))
    blinks = np.zeros(n)
    add_waveforms(blinks, start, amp * shape)
    return OcularSources(horizontal=horizontal, vertical=vertical, blinks=blinks, saccade_times=times)


def simulate_eog(
    ctx: NightContext,
    params: SubjectParams,
    sources: OcularSources,
    frontal_slow: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The ``EOG horizontal`` channel in microvolts at 100 Hz.

    Args:
        frontal_slow: frontal slow-wave and K-complex activity (microvolts, 100 Hz) that leaks
            into the EOG derivation.
    """
    fs = EOG_FS
    n = ctx.n_samples(fs)
    eog = params.eog_gain * (sources.horizontal + 0.12 * sources.blinks)
    eog += 0.25 * frontal_slow
    eog += params.noise_uv * 1.5 * rng.standard_normal(n)
    eog += movement_artefact(ctx, fs, 120.0, rng)
    eog += electrode_pops(n, fs, params.pops_per_hour * 0.5, 250.0, rng)
    eog += mains_hum(n, fs, params.line_alias_uv, params.mains_offset_hz, rng)
    return highpass(eog, fs, 5.0)
