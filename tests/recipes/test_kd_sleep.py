"""kd-sleep recipe: config validation, an end-to-end KD run on a tiny MASS-layout corpus, test-from-checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurorep.config import validate
from neurorep.errors import ConfigError


def _cfg(corpus: Path, tmp: Path, **extra: object) -> dict:
    tiny = {"filters": [4, 8], "pools": [10, 5], "embed_dim": 8}
    cfg = {"recipe": "kd-sleep", "mode": "feat_temp", "seed": 0, "progress": False,
           "data": {"source": str(corpus), "cache": str(tmp.parent / "cache"), "scheme": "3class", "seq_len": 4,
                    "split": {"val": 0.25, "test": 0.25}, "split_file": str(tmp / "split.json"),
                    "eeg": {"prepare": {"channels": ["EEG C4"], "sfreq": 50.0}, "encoder": {"name": "utime", "kwargs": tiny}},
                    "ecg": {"dataset": "mass-ihr", "prepare": {"channels": ["ECG"], "sfreq": None, "l_freq": None,
                                                               "h_freq": None},
                            "encoder": {"name": "utime", "kwargs": {"filters": [4, 8], "pools": [4, 3], "embed_dim": 8}}}},
           "train": {"epochs": 1, "batch_size": 8, "patience": None}}
    cfg.update(extra)
    return cfg


def test_config_rejects_unknown_mode_and_key(tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep import KDSleepConfig
    from neurorep.recipes.kd_sleep.pipeline import make_objective

    with pytest.raises(ConfigError, match="mode"):
        validate(KDSleepConfig, _cfg(tmp_path, tmp_path, mode="kd_tmp"))
    with pytest.raises(ConfigError, match="did you mean 'temperature'"):
        validate(KDSleepConfig, _cfg(tmp_path, tmp_path, loss={"temprature": 2}))
    cfg = validate(KDSleepConfig, _cfg(tmp_path, tmp_path, mode="feat_wce", loss={"at_weight": 5.0}))
    obj = make_objective(cfg)
    assert (obj.ce_weight, obj.kd_weight, obj.at_weight, obj.student_key) == (1.0, 0.0, 5.0, "ecg")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurorep.data.corpora import simulate

    out = tmp_path_factory.mktemp("kdmass")
    simulate("mass", out, n_subjects=4, seed=0, hours=0.5, progress=False)
    return out


@pytest.mark.slow
def test_feat_temp_run_trains_prerequisites_and_evaluate_mode_reproduces(corpus: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep import KDSleepConfig, run_kd_sleep

    run = tmp_path / "run"
    m = run_kd_sleep(validate(KDSleepConfig, _cfg(corpus, tmp_path, min_val_subjects=1)), run)  # 1 val subject
    for f in ("config.yaml", "metrics.json", "train/metrics.csv", "train/export/best/encoder/model.safetensors",
              "teacher/train/export/best/head/config.json", "feat_train/train/export/best/encoder/config.json",
              "predictions/test.safetensors", "plots/confusion.png", "plots/hypnogram.png"):
        assert (run / f).exists(), f
    assert m["teacher"] == str(run / "teacher") and m["init"] == str(run / "feat_train")
    saved = json.loads((run / "metrics.json").read_text())
    assert set(saved["test"]["per_class_f1"]) == {"W", "NREM", "REM"}
    # decisions tuned on validation for the student; the teacher keeps argmax (its soft targets stay calibrated)
    assert set(saved["decision"]["offsets"]) == {"W", "NREM", "REM"} and saved["decision"]["offsets"]["W"] == 0.0
    assert saved["decision"]["val_after"] >= saved["decision"]["val_before"]
    teacher_decision = json.loads((run / "teacher" / "metrics.json").read_text())["decision"]
    assert teacher_decision["applied"] is False and "offsets" not in teacher_decision
    split = json.loads((tmp_path / "split.json").read_text())
    assert split == saved["split"] and not set(split["test"]) & set(split["train"])
    # feat_train's encoder learnt from AT only; its run stored the transfer loss as monitor
    ft = json.loads((run / "feat_train" / "metrics.json").read_text())
    assert ft["train"]["monitor"] == "val/at" and ft["train"]["objective"]["at_weight"] == 1.0
    # the offsets live in the exported head's bias, so evaluating the export reproduces the run's numbers
    again = run_kd_sleep(validate(KDSleepConfig, _cfg(corpus, tmp_path, mode="evaluate", checkpoint=str(run))),
                         tmp_path / "eval")
    assert again["test"]["weighted_f1"] == pytest.approx(saved["test"]["weighted_f1"])
    assert again["evaluated"] == "feat_temp"
