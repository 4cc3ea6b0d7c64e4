"""Simulated HMS corpus: ``train.csv`` with noisy expert votes + ``train_eegs/<eeg_id>.parquet``.

Each patient has a few EEGs (19 10-20 electrodes + EKG at 200 Hz, µV, float32) and most of a
patient's EEGs show the same pattern. Patterns over a 1/f background with posterior alpha, an
EKG and occasional blink / muscle artefacts:

- ``seizure``: evolving rhythmic activity, frequency rising (about 2.5 -> 7 Hz) and amplitude
  growing while it spreads from a focal temporal chain to both hemispheres;
- ``lpd`` / ``gpd``: periodic sharp discharges (spike + slow after-wave, 0.7-2.5 Hz) on one
  hemisphere / on every channel with frontal predominance;
- ``lrda`` / ``grda``: rhythmic delta (1-2.5 Hz) in bursts, lateralised / generalised;
- ``other``: background only.

Each EEG has a pattern strength ``s`` in [0.2, 1]; experts (1-3 or 10-20 of them) vote for the
true pattern with probability ``0.35 + 0.55 s`` and otherwise for a related pattern or "other",
so weak patterns get spread-out votes, as in the real data. Some EEGs carry NaN gaps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.corpora import SIMULATORS
from neurorep.data.readers.hms import (
    HMS_CHANNELS,
    HMS_CLASSES,
    HMS_EEG_CHANNELS,
    HMS_SFREQ,
    SEGMENT_S,
    VOTE_COLUMNS,
)
from neurorep.errors import ConfigError
from neurorep.processes import worker_pool
from neurorep.progress import progress_bar

__all__ = ["simulate_hms", "simulate_hms_eeg"]

FS = HMS_SFREQ
LEFT = ["Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1"]
RIGHT = ["Fp2", "F4", "C4", "P4", "F8", "T4", "T6", "O2"]
FRONTAL = {"Fp1", "Fp2", "F3", "F4", "F7", "F8", "Fz"}
POSTERIOR = {"O1", "O2", "P3", "P4", "Pz", "T5", "T6"}
#: Patterns an expert confuses each pattern with (when not voting for it).
CONFUSIONS = {0: [1, 3, 5], 1: [2, 0, 5], 2: [1, 4, 5], 3: [4, 0, 5], 4: [3, 2, 5], 5: [3, 4, 1, 2]}


def _weights(side: str, generalised: bool) -> np.ndarray:
    """Per-electrode amplitude weights ``[19]``: one hemisphere (lateralised) or all (generalised)."""
    w = np.empty(len(HMS_EEG_CHANNELS))
    for i, ch in enumerate(HMS_EEG_CHANNELS):
        if generalised:
            w[i] = 1.0 if ch in FRONTAL else 0.75
        else:
            own = LEFT if side == "L" else RIGHT
            w[i] = 1.0 if ch in own else (0.45 if ch in ("Fz", "Cz", "Pz") else 0.12)
    return w


def _pink(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    """``[k, n]`` unit-variance noise with a 1/f power spectrum above 0.5 Hz."""
    f = np.fft.rfftfreq(n, 1 / FS)
    amp = 1 / np.sqrt(np.maximum(f, 0.5))
    amp[0] = 0
    spec = (rng.standard_normal((k, f.size)) + 1j * rng.standard_normal((k, f.size))) * amp
    x = np.fft.irfft(spec, n=n, axis=-1)
    return x / x.std(axis=-1, keepdims=True)


def _discharges(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """A train of periodic discharges ``[n]`` (sharp biphasic spike + slow after-wave), peak ~1."""
    t = np.arange(int(0.6 * FS)) / FS
    spike = -np.gradient(np.exp(-0.5 * ((t - 0.06) / 0.015) ** 2)) * 0.015 * FS * 1.6
    wave = spike - 0.5 * np.exp(-0.5 * ((t - 0.22) / 0.06) ** 2)
    out = np.zeros(n + wave.size)
    pos = rng.uniform(0, 1 / rate)
    while pos * FS < n:
        i = int(pos * FS)
        out[i:i + wave.size] += wave * rng.uniform(0.8, 1.2)
        pos += (1 / rate) * rng.uniform(0.9, 1.1)
    return out[:n]


def _bursts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Smooth on/off envelope ``[n]`` (bursts of 4-15 s)."""
    env = np.zeros(n)
    pos = rng.uniform(0, 5)
    while pos * FS < n:
        length = rng.uniform(4, 15)
        i, j = int(pos * FS), int(min(n, (pos + length) * FS))
        env[i:j] = 1
        pos += length + rng.uniform(1, 6)
    k = int(FS)
    return np.convolve(env, np.ones(k) / k, mode="same")


