"""kd-sleep on heart rate without EEG (slpdb layout): split checks before training, val_tuned only with
enough validation subjects, mode evaluate on another folder, and the benchmark's classic HRV rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurorep.config import validate
from neurorep.errors import ConfigError, DataError

STAGES = {"W": 0.65, "2": 1.0, "R": 0.8}  # RR interval (s) per stage code


def write_slpdb(folder: Path, name: str, n_epochs: int = 48, seed: int = 0, level: float = 1.0) -> None:
    """One synthetic slpdb record (.hea/.an/.rr) whose RR interval follows the stage (blocks of 4 epochs)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.hea").write_text(f"{name} 4 250/0.033333333(94) {n_epochs * 7500} 23:07:00 19/1/1989\n"
                                        f"{name}.dat 212 -200/mV 12 0 -17 59911 0 ECG\n# 44 M 89\n")
    codes = np.repeat(np.concatenate([rng.permutation(list(STAGES)) for _ in range(n_epochs // 12)]), 4)
    rows = ["Elapsed time  Sample #  Type  Sub Chan  Num\tAux"]
    for k, c in enumerate(codes):
        sample = 1 if k == 0 else 7500 * k
        rows.append(f"    {k // 2}:{(k % 2) * 30:02d}.000 {sample:>8}     \"    0    0    0\t{c}")
    (folder / f"{name}.an").write_text("\n".join(rows) + "\n")
    t, lines = 0.0, []
    while t < n_epochs * 30 - 2:
        rr = level * STAGES[str(codes[int(t // 30)])] * (1 + 0.03 * rng.standard_normal())
        end = t + rr
        lines.append(f"{int(t // 60)}:{t % 60:06.3f}\tN\t{rr:.3f}\tN\t{int(end // 60)}:{end % 60:06.3f}")
        t = end
    (folder / f"{name}.rr").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def slpdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("slpdb")
    for i in range(6):  # 6 subjects, heart-rate levels that differ between people
        write_slpdb(out, f"slp9{i}", seed=i, level=0.85 + 0.06 * i)
    return out


def _cfg(data: Path, tmp: Path, **extra: object) -> dict:
    cfg = {"recipe": "kd-sleep", "mode": "ecg_base", "seed": 0, "progress": False, "plots": False,
           "data": {"source": str(data), "cache": str(tmp.parent / "cache"), "scheme": "3class", "eeg": None,
                    "seq_len": 6, "split_file": str(tmp / "split.json"),
                    "ecg": {"dataset": "slpdb", "prepare": {"channels": None, "sfreq": None, "l_freq": None,
                                                            "h_freq": None, "trim_wake_min": None},
                            "encoder": {"name": "utime", "kwargs": {"filters": [4], "pools": [4], "embed_dim": 4}}}},
           "train": {"epochs": 1, "batch_size": 8, "patience": None}}
    cfg.update(extra)
    return cfg


def _split(tmp: Path, train: list[int], val: list[int], test: list[int]) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "split.json").write_text(json.dumps({k: [f"slp9{i}" for i in v] for k, v in
                                                (("train", train), ("val", val), ("test", test))}))


def test_an_empty_split_part_stops_before_training(slpdb: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep import KDSleepConfig, run_kd_sleep

    from types import SimpleNamespace

    from neurorep.recipes.kd_sleep.pipeline import check_split_parts

    # a split file without a test part is refused when it is read
    _split(tmp_path, [0, 1, 2, 3], [4, 5], [])
    with pytest.raises(DataError, match="test part"):
        run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path)), tmp_path / "run")
    # a part whose windows are all unlabelled is refused by the pre-training check
    cfg = validate(KDSleepConfig, _cfg(slpdb, tmp_path))
    split = SimpleNamespace(train=np.array([0, 1]), val=np.array([2]), test=np.array([3]))
    data = SimpleNamespace(split=split, split_subjects={"val": ["slp92"]},
                           table=SimpleNamespace(meta={"y": np.array([0, 1, -1, 2])}, subjects=["a", "b", "c"]))
    with pytest.raises(DataError, match="the val part of the split has no labelled epochs"):
        check_split_parts(cfg, data)  # type: ignore[arg-type]
    assert not (tmp_path / "run" / "train").exists()  # nothing was trained


def test_val_tuned_needs_enough_validation_subjects_and_evaluate_mode_reads_another_folder(
        slpdb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neurorep.recipes.kd_sleep import KDSleepConfig, run_kd_sleep

    _split(tmp_path, [0, 1], [2, 3], [4, 5])
    m = run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path)), tmp_path / "few")
    assert m["decision"]["applied"] is False and m["decision"]["val_subjects"] == 2
    assert "offsets" not in m["decision"] and "val_tuned not applied" in capsys.readouterr().out
    m = run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path, min_val_subjects=2, loss={"class_weighted": True})),
                     tmp_path / "enough")
    assert m["decision"]["applied"] is True and set(m["decision"]["offsets"]) == {"W", "NREM", "REM"}
    assert m["train"]["class_weights"] is not None and len(m["train"]["class_weights"]) == 3
    # mode evaluate on another folder: every labelled epoch there, no split
    other = tmp_path / "other"
    write_slpdb(other, "slp80", seed=9)
    ev = run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path, mode="evaluate", checkpoint=str(tmp_path / "enough"),
                                                   evaluate_data=str(other))), tmp_path / "eval")
    assert ev["data"]["n"] == 48 and ev["subjects"] == ["slp80"]
    assert (tmp_path / "eval" / "predictions" / "data.safetensors").is_file()
    with pytest.raises(DataError, match="does not exist"):
        run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path, mode="evaluate", checkpoint=str(tmp_path / "enough"),
                                                  evaluate_data=str(tmp_path / "nope"))), tmp_path / "eval2")


