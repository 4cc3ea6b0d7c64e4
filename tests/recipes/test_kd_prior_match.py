"""kd-sleep `decision: prior_match` (students and classic rows decide alike), class-balanced sequence
sampling, and the elapsed-time input channel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from neurorep.config import validate
from neurorep.data.heart_rate import rolling_channels
from neurorep.errors import ConfigError
from neurorep.evaluation.prior_match import class_proportions, prior_match
from neurorep.recipes.kd_sleep.config import KDSleepConfig

from tests.recipes.test_kd_slpdb import _cfg, _split, slpdb  # noqa: F401 (fixture)


def test_decision_and_sampling_options_are_checked(tmp_path: Path) -> None:
    cfg = validate(KDSleepConfig, _cfg(tmp_path, tmp_path))
    assert cfg.decision == "val_tuned" and cfg.data.sampling == "uniform"  # defaults unchanged
    cfg = validate(KDSleepConfig, _cfg(tmp_path, tmp_path, decision="prior_match", cross_fit=3))
    assert cfg.decision == "prior_match" and cfg.prior_match_bound is None  # chosen on out-of-fold predictions
    with pytest.raises(ConfigError, match="needs cross_fit"):
        validate(KDSleepConfig, _cfg(tmp_path, tmp_path, decision="prior_match"))
    assert validate(KDSleepConfig, _cfg(tmp_path, tmp_path, decision="prior_match", prior_match_bound=1.0)
                    ).prior_match_bound == 1.0
    with pytest.raises(ConfigError, match="prior_match_candidates"):
        validate(KDSleepConfig, _cfg(tmp_path, tmp_path, decision="prior_match", cross_fit=3,
                                     prior_match_candidates=[0.5, 20.0]))
    with pytest.raises(ConfigError, match="cross_fit_seeds"):
        validate(KDSleepConfig, _cfg(tmp_path, tmp_path, cross_fit=3, cross_fit_seeds=0))
    for bad in (-0.5, 11.0):
        with pytest.raises(ConfigError, match="prior_match_bound"):
            validate(KDSleepConfig, _cfg(tmp_path, tmp_path, decision="prior_match", prior_match_bound=bad))
    with pytest.raises(ConfigError, match="decision"):
        validate(KDSleepConfig, _cfg(tmp_path, tmp_path, decision="prior"))
    raw = _cfg(tmp_path, tmp_path)
    raw["data"]["sampling"] = "oversample"
    with pytest.raises(ConfigError, match="sampling"):
        validate(KDSleepConfig, raw)


def test_elapsed_channel_counts_time_in_units_of_eight_hours() -> None:
    fs = 2.0
    x = np.random.default_rng(0).normal(size=(1, int(8 * 3600 * fs)))
    out = rolling_channels(x, fs, 300.0, ["elapsed"])
    assert out.shape == x.shape and out[0, 0] == 0.0
    assert out[0, int(4 * 3600 * fs)] == pytest.approx(0.5) and out[0, -1] == pytest.approx(1.0, abs=1e-4)


def test_sequence_weights_favour_sequences_of_rare_classes(slpdb: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep.data import PairedSequences, setup_kd_data

    cfg = validate(KDSleepConfig, _cfg(slpdb, tmp_path))
    data = setup_kd_data(cfg.data, need_eeg=False, progress=False)
    ds = PairedSequences({"ecg": data.table}, np.arange(len(data.table.meta["y"])), 4, 4)
    w = ds.sequence_weights(np.array([1.0, 2.0, 5.0]))
    for i, (_, s, rows) in enumerate(ds.starts):
        y = ds.y[rows[s: s + 4]]
        y = y[y >= 0]
        assert w[i] == pytest.approx(np.array([1.0, 2.0, 5.0])[y].mean() if y.size else 0.0)
    assert len(np.unique(w)) > 1


def test_prior_match_run_decides_per_recording_and_evaluate_keeps_the_rule(slpdb: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep import run_kd_sleep

    _split(tmp_path, [0, 1, 2], [3], [4, 5])
    cfg = validate(KDSleepConfig, _cfg(slpdb, tmp_path, decision="prior_match", prior_match_bound=2.0,
                                       loss={"class_weighted": True}))
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"sampling": "class_balanced"})})
    m = run_kd_sleep(cfg, tmp_path / "run")
    dec = m["decision"]
    assert dec["applied"] is True and dec["bound"] == 2.0 and "offsets" not in dec  # nothing folded into the head
    from neurorep.recipes.kd_sleep.data import setup_kd_data

    data = setup_kd_data(cfg.data, need_eeg=False, progress=False)
    fit = np.concatenate([data.split.train, data.split.val])
    assert np.allclose(dec["target"], class_proportions(data.table.meta["y"][fit], 3))  # training people's mix
    arr = load_file(str(tmp_path / "run" / "predictions" / "test.safetensors"))
    expect, offsets = prior_match(np.log(np.clip(arr["prob"], 1e-8, 1.0)), arr["recording"], np.asarray(dec["target"]), 2.0)
    assert np.array_equal(arr["pred"], expect) and set(dec["recording_offsets"]) == {str(r) for r in offsets}
    lab = arr["y"] >= 0
    assert m["test"]["accuracy"] == pytest.approx(float(np.mean(arr["y"][lab] == expect[lab])))
    # a saved prior-matching run evaluated again decides the same way
    ev = run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path, mode="evaluate", checkpoint=str(tmp_path / "run"))),
                      tmp_path / "eval")
    again = load_file(str(tmp_path / "eval" / "predictions" / "test.safetensors"))
    assert np.array_equal(again["pred"], arr["pred"]) and ev["decision"]["requested"] == "prior_match"


def test_classic_rows_use_the_same_rule(slpdb: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep.baselines import PriorMatchRule, baseline_rows

    _split(tmp_path, [0, 1, 2], [3], [4, 5])
    d = validate(KDSleepConfig, _cfg(slpdb, tmp_path)).data
    plain = baseline_rows(d, ["hrv_lr"], 0, tmp_path / "plain", context=1)[0]
    zero = baseline_rows(d, ["hrv_lr"], 0, tmp_path / "zero", context=1, prior_match=PriorMatchRule(0.0, (0.0,)))[0]
    assert zero["kappa"] == plain["kappa"]  # bound 0 is argmax: the same decisions
    baseline_rows(d, ["hrv_lr"], 0, tmp_path / "pm", context=1, prior_match=PriorMatchRule(2.0, (0.0,)))
    saved = json.loads((tmp_path / "pm" / "hrv_lr_3class_s0" / "metrics.json").read_text())
    assert saved["decision"]["requested"] == "prior_match" and saved["decision"]["bound"] == 2.0
    assert np.isclose(sum(saved["decision"]["target"]), 1.0)
    # bound chosen on leave-one-person-out predictions of the four fitted people
    baseline_rows(d, ["hrv_lr"], 0, tmp_path / "auto", context=1, prior_match=PriorMatchRule(None, (0.0, 1.0)))
    saved = json.loads((tmp_path / "auto" / "hrv_lr_3class_s0" / "metrics.json").read_text())["decision"]
    assert saved["bound"] in (0.0, 1.0) and [t["bound"] for t in saved["bound_selection"]] == [0.0, 1.0]


@pytest.mark.slow
def test_cross_fitted_seeds_and_a_bound_chosen_out_of_fold(slpdb: Path, tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep import run_kd_sleep

    _split(tmp_path, [0, 1, 2], [3], [4, 5])
    cfg = validate(KDSleepConfig, _cfg(slpdb, tmp_path, decision="prior_match", cross_fit=2, cross_fit_seeds=2,
                                       prior_match_candidates=[0.0, 0.5, 2.0]))
    m = run_kd_sleep(cfg, tmp_path / "run")
    assert len(m["train"]["members"]) == 4  # 2 inner folds x 2 seeds
    assert sorted(m["train"]["held_out_subjects"]) == ["slp90", "slp91", "slp92", "slp93"]
    dec = m["decision"]
    assert dec["bound"] in (0.0, 0.5, 2.0) and len(dec["bound_selection"]) == 3
    best = max(dec["bound_selection"], key=lambda t: (t["coverage"], t["kappa"], -t["bound"]))
    assert best["bound"] == dec["bound"]
    held = load_file(str(tmp_path / "run" / "predictions" / "held_out.safetensors"))
    assert len(np.unique(held["recording"])) == 4  # every non-test person predicted out of fold
