"""Technical artefacts shared by the simulated channels: pops, movement, sweat and mains hum."""

from __future__ import annotations

import numpy as np

from neurorep.data.simulate.signals import (
    CTRL_FS,
    NightContext,
    add_waveforms,
    lowpass_noise,
    sinusoid,
)


def electrode_pops(n: int, fs: float, per_hour: float, amp_uv: float, rng: np.random.Generator) -> np.ndarray:
    """Electrode pops and jumps: steps of random sign that decay exponentially (tau 0.2-2 s).

    Returns:
        ``(n,)`` artefact in microvolts.
    """
    out = np.zeros(n)
    count = int(rng.poisson(per_hour * n / fs / 3600.0))
    if count == 0:
        return out
    starts = rng.integers(0, n, count)
    tau = rng.uniform(0.2, 2.0, count)
    amp = amp_uv * rng.uniform(0.3, 1.0, count) * rng.choice([-1.0, 1.0], count)
    t = np.arange(int(6.0 * fs)) / fs
    add_waveforms(out, starts, amp[:, None] * np.exp(-t[None, :] / tau[:, None]))
    return out


def movement_artefact(ctx: NightContext, fs: float, amp_uv: float, rng: np.random.Generator) -> np.ndarray:
    """Body-movement artefact: large slow swings plus broadband noise, gated by ``ctx.movement``.

    Returns:
        ``(n,)`` artefact in microvolts at ``fs``.
    """
    n = ctx.n_samples(fs)
    gate = ctx.at(ctx.movement, fs)
    active = gate > 1e-3
    out = np.zeros(n)
    if not active.any():
        return out
    slow = ctx.at(lowpass_noise(ctx.n_ctrl, 1.5, rng), fs)
    out[active] = amp_uv * gate[active] * (slow[active] + 0.6 * rng.standard_normal(int(active.sum())))
    return out


def sweat_artefact(ctx: NightContext, fs: float, amp_uv: float, rng: np.random.Generator) -> np.ndarray:
    """Slow (< 0.4 Hz) skin-potential drift that grows over the night."""
    slow = lowpass_noise(ctx.n_ctrl, 0.4, rng) * amp_uv * (0.3 + ctx.hours / 6.0)
    return ctx.at(slow, fs)


def mains_hum(n: int, fs: float, amp_uv: float, offset_hz: float, rng: np.random.Generator) -> np.ndarray:
    """50 Hz mains interference (frequency ``50 + offset_hz``), plus a small 100 Hz harmonic if ``fs > 200``.

    At ``fs = 100`` the fundamental falls on the Nyquist frequency: the samples are
    ``(-1)**k * A * cos(2 pi offset_hz t + phi)``, a hum at 50 Hz whose amplitude beats slowly,
    which is what a 100 Hz recording of imperfectly filtered mains looks like.
    """
    hum = np.zeros(n)
    if amp_uv <= 0:
        return hum
    f0 = 50.0 + offset_hz
    phase = rng.uniform(0.0, 2.0 * np.pi, 2)
    hum += amp_uv * sinusoid(n, fs, f0, phase[0])
    if 2.0 * f0 < fs / 2.0:  # second harmonic where the rate allows it
        hum += 0.15 * amp_uv * sinusoid(n, fs, 2.0 * f0, phase[1])
    return hum


def slow_gain_drift(ctx: NightContext, fs: float, depth: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative electrode-impedance drift ``1 + depth * noise`` varying over tens of minutes."""
    return ctx.at(1.0 + depth * lowpass_noise(ctx.n_ctrl, 1.0 / 1200.0, rng, CTRL_FS), fs)

