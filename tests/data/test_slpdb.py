"""slpdb listings (.hea / .an / .rr) -> heart-rate recordings; the real-data check of the IHR student."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from neurorep.data.readers.slpdb import (
    parse_clock,
    read_slpdb,
    read_slpdb_annotations,
    slpdb_subject,
)
from neurorep.errors import DataError
from tests.conftest import SHARED_DATA


def _write_record(folder: Path, name: str = "slp99a", n_epochs: int = 6) -> Path:
    (folder / f"{name}.hea").write_text(f"{name} 4 250/0.033333333(94) {n_epochs * 7500} 23:07:00 19/1/1989\n"
                                        f"{name}.dat 212 -200/mV 12 0 -17 59911 0 ECG\n# 44 M 89\n")
    rows = ["Elapsed time  Sample #  Type  Sub Chan  Num\tAux"]
    codes = ["W", "1", "2 HA", "3", "R", "MT"][:n_epochs]
    for k, c in enumerate(codes):
        sample = 1 if k == 0 else 7500 * k
        rows.append(f"    {k // 2}:{(k % 2) * 30:02d}.000 {sample:>8}     \"    0    0    0\t{c}")
    (folder / f"{name}.an").write_text("\n".join(rows) + "\n")
    t, lines, rr = 0.0, [], 0.8
    while t < n_epochs * 30 - 1:
        lines.append(f"    0:{t:06.3f}\tN\t{rr:.3f}\tN\t    {int((t + rr) // 60)}:{(t + rr) % 60:06.3f}")
        t += rr
        rr = 1.0 if rr == 0.8 else 0.8
    (folder / f"{name}.rr").write_text("\n".join(lines) + "\n")
    return folder / name


def test_read_slpdb_listing(tmp_path: Path) -> None:
    rec = read_slpdb(_write_record(tmp_path))
    assert rec.ch_names == ["IHR"] and rec.sfreq == 4.0 and rec.subject == "slp99" and rec.session == "slp99a"
    np.testing.assert_allclose(rec.annotations.onset, 30.0 * np.arange(6))
    assert rec.annotations.description == ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3",
                                           "Sleep stage R", "Movement time"]
    assert rec.data.shape == (1, 720)
    assert 60 / 1.0 - 1e-3 <= rec.data.min() and rec.data.max() <= 60 / 0.8 + 1e-3  # 60 / RR
    assert parse_clock("1:02:03.500") == 3723.5 and slpdb_subject("slp02b") == "slp02"


def test_bad_stage_code_names_the_line(tmp_path: Path) -> None:
    path = _write_record(tmp_path)
    an = path.with_suffix(".an")
    an.write_text(an.read_text().replace("\t3\n", "\tQ\n"))
    with pytest.raises(DataError, match=r"slp99a.an:5: unknown stage code 'Q'"):
        read_slpdb_annotations(an)


@pytest.mark.real_data
def test_real_slpdb_stage_counts() -> None:
    ann = read_slpdb_annotations(SHARED_DATA / "slpdb" / "slp01a.an")
    counts = Counter(ann.description)
    assert len(ann) == 240 and counts["Sleep stage 2"] == 105 and counts["Sleep stage 4"] == 66
    rec = read_slpdb(SHARED_DATA / "slpdb" / "slp01a")
    assert rec.duration == 7200.0 and 40 < float(np.median(rec.data)) < 100


@pytest.mark.real_data
def test_real_slpdb_heart_rate_student_trains_and_evaluates(tmp_path: Path) -> None:
    """The IHR student (ecg_base on slpdb, subject-wise split) trains and beats the majority class."""
    from neurorep.config import validate
    from neurorep.recipes.kd_sleep import KDSleepConfig, run_kd_sleep

    cfg = validate(KDSleepConfig, {
        "recipe": "kd-sleep", "mode": "ecg_base", "seed": 0, "progress": False, "plots": False,
        "data": {"source": str(SHARED_DATA / "slpdb"), "cache": str(tmp_path / "cache"), "scheme": "3class",
                 "eeg": None, "seq_len": 20, "split": {"val": 0.15, "test": 0.3},
                 "ecg": {"dataset": "slpdb", "prepare": {"channels": None, "sfreq": None, "l_freq": None,
                                                         "h_freq": None, "trim_wake_min": None},
                         "encoder": {"name": "utime", "kwargs": {"filters": [8, 16], "pools": [4, 3],
                                                                 "embed_dim": 16}}}},
        "train": {"epochs": 3, "batch_size": 8, "lr": 0.003, "patience": None}})
    m = run_kd_sleep(cfg, tmp_path / "run")
    test = m["test"]
    assert set(m["split"]["test"]).isdisjoint(m["split"]["train"])
    assert test["n"] > 300 and 0 <= test["weighted_f1"] <= 1
    assert (tmp_path / "run" / "train" / "export" / "best" / "encoder" / "model.safetensors").is_file()
