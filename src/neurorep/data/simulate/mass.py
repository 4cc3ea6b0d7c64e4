"""Simulated PSG corpus in the MASS layout (``neurorep data simulate mass``).

Each subject's night comes from :func:`neurorep.data.simulate.simulate_night` (the same generator as
the Sleep-EDF-style corpus; nothing is copied) and is written as::

    SS3/01-03-00NN PSG.edf    EEG C4-CLE, EEG O2-CLE, EOG Left Horiz, EMG Chin (100 Hz), ECG I (256 Hz)
    SS3/01-03-00NN Base.edf   AASM stages, one 30-s annotation per epoch ("Sleep stage W/1/2/3/R/?")
    SS2/01-02-00NN PSG.edf    same signals, EEG referenced "-LER"
    SS2/01-02-00NN Base.edf   R&K stages in 20-s epochs ("Sleep stage W/1/2/3/4/R/?")

The first ``rk_share`` of subjects (rounded) go to SS2 (R&K, 20-s), the rest to SS3 (AASM, 30-s).

Heart rate: the Sleep-EDF-style generator gives the rate strong stage levels (W +7, REM +4, N3 -3.5
bpm around N2), so that heart rate alone separated the simulated stages better than one EEG channel,
the reverse of real PSG (EEG staging ~0.85 weighted F1, ECG staging ~0.65-0.70). MASS nights are
therefore drawn with ``hr_stage_scale`` (default 0.4) times those levels and a slow, stage-unrelated
drift of the rate (``hr_drift_bpm``, default 3 bpm sd); the EEG, EOG and EMG generators are the
shared ones, unchanged. ``hr_stage_scale=1, hr_drift_bpm=0`` gives exactly ``simulate_night``.
As in MASS the PSG starts before the first scored epoch (a lead-in of 5-25 s per subject), so a
reader must align windows to the scoring. Movement time is written as ``Sleep stage ?``.
"""

from __future__ import annotations

from concurrent.futures import as_completed
from pathlib import Path

import edfio
import numpy as np

from neurorep.data.corpora import SIMULATORS
from neurorep.data.rk_epochs import split_30_to_20
from neurorep.data.simulate.cardiac import simulate_ecg
from neurorep.data.simulate.eeg import simulate_eeg
from neurorep.data.simulate.emg import simulate_emg
from neurorep.data.simulate.hypnogram import simulate_hypnogram
from neurorep.data.simulate.ocular import ocular_sources, simulate_eog
from neurorep.data.simulate.params import draw_subject_params, night_params, night_rng
from neurorep.data.simulate.signals import build_context
from neurorep.data.simulate.sleep import (
    EPOCH_S,
    PHYSICAL_RANGE_UV,
    SIM_CHANNELS,
    SimulatedNight,
    recording_start,
    simulate_night,
)
from neurorep.errors import ConfigError
from neurorep.fileio import atomic_write
from neurorep.processes import worker_pool
from neurorep.progress import progress_bar

#: simulated channel -> MASS label (``{ref}`` is CLE in SS3 and LER in SS2)
MASS_LABELS = {"EEG Fpz-Cz": "EEG C4-{ref}", "EEG Pz-Oz": "EEG O2-{ref}", "EOG horizontal": "EOG Left Horiz",
               "EMG submental": "EMG Chin", "ECG": "ECG I"}


def mass_id(subset: int, subject: int) -> str:
    """MASS subject id, e.g. ``01-03-0001``."""
    return f"01-{subset:02d}-{subject + 1:04d}"


def _lead_in(seed: int, subject: int) -> int:
    return int(np.random.default_rng([seed, subject, 77]).integers(5, 26))


def _stage_text(rk: str, aasm: bool) -> str:
    if rk == "Movement time":
        return "Sleep stage ?"
    if aasm and rk == "Sleep stage 4":
        return "Sleep stage 3"
    return rk


def write_mass_night(night: SimulatedNight, out: Path, subset: int, seed: int) -> tuple[Path, Path]:
    """Write one night as ``SS<subset>/<id> PSG.edf`` and ``<id> Base.edf``; returns the two paths."""
    aasm = subset in (1, 3)
    folder = out / f"SS{subset}"
    folder.mkdir(parents=True, exist_ok=True)
    sid = mass_id(subset, night.subject)
    lead = _lead_in(seed, night.subject)
    t0 = 30 - lead  # file time 0 is simulated time t0; epoch 1 starts at file time `lead`
    seconds = int(night.duration) - t0
    signals = []
    for name, (data, fs) in night.signals.items():
        lim = PHYSICAL_RANGE_UV[name]
        x = data[int(t0 * fs): int(t0 * fs) + int(seconds * fs)] * 1e6
        signals.append(edfio.EdfSignal(np.clip(x, -lim, lim), sampling_frequency=fs,
                                       label=MASS_LABELS[name].format(ref="CLE" if aasm else "LER"),
                                       physical_dimension="uV", physical_range=(-lim, lim)))
    psg = folder / f"{sid} PSG.edf"
    atomic_write(psg, edfio.Edf(signals, data_record_duration=1.0).write)
    stages = [_stage_text(s, aasm) for s in night.rk_stages[1:]]
    epoch = 30.0 if aasm else 20.0
    if not aasm:
        stages = split_30_to_20(stages)
    anns = [edfio.EdfAnnotation(lead + k * epoch, epoch, text) for k, text in enumerate(stages)
            if lead + (k + 1) * epoch <= seconds]
    base = folder / f"{sid} Base.edf"
    atomic_write(base, edfio.Edf([], annotations=anns).write)
    return psg, base



