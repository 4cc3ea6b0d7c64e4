"""Real recordings of other formats through ``neurorep data prepare`` (skipped when ../shared/data is
absent): ssvep-exo (FIF + ``-eve.fif``), eegmmidb (EDF+ annotations), eye-state (a CSV of samples).
Expected counts are those of ../shared/data/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurorep.cli import main

pytestmark = pytest.mark.real_data


def _prepare(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    out = args[args.index("--out") + 1]
    assert main(["data", "prepare", *args]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["data", "info", out, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_ssvep_exo_event_locked(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = _prepare(capsys, str(shared_data / "ssvep-exo"), "--out", str(tmp_path / "c"), "--events",
                    "rest=1,13Hz=2,21Hz=3,17Hz=4", "--tmin", "2", "--tmax", "4", "--sfreq", "128", "--l-freq", "1",
                    "--h-freq", "45")
    assert info["n_windows"] == 1056 and info["classes"] == {"rest": 264, "13Hz": 264, "21Hz": 264, "17Hz": 264}
    assert info["subjects"] == [f"subject{i:02d}" for i in range(1, 13)] and len(info["sessions"]) == 33
    assert info["ch_names"] == ["Oz", "O1", "O2", "PO3", "POz", "PO7", "PO8", "PO4"]
    assert info["sfreq"] == 128.0 and info["n_times"] == 256


def test_eegmmidb_annotations(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = _prepare(capsys, str(shared_data / "eegmmidb"), "--out", str(tmp_path / "c"), "--events",
                    "rest=T0,left=T1,right=T2", "--tmin", "0", "--tmax", "4", "--subject-from-path",
                    r"S(?P<subject>\d+)R")
    # T0 x1, x1, x15, x15; T1 x8 and T2 x7 in R03 and R04; every 4-s window fits in its recording
    assert info["classes"] == {"rest": 32, "left": 16, "right": 14} and info["subjects"] == ["001"]
    assert len(info["ch_names"]) == 64 and info["sfreq"] == 160.0 and info["n_times"] == 640
    # fixed 2-s windows voted over the annotations' durations (R03/R04: T0 4.2 s, T1/T2 4.1 s)
    fixed = _prepare(capsys, str(shared_data / "eegmmidb"), "--out", str(tmp_path / "f"), "--events",
                     "left=T1,right=T2", "--window", "2", "--channels", "C3..,Cz..,C4..")
    # each of the 16 T1 (14 T2) events of 4.1 s holds two whole 2-s windows, and may win a third by coverage
    assert fixed["ch_names"] == ["C3..", "Cz..", "C4.."]
    assert 2 * 16 <= fixed["classes"]["left"] <= 3 * 16 and 2 * 14 <= fixed["classes"]["right"] <= 3 * 14


def test_eye_state_csv_of_samples(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = shared_data / "eye-state" / "eeg-eye-state.csv"
    info = _prepare(capsys, str(csv.parent), "--out", str(tmp_path / "c"), "--format", "csv", "--csv-rate", "128",
                    "--label-column", "class", "--events", "open=0,closed=1", "--window", "1", "--assume-unit", "uV")
    cls = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=14).astype(int)
    assert (cls == 0).sum() == 8257 and (cls == 1).sum() == 6723
    per_window = cls[: len(cls) // 128 * 128].reshape(-1, 128).mean(axis=1)  # share of 'closed' samples
    assert info["classes"] == {"open": int((per_window < 0.5).sum()), "closed": int((per_window >= 0.5).sum())}
    assert info["n_windows"] == 117 and len(info["ch_names"]) == 14
