"""The ``EMG submental`` channel (100 Hz, microvolts).

Band-limited (10-45 Hz) noise whose amplitude follows muscle tone: highest in wake (11 uV sd,
fluctuating), lower in N1 (7), N2 (5) and N3 (4.2), lowest in REM (1.3, atonia), all scaled by the
subject's EMG gain. Arousals and movements add bursts; phasic REM adds brief twitches (50-250 ms).
A small ECG artefact (R peaks) and the amplifier noise floor are always present.
"""

from __future__ import annotations

import numpy as np

from neurorep.data.simulate.artefacts import mains_hum, movement_artefact
from neurorep.data.simulate.params import SubjectParams
from neurorep.data.simulate.signals import (
    NightContext,
    add_waveforms,
    band,
    event_matrix,
    event_times,
    gauss,
    lowpass_noise,
    spectrum_noise,
)

EMG_FS = 100.0


def simulate_emg(
    ctx: NightContext, params: SubjectParams, beat_times: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Simulate the submental EMG for one night.

    Args:
        beat_times: R-peak times (s) of the ECG, for the cardiac artefact.

    Returns:
        ``(n,)`` EMG in microvolts at 100 Hz.
    """
    n = ctx.n_samples(EMG_FS)
    w = ctx.weights
    tone_var = np.clip(1.0 + 0.3 * lowpass_noise(ctx.n_ctrl, 0.05, rng), 0.4, None)
    tone = params.emg_gain * ctx.mix((11.0, 7.0, 5.0, 4.2, 1.3)) * np.where(w[0] > 0.5, tone_var, 1.0)
    tone += params.emg_gain * 12.0 * ctx.arousal * (1.0 - w[0]) + 40.0 * ctx.movement
    env = ctx.at(tone, EMG_FS)

    # REM twitches: short high-amplitude bursts, clustered in phasic REM
    tw_t = event_times(w[4] * (0.05 + 0.5 * ctx.phasic), rng)
    if tw_t.size:
        dur = rng.uniform(0.05, 0.25, tw_t.size)[:, None]
        start, rel = event_matrix(tw_t, EMG_FS, 0.0, 0.6)
        amp = params.emg_gain * rng.uniform(4.0, 15.0, tw_t.size)[:, None]
        add_waveforms(env, start, amp * gauss(rel, dur, dur / 2.0))

    emg = env * spectrum_noise(n, EMG_FS, band(10.0, 45.0, 4.0), rng)
    emg += 0.5 * params.noise_uv * rng.standard_normal(n)
    if beat_times.size and params.emg_ecg_leak > 0:
        start, rel = event_matrix(beat_times, EMG_FS, 0.05, 0.05)
        qrs = params.emg_ecg_leak * params.ecg_amp / 1000.0 * (gauss(rel, 0.0, 0.012) - 0.3 * gauss(rel, 0.035, 0.012))
        add_waveforms(emg, start, qrs)
    emg += 0.3 * movement_artefact(ctx, EMG_FS, 60.0, rng)
    emg += mains_hum(n, EMG_FS, params.line_alias_uv, params.mains_offset_hz, rng)
    return emg
