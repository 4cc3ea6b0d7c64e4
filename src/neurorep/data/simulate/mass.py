"""Simulated PSG corpus in the MASS layout (``neurorep data simulate mass``).

Each subject's night comes from :func:`neurorep.data.simulate.simulate_night` (the same generator as
the Sleep-EDF-style corpus; nothing is copied) and is written as::

    SS3/01-03-00NN PSG.edf    EEG C4-CLE, EEG O2-CLE, EOG Left Horiz, EMG Chin (100 Hz), ECG I (256 Hz)
    SS3/01-03-00NN Base.edf   AASM stages, one 30-s annotation per epoch ("Sleep stage W/1/2/3/R/?")
    SS2/01-02-00NN PSG.edf    same signals, EEG referenced "-LER"
    SS2/01-02-00NN Base.edf   R&K stages in 20-s epochs ("Sleep stage W/1/2/3/4/R/?")

The first ``rk_share`` of subjects (rounded) go to SS2 (R&K, 20-s), the rest to SS3 (AASM, 30-s).
As in MASS the PSG starts before the first scored epoch (a lead-in of 5-25 s per subject), so a
reader must align windows to the scoring. Movement time is written as ``Sleep stage ?``.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import edfio
import numpy as np

from neurorep.data.corpora import SIMULATORS
from neurorep.data.rk_epochs import split_30_to_20
from neurorep.data.simulate.sleep import (
    PHYSICAL_RANGE_UV,
    SimulatedNight,
    simulate_night,
)
from neurorep.errors import ConfigError
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
    _atomic(edfio.Edf(signals, data_record_duration=1.0), psg)
    stages = [_stage_text(s, aasm) for s in night.rk_stages[1:]]
    epoch = 30.0 if aasm else 20.0
    if not aasm:
        stages = split_30_to_20(stages)
    anns = [edfio.EdfAnnotation(lead + k * epoch, epoch, text) for k, text in enumerate(stages)
            if lead + (k + 1) * epoch <= seconds]
    base = folder / f"{sid} Base.edf"
    _atomic(edfio.Edf([], annotations=anns), base)
    return psg, base


def _atomic(edf: edfio.Edf, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        edf.write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _one(out: str, subject: int, subset: int, seed: int, hours: float) -> tuple[Path, Path]:
    return write_mass_night(simulate_night(subject, 1, seed, hours), Path(out), subset, seed)


@SIMULATORS.register("mass", "MASS-layout PSG nights (EEG C4, ECG I, ...): SS3 AASM 30-s and SS2 R&K 20-s scorings")
def simulate_mass(out: Path, n_subjects: int = 10, seed: int = 0, jobs: int = 1, nights: int = 1,
                  hours: float = 8.0, rk_share: float = 0.5, progress: bool = True) -> list[tuple[Path, Path]]:
    """Write the simulated MASS-layout corpus; returns ``(PSG, Base)`` pairs in subject order."""
    if int(nights) != 1:
        raise ConfigError(f"MASS has one night per subject; nights must be 1, got {nights}")
    if not 1 <= int(n_subjects) <= 100:
        raise ConfigError(f"n_subjects must be between 1 and 100; got {n_subjects}")
    if not 0 <= float(rk_share) <= 1:
        raise ConfigError(f"rk_share must be in [0, 1]; got {rk_share}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_rk = int(round(float(rk_share) * int(n_subjects)))
    tasks = [(s, 2 if s < n_rk else 3) for s in range(int(n_subjects))]
    results: dict[int, tuple[Path, Path]] = {}
    with progress_bar("simulating MASS nights", total=len(tasks), enabled=progress) as advance:
        if int(jobs) <= 1:
            for s, k in tasks:
                results[s] = _one(str(out), s, k, int(seed), float(hours))
                advance()
        else:
            with ProcessPoolExecutor(max_workers=int(jobs)) as pool:
                futs = {pool.submit(_one, str(out), s, k, int(seed), float(hours)): s for s, k in tasks}
                for f in as_completed(futs):
                    results[futs[f]] = f.result()
                    advance()
    return [results[s] for s, _ in tasks]
