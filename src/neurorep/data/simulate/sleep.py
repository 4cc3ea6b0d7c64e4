"""Simulated Sleep-EDF-style polysomnography corpus: entry points and EDF+ writing.

:func:`simulate_night` makes one night in memory; :func:`simulate_sleep` writes a folder laid out
like the Sleep-EDF Expanded sleep-cassette study, two files per night::

    SC4{ss}{n}E0-PSG.edf         EEG Fpz-Cz, EEG Pz-Oz, EOG horizontal, EMG submental (100 Hz), ECG (256 Hz)
    SC4{ss}{n}EC-Hypnogram.edf   annotation-only EDF+ with R&K stages per 30-s epoch

Everything is deterministic in ``(seed, subject, night)``; see ``docs/simulated_corpus.md``.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import edfio
import numpy as np

from neurorep.data.simulate.cardiac import ECG_FS, simulate_ecg
from neurorep.data.simulate.eeg import EEG_FS, simulate_eeg
from neurorep.data.simulate.emg import EMG_FS, simulate_emg
from neurorep.data.simulate.hypnogram import (
    EPOCH_S,
    merge_annotations,
    simulate_hypnogram,
)
from neurorep.data.simulate.ocular import EOG_FS, ocular_sources, simulate_eog
from neurorep.data.simulate.params import (
    NightParams,
    SubjectParams,
    draw_subject_params,
    night_params,
    night_rng,
    subject_rng,
)
from neurorep.data.simulate.signals import build_context
from neurorep.errors import ConfigError
from neurorep.fileio import atomic_write
from neurorep.processes import worker_pool
from neurorep.progress import progress_bar

#: Channel name -> sampling rate (Hz) of the simulated PSG files, in file order.
SIM_CHANNELS: dict[str, float] = {
    "EEG Fpz-Cz": EEG_FS,
    "EEG Pz-Oz": EEG_FS,
    "EOG horizontal": EOG_FS,
    "EMG submental": EMG_FS,
    "ECG": ECG_FS,
}
#: Symmetric physical range (microvolts) per channel; values beyond it saturate like an amplifier.
PHYSICAL_RANGE_UV: dict[str, float] = {
    "EEG Fpz-Cz": 1000.0,
    "EEG Pz-Oz": 1000.0,
    "EOG horizontal": 2000.0,
    "EMG submental": 500.0,
    "ECG": 6000.0,
}
_TRANSDUCER = {
    "EEG Fpz-Cz": "Ag-AgCl electrodes",
    "EEG Pz-Oz": "Ag-AgCl electrodes",
    "EOG horizontal": "Ag-AgCl electrodes",
    "EMG submental": "Ag-AgCl electrodes",
    "ECG": "Ag-AgCl electrodes",
}
_PREFILTER = {
    "EEG Fpz-Cz": "HP:0.3Hz LP:45Hz",
    "EEG Pz-Oz": "HP:0.3Hz LP:45Hz",
    "EOG horizontal": "HP:0.03Hz LP:45Hz",
    "EMG submental": "HP:10Hz LP:45Hz",
    "ECG": "HP:0.05Hz LP:120Hz",
}
MAX_SUBJECTS = 100
DATA_RECORD_S = 30.0


@dataclass
class SimulatedNight:
    """One simulated night.

    Attributes:
        subject: subject number (0-99).
        night: night number (1 or 2).
        signals: channel name -> ``(samples (n,) float64 in volts, sampling rate in Hz)``.
        stages: ``(n_epochs,)`` int8 scored stage per 30-s epoch: 0=W, 1=N1, 2=N2, 3=N3, 4=REM, as in
            the hypnogram file (R&K 3 and 4 are N3; ``Movement time`` and ``Sleep stage ?`` are 0).
        rk_stages: R&K description per epoch, as written to the hypnogram file.
        depth: ``(n_epochs,)`` slow-wave depth in [0, 1] (splits N3 into R&K stage 3 and 4).
        beat_times: R-peak times of the ECG (s).
        params: the subject's traits.
        night_params: this night's variation (latency, cycle length, ...).
        start: date and time of the recording start.
        state: ``(n_epochs,)`` int8 physiological state that drives the signals (``stages`` is the
            scorer's reading of it and differs near transitions and in ambiguous epochs).
    """

    subject: int
    night: int
    signals: dict[str, tuple[np.ndarray, float]]
    stages: np.ndarray
    rk_stages: list[str]
    depth: np.ndarray
    beat_times: np.ndarray
    params: SubjectParams
    night_params: NightParams
    start: dt.datetime
    state: np.ndarray | None = None

    @property
    def n_epochs(self) -> int:
        return int(self.stages.size)

    @property
    def duration(self) -> float:
        """Length in seconds (``n_epochs * 30``)."""
        return self.n_epochs * EPOCH_S

    def annotations(self) -> list[tuple[float, float, str]]:
        """Hypnogram as ``(onset s, duration s, description)`` with equal neighbours merged."""
        return merge_annotations(self.rk_stages)

    @property
    def psg_name(self) -> str:
        return psg_filename(self.subject, self.night)

    @property
    def hypnogram_name(self) -> str:
        return hypnogram_filename(self.subject, self.night)


def psg_filename(subject: int, night: int) -> str:
    """Sleep-EDF PSG file name, e.g. ``SC4001E0-PSG.edf``."""
    return f"SC4{subject:02d}{night}E0-PSG.edf"


def hypnogram_filename(subject: int, night: int) -> str:
    """Sleep-EDF hypnogram file name, e.g. ``SC4001EC-Hypnogram.edf``."""
    return f"SC4{subject:02d}{night}EC-Hypnogram.edf"


def _check(subject: int | None = None, night: int | None = None, hours: float | None = None) -> None:
    if subject is not None and not 0 <= int(subject) < MAX_SUBJECTS:
        raise ConfigError(f"subject must be in 0..{MAX_SUBJECTS - 1} (Sleep-EDF names have two digits); got {subject}")
    if night is not None and int(night) not in (1, 2):
        raise ConfigError(f"night must be 1 or 2 (as in Sleep-EDF); got {night}")
    if hours is not None and not 0.5 <= float(hours) <= 24.0:
        raise ConfigError(f"hours must be between 0.5 and 24; got {hours}")


def recording_start(seed: int, subject: int, night: int) -> dt.datetime:
    """Start date and time: a subject date in 1989-1991, night 2 the next evening, 22:00-23:40."""
    base = dt.date(1989, 1, 1) + dt.timedelta(days=int(subject_rng(seed, subject).integers(0, 1000)))
    minutes = int(night_rng(seed, subject, night, "meta").integers(0, 100))
    return dt.datetime.combine(base + dt.timedelta(days=night - 1), dt.time(22, 0)) + dt.timedelta(minutes=minutes)


def simulate_night(subject: int, night: int, seed: int, hours: float = 8.0) -> SimulatedNight:
    """Simulate one night of ``hours`` (from lights off to lights on) in memory.

    Args:
        subject: subject number, 0-99.
        night: 1 or 2.
        seed: corpus seed; the subject's traits depend on ``(seed, subject)`` only.
        hours: recording length; it is rounded to whole 30-s epochs.

    Returns:
        The night's signals (volts), stages and parameters.
    """
    _check(subject, night, hours)
    params = draw_subject_params(seed, subject)
    rng_h = night_rng(seed, subject, night, "hypnogram")
    nparams = night_params(params, night, rng_h)
    n_epochs = int(round(hours * 3600.0 / EPOCH_S))
    hyp = simulate_hypnogram(n_epochs, params, nparams, rng_h, night_rng(seed, subject, night, "scorer"))
    ctx = build_context(hyp, params, night_rng(seed, subject, night, "context"))
    cardiac = simulate_ecg(ctx, params, night_rng(seed, subject, night, "ecg"))
    ocular = ocular_sources(ctx, params, night_rng(seed, subject, night, "eog"))
    eeg, frontal_slow = simulate_eeg(ctx, params, ocular, cardiac.beat_times, night_rng(seed, subject, night, "eeg"))
    eog = simulate_eog(ctx, params, ocular, frontal_slow, night_rng(seed, subject, night, "artefacts"))
    emg = simulate_emg(ctx, params, cardiac.beat_times, night_rng(seed, subject, night, "emg"))
    micro = {**eeg, "EOG horizontal": eog, "EMG submental": emg, "ECG": cardiac.ecg}
    signals = {name: (np.asarray(micro[name], dtype=np.float64) * 1e-6, fs) for name, fs in SIM_CHANNELS.items()}
    return SimulatedNight(
        subject=int(subject),
        night=int(night),
        signals=signals,
        stages=hyp.stages,
        rk_stages=hyp.rk_stages,
        depth=hyp.depth,
        beat_times=cardiac.beat_times,
        params=params,
        night_params=nparams,
        start=recording_start(seed, subject, night),
        state=hyp.state,
    )


# ---- EDF+ writing ------------------------------------------------------------------------------
def _header(night: SimulatedNight) -> dict[str, object]:
    sex = night.params.sex
    name = f"{'Female' if sex == 'F' else 'Male'}_{night.params.age}yr"
    return {
        "patient": edfio.Patient(code="X", sex=sex, name=name),  # type: ignore[arg-type]
        "recording": edfio.Recording(startdate=night.start.date()),
        "starttime": night.start.time(),
    }



def psg_edf(night: SimulatedNight) -> edfio.Edf:
    """The PSG file of ``night`` as an EDF+ object (values in microvolts, 30-s data records)."""
    signals = []
    for name, (data, fs) in night.signals.items():
        lim = PHYSICAL_RANGE_UV[name]
        signals.append(
            edfio.EdfSignal(
                np.clip(data * 1e6, -lim, lim),
                sampling_frequency=fs,
                label=name,
                transducer_type=_TRANSDUCER[name],
                physical_dimension="uV",
                physical_range=(-lim, lim),
                prefiltering=_PREFILTER[name],
            )
        )
    return edfio.Edf(signals, data_record_duration=DATA_RECORD_S, **_header(night))  # type: ignore[arg-type]


def hypnogram_edf(night: SimulatedNight) -> edfio.Edf:
    """The hypnogram of ``night``: an EDF+ with no signals and one annotation per stage run."""
    annotations = [edfio.EdfAnnotation(onset, duration, text) for onset, duration, text in night.annotations()]
    return edfio.Edf([], annotations=annotations, **_header(night))  # type: ignore[arg-type]


def write_night(night: SimulatedNight, out: str | Path) -> tuple[Path, Path]:
    """Write the PSG and hypnogram files of ``night`` into ``out`` (atomically, per file)."""
    out = Path(out)
    psg, hyp = out / night.psg_name, out / night.hypnogram_name
    atomic_write(psg, psg_edf(night).write)
    atomic_write(hyp, hypnogram_edf(night).write)
    return psg, hyp


def _make_and_write(out: str, subject: int, night: int, seed: int, hours: float) -> tuple[Path, Path]:
    """Worker: simulate one night and write its files."""
    return write_night(simulate_night(subject, night, seed, hours), out)


def simulate_sleep(
    out: str | Path,
    n_subjects: int = 10,
    seed: int = 0,
    nights: int = 1,
    hours: float = 8.0,
    jobs: int = 1,
    progress: bool = True,
) -> list[tuple[Path, Path]]:
    """Write a Sleep-EDF-style folder; returns (psg_path, hypnogram_path) pairs.

    Args:
        out: folder to write into (created if missing). Files of the same names are overwritten;
            other files are left alone.
        n_subjects: subjects 0 .. n_subjects-1 (at most 100).
        seed: corpus seed.
        nights: nights per subject, 1 or 2.
        hours: length of each night (lights off to lights on).
        jobs: worker processes; nights are simulated in parallel when above 1.
        progress: show a progress bar (rich, on stderr).

    Returns:
        ``(psg_path, hypnogram_path)`` per night, ordered by subject then night.
    """
    if not 1 <= int(n_subjects) <= MAX_SUBJECTS:
        raise ConfigError(f"n_subjects must be between 1 and {MAX_SUBJECTS}; got {n_subjects}")
    if int(nights) not in (1, 2):
        raise ConfigError(f"nights must be 1 or 2 (as in Sleep-EDF); got {nights}")
    if int(jobs) < 1:
        raise ConfigError(f"jobs must be at least 1; got {jobs}")
    _check(hours=hours)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output path {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(s, n) for s in range(int(n_subjects)) for n in range(1, int(nights) + 1)]
    results: dict[tuple[int, int], tuple[Path, Path]] = {}

    with progress_bar("simulating Sleep-EDF nights", total=len(tasks), enabled=progress) as advance:
        if int(jobs) == 1 or len(tasks) == 1:
            for s, n in tasks:
                results[(s, n)] = _make_and_write(str(folder), s, n, int(seed), float(hours))
                advance(1)
        else:
            with worker_pool(min(int(jobs), len(tasks)), method=None) as pool:
                futures = {
                    pool.submit(_make_and_write, str(folder), s, n, int(seed), float(hours)): (s, n) for s, n in tasks
                }
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    advance(1)
    return [results[key] for key in tasks]