def test_fold_splits_test_every_subject_once() -> None:
    from neurorep.recipes.kd_sleep.baselines import fold_splits

    subjects = [f"s{i}" for i in range(7)]
    folds = fold_splits(subjects, 7, val_subjects=1)
    assert sorted(s for f in folds for s in f["test"]) == subjects
    for f in folds:
        assert len(f["val"]) == 1 and len(f["train"]) == 5
        assert not (set(f["train"]) & set(f["val"]) or set(f["train"]) & set(f["test"]) or set(f["val"]) & set(f["test"]))
    with pytest.raises(ConfigError, match="between 2 and the number of subjects"):
        fold_splits(subjects, 8)
    with pytest.raises(ConfigError, match="too few"):
        fold_splits(subjects[:3], 3, val_subjects=2)


@pytest.mark.slow
def test_benchmark_table_has_classic_hrv_rows_on_the_same_folds(slpdb: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep.grid import benchmark_kd_sleep

    out = tmp_path / "bench"
    benchmark_kd_sleep("slpdb", data=slpdb, out=out, progress=False,
                       overrides=["folds=3", "cross_fit=2", "train.epochs=1", "data.seq_len=6", "data.train_stride=6",
                                  "data.ecg.prepare.sfreq=null", "data.ecg.encoder.kwargs.pools=[4,3]",
                                  f"data.cache={tmp_path / 'cache'}"])
    rows = json.loads((out / "results.json").read_text())
    by_mode = {m: [r for r in rows if r["mode"] == m] for m in ("ecg_base", "hrv_lr", "hrv_gb")}
    assert all(len(v) == 3 for v in by_mode.values())
    assert "HRV features + LR (classic)" in (out / "results.md").read_text()
    # the classic rows are scored on each fold's test subjects, the same as the network's
    for seed in range(3):
        split = json.loads((out / "splits" / f"seed{seed}.json").read_text())
        saved = json.loads((out / "baselines" / f"hrv_lr_3class_s{seed}" / "metrics.json").read_text())
        assert saved["split"] == split
        run = json.loads((out / "runs" / f"ecg_base_3class_s{seed}" / "metrics.json").read_text())
        assert run["split"] == split and run["test"]["n"] == saved["test"]["n"]
        # the preset's student is a cross-fitted ensemble over the fold's non-test subjects
        assert len(run["train"]["members"]) == 4 and sorted(run["train"]["held_out_subjects"]) == sorted(
            split["train"] + split["val"])  # 2 inner folds x cross_fit_seeds 2
        # students and classic rows decide by the same rule, each bound chosen without the test subjects
        assert run["decision"]["requested"] == saved["decision"]["requested"] == "prior_match"
        for d in (run["decision"], saved["decision"]):
            assert d["bound"] in [t["bound"] for t in d["bound_selection"]]
        assert (out / "runs" / f"ecg_base_3class_s{seed}" / "train" / "export" / "best" / "ensemble.json").is_file()
    # heart rate follows the stage here, so HRV + LR must clearly beat chance
    assert np.mean([r["kappa"] for r in by_mode["hrv_lr"]]) > 0.5


def test_benchmark_refuses_a_grid_without_classic_rows(tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep.grid import benchmark_kd_sleep

    with pytest.raises(ConfigError, match="baselines"):
        benchmark_kd_sleep("slpdb", data=tmp_path, out=tmp_path / "b", progress=False, overrides=["baselines=[]"])
