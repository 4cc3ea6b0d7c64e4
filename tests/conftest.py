"""Shared fixtures: tiny real-format files written on the fly, and the path to ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(os.environ.get("NEUROREP_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

STAGES_RK = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage 4", "Sleep stage R"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real data folder {SHARED_DATA} is absent")
    for item in items:
        if "real_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


def write_psg(path: Path, n_epochs: int, seed: int = 0, sfreq: float = 100.0, channels: tuple[str, ...] = (
        "EEG Fpz-Cz", "EEG Pz-Oz"), ecg: bool = False) -> None:
    """A small EDF+ PSG in the Sleep-EDF layout (values in µV)."""
    import edfio

    rng = np.random.default_rng(seed)
    n = int(n_epochs * 30 * sfreq)
    signals = [edfio.EdfSignal(rng.normal(0, 20, n), sfreq, label=ch, physical_dimension="uV",
                               physical_range=(-500, 500)) for ch in channels]
    if ecg:
        signals.append(edfio.EdfSignal(rng.normal(0, 200, n * 2), sfreq * 2, label="ECG", physical_dimension="uV",
                                       physical_range=(-3000, 3000)))
    edfio.Edf(signals, data_record_duration=30.0).write(path)


def write_hypnogram(path: Path, stages: list[str], epoch_s: float = 30.0) -> None:
    """An annotation-only EDF+ hypnogram; consecutive equal stages are merged like Sleep-EDF's."""
    import edfio

    anns, start = [], 0
    for i in range(1, len(stages) + 1):
        if i == len(stages) or stages[i] != stages[start]:
            anns.append(edfio.EdfAnnotation(start * epoch_s, (i - start) * epoch_s, stages[start]))
            start = i
    edfio.Edf([], annotations=anns).write(path)


@pytest.fixture
def sleep_folder(tmp_path: Path) -> Path:
    """Three subjects, one 24-epoch night each, in the Sleep-EDF naming (E0 PSG / EC hypnogram)."""
    folder = tmp_path / "sleep"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for s in range(3):
        write_psg(folder / f"SC4{s:02d}1E0-PSG.edf", 24, seed=s)
        stages = ["Sleep stage W"] * 2 + [STAGES_RK[int(k)] for k in rng.integers(0, 6, 20)] + ["Sleep stage ?"] * 2
        write_hypnogram(folder / f"SC4{s:02d}1EC-Hypnogram.edf", stages)
    return folder
