"""Signal model of the simulated HCP-style MEG corpus: task sources, subjects, one recording.

Every recording is ``data[248, T] = gain * (M_subject @ S(t)) + background + sensor noise`` in tesla:

- ``S(t)``: narrow-band source time courses (band-passed white noise), one per *task source*
  below, with class-dependent amplitudes (:data:`TASK_AMPLITUDE`):

  ========================  ================  =========  =====  =====  =====  =====
  source                    place             band (Hz)  rest   motor  story  WM
  ========================  ================  =========  =====  =====  =====  =====
  posterior alpha           occipital         ~10        1.00   0.50   0.40   0.45
  sensorimotor mu / beta    left + right C    ~10, ~20   0.80   0.25   0.70   0.65
  temporal (language)       left + right T    4-8, 30-40 0.30   0.30   1.00   0.45
  frontal theta             frontal midline   ~6         0.30   0.40   0.60   1.00
  parietal beta             parietal midline  ~16        0.40   0.55   0.40   0.85
  ========================  ================  =========  =====  =====  =====  =====

- ``M_subject``: dipole-like topographies (two Gaussian lobes of opposite sign) over the 2-D
  Magnes layout, moved by the subject's *head position* (shift and rotation in the helmet),
  so a topography learnt on one subject lands on other sensors for the next;
- ``gain``: a subject gain times a per-sensor gain (calibration / distance differences);
- background: spatially smooth pink-noise sources at random places, the same for every class;
- sensor noise: white, independent per sensor.

Each recording also scales each task source by its own random factor, so classes overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from neurorep.data.sensor_grid import magnes_positions

# (name, centre x, centre y, lobe direction in degrees, [(band low, band high, relative weight), ...])
TASK_SOURCES: list[tuple[str, float, float, float, list[tuple[float, float, float]]]] = [
    ("alpha_post", 0.48, 0.10, 0.0, [(8.5, 11.5, 1.0)]),
    ("mu_left", 0.30, 0.47, 90.0, [(9.0, 12.0, 0.7), (18.0, 24.0, 0.5)]),
    ("mu_right", 0.66, 0.47, 90.0, [(9.0, 12.0, 0.7), (18.0, 24.0, 0.5)]),
    ("temporal_left", 0.10, 0.34, 0.0, [(4.0, 8.0, 0.8), (30.0, 40.0, 0.4)]),
    ("temporal_right", 0.86, 0.34, 0.0, [(4.0, 8.0, 0.8), (30.0, 40.0, 0.4)]),
    ("frontal_theta", 0.48, 0.70, 0.0, [(5.0, 7.0, 1.0)]),
    ("parietal_beta", 0.48, 0.28, 90.0, [(14.0, 18.0, 1.0)]),
]
SOURCE_GROUP = {"alpha_post": "alpha", "mu_left": "mu", "mu_right": "mu", "temporal_left": "temporal",
                "temporal_right": "temporal", "frontal_theta": "frontal", "parietal_beta": "parietal"}
TASK_AMPLITUDE: dict[str, dict[str, float]] = {
    "rest": {"alpha": 1.00, "mu": 0.80, "temporal": 0.30, "frontal": 0.30, "parietal": 0.40},
    "motor": {"alpha": 0.50, "mu": 0.25, "temporal": 0.30, "frontal": 0.40, "parietal": 0.55},
    "story_math": {"alpha": 0.40, "mu": 0.70, "temporal": 1.00, "frontal": 0.60, "parietal": 0.40},
    "working_memory": {"alpha": 0.45, "mu": 0.65, "temporal": 0.45, "frontal": 1.00, "parietal": 0.85},
}
UNIT = 1e-12  # tesla: source amplitudes are of order 1 pT at the sensors
N_BACKGROUND = 12


@dataclass(frozen=True)
class Difficulty:
    """Knobs of the corpus: subject differences, recording jitter and noise levels."""

    head_shift: float = 0.05      # sd of the head shift, in layout units (the helmet is ~0.9 wide)
    head_rotation: float = 8.0    # sd of the head rotation, degrees
    subject_gain: float = 0.25    # sd of the log subject gain
    sensor_gain: float = 0.10     # sd of the per-sensor gain factor
    recording_jitter: float = 0.30  # sd of the log per-recording, per-source amplitude factor
    background: float = 0.6       # amplitude of the shared pink-noise background sources
    sensor_noise: float = 0.35    # sd of the white sensor noise


@dataclass(frozen=True)
class Subject:
    """A simulated subject: head position, gains and individual peak-frequency offset."""

    name: str
    shift: np.ndarray        # (2,)
    rotation: float          # radians
    gain: float
    sensor_gain: np.ndarray  # (248,)
    freq_offset: float       # Hz added to every band


def make_subject(name: str, rng: np.random.Generator, d: Difficulty) -> Subject:
    """Draw one subject's head position, gains and frequency offset."""
    return Subject(name=name, shift=rng.normal(0, d.head_shift, 2), rotation=np.deg2rad(rng.normal(0, d.head_rotation)),
                   gain=float(np.exp(rng.normal(0, d.subject_gain))),
                   sensor_gain=np.clip(rng.normal(1.0, d.sensor_gain, 248), 0.5, 1.5),
                   freq_offset=float(rng.normal(0, 0.6)))