def _pattern(rng: np.random.Generator, cls: int, n: int, s: float) -> np.ndarray:
    """The class pattern ``[19, n]`` in µV at strength ``s``."""
    side = "L" if rng.random() < 0.5 else "R"
    t = np.arange(n) / FS
    if cls == 0:  # seizure: evolving frequency, growing amplitude, spreading field
        f = np.linspace(rng.uniform(2, 3), rng.uniform(6, 8), n)
        phase = 2 * np.pi * np.cumsum(f) / FS
        wave = np.sin(phase) + 0.4 * np.sin(2 * phase + 0.5)
        amp = 90 * s * np.linspace(0.5, 1.2, n)
        focal = np.array([1.0 if ch in (("F7", "T3", "T5") if side == "L" else ("F8", "T4", "T6")) else 0.05
                          for ch in HMS_EEG_CHANNELS])
        spread = np.linspace(0, 1, n) ** 1.5
        field = focal[:, None] * (1 - spread) + _weights(side, True)[:, None] * spread
        return field * (amp * wave)[None]
    if cls in (1, 2):  # periodic discharges
        rate = rng.uniform(0.7, 1.8) if cls == 1 else rng.uniform(1.0, 2.5)
        train = _discharges(rng, n, rate) * 130 * s
        return _weights(side, cls == 2)[:, None] * train[None]
    if cls in (3, 4):  # rhythmic delta
        f = rng.uniform(1.0, 2.5)
        wave = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * _bursts(rng, n) * 75 * s
        return _weights(side, cls == 4)[:, None] * wave[None]
    return np.zeros((len(HMS_EEG_CHANNELS), n))


def simulate_hms_eeg(rng: np.random.Generator, cls: int, strength: float, duration_s: float,
                     patient: dict[str, float]) -> np.ndarray:
    """One EEG ``[20, n]`` (19 electrodes + EKG) in µV, float32, for pattern ``cls``."""
    n = round(duration_s * FS)
    c = len(HMS_EEG_CHANNELS)
    shared = _pink(rng, 1, n)
    x = (0.75 * _pink(rng, c, n) + 0.45 * shared) * patient["bg_uv"]
    t = np.arange(n) / FS
    alpha = np.sin(2 * np.pi * patient["alpha_hz"] * t + rng.uniform(0, 6.3)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t))
    post = np.array([1.0 if ch in POSTERIOR else 0.2 for ch in HMS_EEG_CHANNELS])
    x += post[:, None] * alpha[None] * patient["alpha_uv"]
    x += _pattern(rng, cls, n, strength)
    # EKG: R peaks and T waves; a little of it leaks into the EEG
    hr = rng.uniform(60, 100) / 60
    ekg = np.zeros(n)
    beat_t = np.arange(rng.uniform(0, 1 / hr), duration_s, 1 / hr)
    local = np.arange(-int(0.1 * FS), int(0.5 * FS)) / FS  # one beat: R peak at 0, T wave at 0.25 s
    beat = 450 * np.exp(-0.5 * (local / 0.012) ** 2) + 80 * np.exp(-0.5 * ((local - 0.25) / 0.05) ** 2)
    for b in beat_t:
        i = round(b * FS) - int(0.1 * FS)
        lo, hi = max(i, 0), min(i + beat.size, n)
        if hi > lo:
            ekg[lo:hi] += beat[lo - i:hi - i]
    ekg += rng.normal(0, 15, n)
    x += 0.02 * ekg[None] * rng.uniform(0.5, 1.5, (c, 1))
    # artefacts: blinks on the frontal poles, muscle bursts on the temporal chains
    for _ in range(rng.poisson(duration_s / 20)):
        b = rng.uniform(0, duration_s)
        blink = 150 * np.exp(-0.5 * ((t - b) / 0.12) ** 2)
        for ch in ("Fp1", "Fp2"):
            x[HMS_EEG_CHANNELS.index(ch)] += blink
    for _ in range(rng.poisson(duration_s / 40)):
        i = int(rng.uniform(0, n - FS))
        idx = [HMS_EEG_CHANNELS.index(ch) for ch in (("F7", "T3") if rng.random() < 0.5 else ("F8", "T4"))]
        x[idx, i:i + int(FS)] += rng.normal(0, 25, (len(idx), int(FS)))
    x *= np.array([patient[f"gain{i}"] for i in range(c)])[:, None]
    return np.vstack([x, ekg[None]]).astype(np.float32)


def _votes(rng: np.random.Generator, cls: int, strength: float) -> np.ndarray:
    """Expert votes ``[6]`` for an EEG of true pattern ``cls`` and strength ``strength``."""
    n_voters = int(rng.integers(1, 4)) if rng.random() < 0.4 else int(rng.integers(10, 21))
    p_right = 0.35 + 0.55 * strength
    votes = np.zeros(len(HMS_CLASSES))
    for _ in range(n_voters):
        votes[cls if rng.random() < p_right else rng.choice(CONFUSIONS[cls])] += 1
    return votes


