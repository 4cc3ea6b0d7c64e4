"""kd-sleep options: the renamed evaluation mode, mode specs, and heart-rate channels derived in the data path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.config import validate
from neurorep.data.heart_rate import rolling_channels
from neurorep.errors import ConfigError, DataError
from neurorep.recipes.kd_sleep.config import EEG, MODE_SPECS, KDSleepConfig

from tests.recipes.test_kd_slpdb import _cfg, _split, slpdb, write_slpdb  # noqa: F401 (fixture)


def test_mode_test_is_read_as_evaluate_with_a_deprecation_message(tmp_path: Path) -> None:
    with pytest.warns(FutureWarning, match="mode: evaluate"):
        cfg = validate(KDSleepConfig, _cfg(tmp_path, tmp_path, mode="test"))
    assert cfg.mode == "evaluate"
    assert validate(KDSleepConfig, _cfg(tmp_path, tmp_path, mode="evaluate")).mode == "evaluate"


def test_mode_specs_name_their_fields() -> None:
    assert MODE_SPECS["eeg_base"].input_key == EEG and MODE_SPECS["ecg_base"].input_key == "ecg"
    assert MODE_SPECS["feat_train"].detach_head and not MODE_SPECS["feat_temp"].detach_head
    assert MODE_SPECS["feat_wce"].class_weighted and (MODE_SPECS["kd_temp"].kd_weight, MODE_SPECS["kd_temp"].at_weight) == (1.0, 0.0)


def test_rolling_channels_mean_and_sd() -> None:
    fs, n = 2.0, 400
    x = np.zeros((1, n), np.float32)
    x[0, 200:] = np.where(np.arange(200) % 2, 1.0, -1.0)  # flat, then alternating +-1
    out = rolling_channels(x, fs, window_s=10.0, kinds=["rolling_mean", "rolling_sd"])
    assert out.shape == (2, n)
    assert np.allclose(out[:, :150], 0.0)  # far from the change: mean 0, sd 0
    assert np.allclose(out[1, 250:390], 1.0, atol=1e-5) and np.abs(out[0, 250:390]).max() <= 0.05 + 1e-6
    with pytest.raises(DataError, match="unknown derived"):
        rolling_channels(x, fs, 10.0, ["rolling_max"])


def test_derived_channels_follow_the_input_in_the_data_path(tmp_path: Path) -> None:
    from neurorep.recipes.kd_sleep.data import prepare_caches

    src = tmp_path / "data"
    write_slpdb(src, "slp90", seed=1)
    plain = validate(KDSleepConfig, _cfg(src, tmp_path)).data
    derived = plain.model_copy(update={"ecg": plain.ecg.model_copy(update={"derived": ["rolling_mean", "rolling_sd"],
                                                                           "derived_window_s": 60.0})})
    a = prepare_caches(plain, need_eeg=False, progress=False)["ecg"]
    b = prepare_caches(derived, need_eeg=False, progress=False)["ecg"]
    assert b.info.ch_names == [*a.info.ch_names, *(f"{c}_{k}" for k in ("rolling_mean", "rolling_sd")
                                                    for c in a.info.ch_names)]
    wa, wb = np.asarray(a.windows(0)), b.windows(0)
    assert wb.shape == (wa.shape[0], 3, wa.shape[2]) and np.array_equal(wb[:, 0], wa[:, 0])
    series = wa.transpose(1, 0, 2).reshape(1, -1)
    expect = rolling_channels(series, a.info.n_times / 30.0, 60.0, ["rolling_mean", "rolling_sd"])
    assert np.allclose(wb[:, 1:].transpose(1, 0, 2).reshape(2, -1), expect)
    # heart rate changes with the stage here, so its rolling SD is not flat
    assert wb[:, 2].std() > 0


@pytest.mark.slow
def test_cross_fit_tunes_decisions_out_of_fold_and_exports_the_ensemble(slpdb: Path, tmp_path: Path) -> None:
    import json

    from safetensors.numpy import load_file

    from neurorep.recipes.kd_sleep import run_kd_sleep

    _split(tmp_path, [0, 1, 2], [3], [4, 5])  # one validation subject, but 4 held out across the inner folds
    cfg = _cfg(slpdb, tmp_path, cross_fit=2, min_val_subjects=4, decision_metric="macro_f1")
    m = run_kd_sleep(validate(KDSleepConfig, cfg), tmp_path / "run")
    folds = [r["held_out"] for r in m["train"]["members"]]
    assert sorted(s for f in folds for s in f) == ["slp90", "slp91", "slp92", "slp93"] and len(folds) == 2
    assert m["decision"]["applied"] and m["decision"]["val_subjects"] == 4 and m["decision"]["metric"] == "macro_f1"
    held = load_file(str(tmp_path / "run" / "predictions" / "held_out.safetensors"))
    assert (held["y"] >= 0).sum() == 4 * 48  # every non-test epoch once, predicted by a member that did not train on it
    export = tmp_path / "run" / "train" / "export" / "best"
    assert json.loads((export / "ensemble.json").read_text())["members"] == 2
    ev = run_kd_sleep(validate(KDSleepConfig, _cfg(slpdb, tmp_path, mode="evaluate", checkpoint=str(tmp_path / "run"))),
                      tmp_path / "eval")
    assert ev["test"]["kappa"] == pytest.approx(m["test"]["kappa"]) and ev["test"]["n"] == m["test"]["n"]
    with pytest.raises(ConfigError, match="cross_fit=5"):
        run_kd_sleep(validate(KDSleepConfig, {**cfg, "cross_fit": 5}), tmp_path / "run5")