def simulate_mass_night(subject: int, seed: int, hours: float, hr_stage_scale: float = 0.4,
                        hr_drift_bpm: float = 3.0) -> SimulatedNight:
    """One night as :func:`simulate_night` builds it (same generators and random streams), with the
    heart rate's stage levels scaled by ``hr_stage_scale`` and a slow drift of ``hr_drift_bpm`` sd."""
    if float(hr_stage_scale) == 1.0 and float(hr_drift_bpm) == 0.0:
        return simulate_night(subject, 1, seed, hours)
    night = 1
    params = draw_subject_params(seed, subject)
    rng_h = night_rng(seed, subject, night, "hypnogram")
    nparams = night_params(params, night, rng_h)
    hyp = simulate_hypnogram(round(hours * 3600.0 / EPOCH_S), params, nparams, rng_h,
                             night_rng(seed, subject, night, "scorer"))
    ctx = build_context(hyp, params, night_rng(seed, subject, night, "context"))
    cardiac = simulate_ecg(ctx, params, night_rng(seed, subject, night, "ecg"), stage_scale=float(hr_stage_scale),
                           drift_bpm=float(hr_drift_bpm))
    ocular = ocular_sources(ctx, params, night_rng(seed, subject, night, "eog"))
    eeg, frontal_slow = simulate_eeg(ctx, params, ocular, cardiac.beat_times, night_rng(seed, subject, night, "eeg"))
    eog = simulate_eog(ctx, params, ocular, frontal_slow, night_rng(seed, subject, night, "artefacts"))
    emg = simulate_emg(ctx, params, cardiac.beat_times, night_rng(seed, subject, night, "emg"))
    micro = {**eeg, "EOG horizontal": eog, "EMG submental": emg, "ECG": cardiac.ecg}
    signals = {name: (np.asarray(micro[name], dtype=np.float64) * 1e-6, fs) for name, fs in SIM_CHANNELS.items()}
    return SimulatedNight(subject=int(subject), night=night, signals=signals, stages=hyp.stages,
                          rk_stages=hyp.rk_stages, depth=hyp.depth, beat_times=cardiac.beat_times, params=params,
                          night_params=nparams, start=recording_start(seed, subject, night), state=hyp.state)


def _one(out: str, subject: int, subset: int, seed: int, hours: float, hr_stage_scale: float,
         hr_drift_bpm: float) -> tuple[Path, Path]:
    night = simulate_mass_night(subject, seed, hours, hr_stage_scale, hr_drift_bpm)
    return write_mass_night(night, Path(out), subset, seed)


@SIMULATORS.register("mass", "MASS-layout PSG nights (EEG C4, ECG I, ...): SS3 AASM 30-s and SS2 R&K 20-s scorings")
def simulate_mass(out: Path, n_subjects: int = 10, seed: int = 0, jobs: int = 1, nights: int = 1,
                  hours: float = 8.0, rk_share: float = 0.5, hr_stage_scale: float = 0.4, hr_drift_bpm: float = 3.0,
                  progress: bool = True) -> list[tuple[Path, Path]]:
    """Write the simulated MASS-layout corpus; returns ``(PSG, Base)`` pairs in subject order.

    ``hr_stage_scale`` / ``hr_drift_bpm``: heart-rate realism (see the module docstring)."""
    if int(nights) != 1:
        raise ConfigError(f"MASS has one night per subject; nights must be 1, got {nights}")
    if not 1 <= int(n_subjects) <= 100:
        raise ConfigError(f"n_subjects must be between 1 and 100; got {n_subjects}")
    if not 0 <= float(rk_share) <= 1:
        raise ConfigError(f"rk_share must be in [0, 1]; got {rk_share}")
    if float(hr_stage_scale) < 0 or float(hr_drift_bpm) < 0:
        raise ConfigError(f"hr_stage_scale and hr_drift_bpm must be >= 0; got {hr_stage_scale}, {hr_drift_bpm}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_rk = int(round(float(rk_share) * int(n_subjects)))
    tasks = [(s, 2 if s < n_rk else 3) for s in range(int(n_subjects))]
    hr = (float(hr_stage_scale), float(hr_drift_bpm))
    results: dict[int, tuple[Path, Path]] = {}
    with progress_bar("simulating MASS nights", total=len(tasks), enabled=progress) as advance:
        if int(jobs) <= 1:
            for s, k in tasks:
                results[s] = _one(str(out), s, k, int(seed), float(hours), *hr)
                advance()
        else:
            with worker_pool(int(jobs), method=None) as pool:
                futs = {pool.submit(_one, str(out), s, k, int(seed), float(hours), *hr): s for s, k in tasks}
                for f in as_completed(futs):
                    results[futs[f]] = f.result()
                    advance()
    return [results[s] for s, _ in tasks]