def _patient(args: tuple[int, int, int, int, float, int, float]) -> tuple[list[dict[str, Any]], list[tuple[int, np.ndarray]]]:
    """Rows of train.csv and EEGs ``(eeg_id, [20, n])`` of one patient."""
    seed, pid, k, n_eegs, duration_s, labels_per_eeg, nan_fraction = args
    rng = np.random.default_rng(seed)
    patient = {"bg_uv": rng.uniform(12, 25), "alpha_hz": rng.uniform(8, 11), "alpha_uv": rng.uniform(4, 12),
               **{f"gain{i}": rng.uniform(0.8, 1.2) for i in range(len(HMS_EEG_CHANNELS))}}
    dominant = int(rng.integers(0, len(HMS_CLASSES)))
    rows, eegs = [], []
    for e in range(n_eegs):
        cls = dominant if rng.random() < 0.6 else int(rng.integers(0, len(HMS_CLASSES)))
        strength = float(rng.uniform(0.2, 1.0))
        eeg_id = int(rng.integers(10**8, 4 * 10**9)) // 1000 * 1000 + k * 10 + e  # unique per (patient, eeg)
        x = simulate_hms_eeg(rng, cls, strength, duration_s, patient)
        if rng.random() < nan_fraction:  # a gap of missing samples, on one or on every channel
            i, length = int(rng.uniform(0, x.shape[1] - 3 * FS)), int(rng.uniform(0.5, 3) * FS)
            rows_nan = slice(None) if rng.random() < 0.5 else int(rng.integers(0, x.shape[0]))
            x[rows_nan, i:i + length] = np.nan
        eegs.append((eeg_id, x))
        max_off = max(0, int((duration_s - SEGMENT_S) // 2))
        offsets = sorted(rng.choice(max_off + 1, size=min(labels_per_eeg, max_off + 1), replace=False) * 2)
        for sub, off in enumerate(offsets):
            votes = _votes(rng, cls, strength)
            rows.append({"eeg_id": eeg_id, "eeg_sub_id": sub, "eeg_label_offset_seconds": float(off),
                         "spectrogram_id": eeg_id + 7, "spectrogram_sub_id": sub,
                         "spectrogram_label_offset_seconds": float(off), "label_id": int(rng.integers(10**9)),
                         "patient_id": pid, "expert_consensus": HMS_CLASSES[int(votes.argmax())].upper()
                         if HMS_CLASSES[int(votes.argmax())] != "other" else "Other",
                         **{c: int(v) for c, v in zip(VOTE_COLUMNS, votes, strict=True)}, "true_pattern": HMS_CLASSES[cls]})
    return rows, eegs


@SIMULATORS.register("hms", "HMS-style 19-channel EEG + EKG at 200 Hz (parquet) with expert votes in train.csv")
def simulate_hms(out: Path, n_subjects: int = 40, seed: int = 0, jobs: int = 1, eegs_per_patient: int = 3,
                 duration_s: float = 80.0, labels_per_eeg: int = 2, nan_fraction: float = 0.1,
                 progress: bool = True) -> list[Path]:
    """Write ``out/train.csv`` and ``out/train_eegs/<eeg_id>.parquet``; returns the EEG files.

    ``n_subjects`` patients with ``eegs_per_patient`` EEGs of ``duration_s`` seconds (>= 50) each
    and ``labels_per_eeg`` labelled 50-s segments per EEG.
    """
    import pandas as pd

    if n_subjects < 1 or eegs_per_patient < 1 or labels_per_eeg < 1:
        raise ConfigError("hms corpus: n_subjects, eegs_per_patient and labels_per_eeg must be >= 1")
    if duration_s < SEGMENT_S:
        raise ConfigError(f"hms corpus: duration_s must be at least {SEGMENT_S:g} (one segment), got {duration_s}")
    if not 0 <= nan_fraction <= 1:
        raise ConfigError(f"hms corpus: nan_fraction must be in [0, 1], got {nan_fraction}")
    out = Path(out)
    (out / "train_eegs").mkdir(parents=True, exist_ok=True)
    seeds = np.random.SeedSequence(seed).generate_state(n_subjects)
    pids = np.random.default_rng(seed).choice(90000, n_subjects, replace=False) + 10000
    tasks = [(int(seeds[k]), int(pids[k]), k, eegs_per_patient, float(duration_s), labels_per_eeg, float(nan_fraction))
             for k in range(n_subjects)]
    rows: list[dict[str, Any]] = []
    files: list[Path] = []

    def save(result: tuple[list[dict[str, Any]], list[tuple[int, np.ndarray]]]) -> None:
        rows.extend(result[0])
        for eeg_id, x in result[1]:
            path = out / "train_eegs" / f"{eeg_id}.parquet"
            pd.DataFrame({ch: x[i] for i, ch in enumerate(HMS_CHANNELS)}).to_parquet(path, index=False)
            files.append(path)

    with progress_bar("simulating HMS EEGs", total=n_subjects, enabled=progress) as advance:
        if jobs <= 1:
            for t in tasks:
                save(_patient(t))
                advance()
        else:
            with worker_pool(jobs) as pool:
                for result in pool.map(_patient, tasks):
                    save(result)
                    advance()
    pd.DataFrame(rows).to_csv(out / "train.csv", index=False)
    return files
