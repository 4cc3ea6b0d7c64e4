"""Per-subject and per-night parameters of the simulated sleep corpus.

Each subject gets one seeded draw of physiological and technical parameters (amplitudes, rhythm
frequencies, event densities, heart rate, artefact levels). Both nights of a subject share it; a
night adds small jitter of its own (:func:`night_params`). Everything derives from
``numpy.random.SeedSequence((seed, subject[, night]))`` so any subject or night can be made on its
own, in any order, in any process.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

#: Stream numbers for :func:`night_rng`, one per generator, so adding draws to one generator
#: never shifts the random numbers another one sees.
STREAMS = {
    "hypnogram": 0,
    "context": 1,
    "eeg": 2,
    "eog": 3,
    "emg": 4,
    "ecg": 5,
    "artefacts": 6,
    "meta": 7,
    "scorer": 8,
}


@dataclass(frozen=True)
class SubjectParams:
    """Physiological and technical traits of one simulated subject.

    Amplitudes are in microvolts, frequencies in Hz, rates per minute unless the name says
    otherwise.
    """

    subject: int
    sex: str  # "F" or "M"
    age: int  # years
    # sleep architecture
    cycle_min: float  # mean NREM-REM cycle length (minutes)
    latency_min: float  # mean sleep-onset latency (minutes)
    n3_scale: float  # multiplies the amount of N3
    rem_scale: float  # multiplies the REM fraction of each cycle
    waso_per_hour: float  # brief awakenings per hour of sleep
    arousal_per_hour: float  # EEG arousals (3-15 s) per hour of sleep
    crossfade_s: float  # width of the cross-fade between stages (seconds)
    n1_scale: float  # multiplies the length of N1 bouts
    # EEG
    eeg_gain: tuple[float, float]  # amplitude scaling of (Fpz-Cz, Pz-Oz)
    aperiodic_shift: float  # added to the exponents of the 1/f background
    stage_gain: tuple[float, float, float, float, float]  # background level per stage (W, N1, N2, N3, REM)
    alpha_freq: float  # posterior alpha peak frequency
    alpha_amp: float  # alpha standard deviation on Pz-Oz, eyes closed
    theta_gain: float  # multiplies theta
    theta_freq: float  # theta peak frequency
    beta_gain: float  # multiplies beta
    spindle_density: float  # spindles per minute of N2
    spindle_freq: float  # mean spindle frequency
    spindle_amp: float  # spindle peak amplitude
    kcomplex_rate: float  # K-complexes per minute of N2
    slow_wave_amp: float  # slow-wave standard deviation at full depth (Fpz-Cz)
    vertex_rate: float  # vertex sharp waves per minute of N1
    sawtooth_rate: float  # sawtooth trains per minute of REM
    eyes_open_frac: float  # fraction of wake spent with eyes open
    frontal_emg_uv: float  # frontal / temporal muscle artefact on Fpz-Cz in alert wake
    eye_leak: float  # share of the vertical eye signal (blinks, eye movements) seen on Fpz-Cz
    ecg_eeg_uv: float  # cardiac-field artefact (R peaks) on the EEG
    bad_per_night: float  # expected stretches of poor electrode contact per night
    # EOG / EMG
    blink_rate: float  # blinks per minute with eyes open
    rem_density: float  # rapid eye movements per second in phasic REM
    eog_gain: float
    emg_gain: float
    emg_ecg_leak: float  # ECG artefact on the submental EMG (microvolts per millivolt of ECG)
    # cardiac / respiration
    hr_rest: float  # heart rate in N2 at the start of the night (beats per minute)
    rsa_amp: float  # respiratory sinus arrhythmia amplitude in N2 (beats per minute)
    lf_amp: float  # low-frequency heart-rate variability scale (beats per minute)
    resp_rate: float  # breathing rate (Hz)
    ecg_amp: float  # R-wave amplitude (microvolts)
    t_amp: float  # T-wave amplitude relative to R
    # noise and artefacts
    noise_uv: float  # amplifier noise floor (microvolts, standard deviation)
    line_uv: float  # 50 Hz mains amplitude on the ECG (microvolts)
    line_alias_uv: float  # residual mains hum at the 50 Hz Nyquist bin of the 100 Hz channels
    mains_offset_hz: float  # deviation of the mains frequency from 50 Hz
    pops_per_hour: float  # electrode pops / jumps per hour
    movements_per_hour: float  # movement bursts per hour awake or aroused
    sweat_uv: float  # slow (< 0.5 Hz) sweat artefact on Fpz-Cz

    def to_dict(self) -> dict[str, object]:
        """Plain dictionary (JSON-serialisable) of the parameters."""
        return dataclasses.asdict(self)


def subject_rng(seed: int, subject: int) -> np.random.Generator:
    """Generator for the subject-level draw."""
    return np.random.default_rng(np.random.SeedSequence((int(seed), int(subject), 1_000_003)))


def night_rng(seed: int, subject: int, night: int, stream: str) -> np.random.Generator:
    """Generator for one named stream (see :data:`STREAMS`) of one night."""
    return np.random.default_rng(np.random.SeedSequence((int(seed), int(subject), int(night), STREAMS[stream])))


def draw_subject_params(seed: int, subject: int) -> SubjectParams:
    """Draw the parameters of ``subject`` for corpus ``seed`` (deterministic)."""
    rng = subject_rng(seed, subject)
    u = rng.uniform
    sex = "F" if rng.random() < 0.55 else "M"
    age = int(rng.integers(25, 46))
    age_factor = 1.0 - 0.012 * (age - 25)  # slow-wave sleep and RSA decline with age
    gain = rng.normal(0.0, 0.3)  # common amplitude factor (skull, electrode placement): x0.5-2
    return SubjectParams(
        subject=int(subject),
        sex=sex,
        age=age,
        cycle_min=float(u(82.0, 102.0)),
        latency_min=float(u(7.0, 24.0)),
        n3_scale=float(u(0.8, 1.15) * age_factor),
        rem_scale=float(u(0.88, 1.12)),
        waso_per_hour=float(u(0.6, 1.7)),
        arousal_per_hour=float(u(6.0, 20.0)),
        crossfade_s=float(u(20.0, 50.0)),
        n1_scale=float(u(0.8, 1.6)),
        eeg_gain=(float(np.exp(gain + rng.normal(0.0, 0.12))), float(np.exp(gain + rng.normal(0.0, 0.12)))),
        aperiodic_shift=float(u(-0.35, 0.35)),
        stage_gain=tuple(float(g) for g in np.exp(rng.normal(0.0, 0.15, 5))),  # type: ignore[arg-type]
        alpha_freq=float(u(8.0, 11.5)),
        alpha_amp=float(np.exp(u(np.log(3.0), np.log(22.0)))),
        theta_gain=float(np.exp(rng.normal(0.0, 0.35))),
        theta_freq=float(u(5.0, 7.0)),
        beta_gain=float(np.exp(rng.normal(0.0, 0.4))),
        spindle_density=float(u(0.8, 6.5)),
        spindle_freq=float(u(11.5, 14.5)),
        spindle_amp=float(u(20.0, 45.0)),
        kcomplex_rate=float(u(0.4, 2.5)),
        slow_wave_amp=float(u(38.0, 72.0) * (0.85 + 0.15 * age_factor)),
        vertex_rate=float(u(1.0, 5.0)),
        sawtooth_rate=float(u(0.3, 2.5)),
        eyes_open_frac=float(u(0.2, 0.8)),
        frontal_emg_uv=float(u(1.0, 8.0)),
        eye_leak=float(u(0.1, 0.35)),
        ecg_eeg_uv=float(u(0.0, 6.0)),
        bad_per_night=float(u(0.0, 2.0)),
        blink_rate=float(u(10.0, 24.0)),
        rem_density=float(u(0.8, 2.0)),
        eog_gain=float(np.exp(rng.normal(0.0, 0.2))),
        emg_gain=float(np.exp(rng.normal(0.0, 0.3))),
        emg_ecg_leak=float(u(0.0, 4.0)),
        hr_rest=float(u(52.0, 70.0)),
        rsa_amp=float(u(2.0, 5.0) * age_factor),
        lf_amp=float(u(0.7, 1.4)),
        resp_rate=float(u(0.22, 0.29)),
        ecg_amp=float(u(700.0, 1500.0)),
        t_amp=float(u(0.18, 0.35)),
        noise_uv=float(np.exp(u(np.log(0.5), np.log(2.5)))),
        line_uv=float(np.exp(rng.uniform(np.log(2.0), np.log(60.0)))),
        line_alias_uv=float(u(0.0, 1.5)),
        mains_offset_hz=float(u(-0.05, 0.05)),
        pops_per_hour=float(u(0.0, 6.0)),
        movements_per_hour=float(u(2.0, 8.0)),
        sweat_uv=float(np.exp(u(np.log(1.0), np.log(25.0)))),
    )


@dataclass(frozen=True)
class NightParams:
    """Night-level variation on top of the subject's traits."""

    latency_min: float  # sleep-onset latency of this night (minutes)
    final_wake_min: float  # wake after the final awakening (minutes)
    cycle_min: float  # mean cycle length of this night (minutes)
    waso_scale: float  # multiplies the awakening rate
    unscored_epochs: int  # epochs at the end scored "Sleep stage ?"
    n3_threshold: float  # slow-wave depth from which this night's scorer calls an epoch N3
    lag_p: float  # chance that the scorer keeps the previous stage for the first epoch of a new one
    confusion: float  # multiplies the scorer's stage confusions (W/N1, N1/N2, N1/REM, ...)


def night_params(params: SubjectParams, night: int, rng: np.random.Generator) -> NightParams:
    """Draw this night's variation; night 1 sleeps slightly worse (first-night effect)."""
    first = 1.2 if night == 1 else 1.0
    latency = float(np.clip(params.latency_min * first * np.exp(rng.normal(0.0, 0.25)), 5.0, 30.0))
    return NightParams(
        latency_min=latency,
        final_wake_min=float(rng.uniform(3.0, 15.0)),
        cycle_min=float(params.cycle_min * np.exp(rng.normal(0.0, 0.05))),
        waso_scale=float(first * np.exp(rng.normal(0.0, 0.2))),
        unscored_epochs=int(rng.integers(0, 4) if rng.random() < 0.5 else 0),
        n3_threshold=float(rng.uniform(0.25, 0.37)),
        lag_p=float(rng.uniform(0.3, 0.6)),
        confusion=float(rng.uniform(1.0, 2.0)),
    )