def dipole_topography(xy: np.ndarray, centre: np.ndarray, angle: float, width: float = 0.09,
                      separation: float = 0.10) -> np.ndarray:
    """Field pattern ``[n_sensors]`` of a dipole-like source: + lobe and - lobe around ``centre``."""
    d = separation / 2 * np.array([np.cos(angle), np.sin(angle)])
    plus = np.exp(-((xy - (centre + d)) ** 2).sum(1) / (2 * width**2))
    minus = np.exp(-((xy - (centre - d)) ** 2).sum(1) / (2 * width**2))
    topo = plus - minus
    return topo / np.abs(topo).max()


def subject_topographies(subject: Subject) -> np.ndarray:
    """Mixing matrix ``[248, n_task_sources]`` of one subject (head shift and rotation applied)."""
    xy = magnes_positions()
    centre = xy.mean(0)
    c, s = np.cos(subject.rotation), np.sin(subject.rotation)
    rot = np.array([[c, -s], [s, c]])
    cols = []
    for _, cx, cy, angle, _bands in TASK_SOURCES:
        pos = rot @ (np.array([cx, cy]) - centre) + centre + subject.shift
        cols.append(dipole_topography(xy, pos, np.deg2rad(angle) + subject.rotation))
    return np.stack(cols, axis=1)


def band_noise(rng: np.random.Generator, n: int, sfreq: float, lo: float, hi: float) -> np.ndarray:
    """Unit-variance band-passed white noise ``[n]`` (4th-order Butterworth, zero phase)."""
    sos = sps.butter(4, [lo, min(hi, sfreq / 2 * 0.95)], btype="bandpass", fs=sfreq, output="sos")
    x = sps.sosfiltfilt(sos, rng.standard_normal(n + 2 * int(sfreq)))[int(sfreq):-int(sfreq)]
    return x / (x.std() + 1e-12)


def pink_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Unit-variance 1/f noise ``shape = (n_series, n_times)`` made by shaping a white spectrum."""
    n = shape[1]
    spec = np.fft.rfft(rng.standard_normal(shape), axis=1)
    f = np.arange(spec.shape[1], dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n=n, axis=1)
    return x / (x.std(axis=1, keepdims=True) + 1e-12)


def simulate_recording(subject: Subject, label: str, n_times: int, sfreq: float, rng: np.random.Generator,
                       d: Difficulty) -> np.ndarray:
    """One recording ``[248, n_times]`` float32 in tesla of ``subject`` doing task ``label``."""
    amp = TASK_AMPLITUDE[label]
    tcs = []
    for name, *_, bands in TASK_SOURCES:
        tc = sum(w * band_noise(rng, n_times, sfreq, lo + subject.freq_offset, hi + subject.freq_offset)
                 for lo, hi, w in bands)
        tcs.append(amp[SOURCE_GROUP[name]] * float(np.exp(rng.normal(0, d.recording_jitter))) * tc)
    brain = subject_topographies(subject) @ np.stack(tcs)
    xy = magnes_positions()
    places = xy.min(0) + rng.random((N_BACKGROUND, 2)) * np.ptp(xy, axis=0)
    bg_mix = np.stack([dipole_topography(xy, p, rng.uniform(0, np.pi), width=0.12) for p in places], axis=1)
    brain += d.background * bg_mix @ pink_noise(rng, (N_BACKGROUND, n_times)) / np.sqrt(N_BACKGROUND / 3)
    data = subject.gain * subject.sensor_gain[:, None] * brain
    data += d.sensor_noise * rng.standard_normal(data.shape)
    return (UNIT * data).astype(np.float32)
