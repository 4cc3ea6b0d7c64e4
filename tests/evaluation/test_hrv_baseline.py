"""HRV features (neurokit2 time domain) + LR / GB on windows of heart rate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.hrv_baseline import HRVBaseline, beats_from_ihr, hrv_window_features


def test_beats_from_constant_rate_are_its_rr_interval() -> None:
    rri, times = beats_from_ihr(np.full(4 * 60, 75.0), fs=4.0)  # one minute at 75 bpm
    assert len(rri) == 74 and np.allclose(rri, 800.0) and np.allclose(np.diff(times), 0.8)
    with pytest.raises(DataError, match="positive"):
        beats_from_ihr(np.array([70.0, 0.0, 70.0]), 4.0)


def _nights(n_rec: int = 4, n_win: int = 36, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Nights whose stage (0/1/2) sets heart rate around a per-recording level, plus beat-to-beat noise."""
    rng = np.random.default_rng(seed)
    x, y, rec, loc = [], [], [], []
    for r in range(n_rec):
        stages = np.repeat(np.concatenate([rng.permutation(3) for _ in range(n_win // 18)]), 6)  # every stage
        level = 55 + 15 * r  # people differ more than stages do
        for i, s in enumerate(stages):
            hr = level + 6 * s + (1 + 2 * (s == 1)) * rng.standard_normal(120)
            x.append(hr), y.append(s), rec.append(r), loc.append(i)
    return np.array(x)[:, None, :], np.array(y), np.array(rec), np.array(loc)


def test_features_track_the_rate_and_the_baseline_beats_chance_across_recordings() -> None:
    x, y, rec, loc = _nights()
    f = hrv_window_features(x, rec, loc, fs=4.0, context=0)
    assert f.shape == (len(y), 3)
    assert np.corrcoef(f[:, 0], x[:, 0].mean(1))[0, 1] > 0.99  # MeanHR follows the rate
    train, test = rec < 3, rec == 3
    score = {}
    for model in ("lr", "gb"):
        clf = HRVBaseline(model=model, context=1).fit(x[train], y[train], rec[train], loc[train])
        score[model] = balanced_accuracy_score(y[test], clf.predict(x[test], rec[test], loc[test]))
        assert score[model] > 0.8, model
    # without per-recording normalisation the unseen recording's heart-rate level misleads the model
    raw = HRVBaseline(model="lr", context=1, normalize="none").fit(x[train], y[train], rec[train], loc[train])
    assert balanced_accuracy_score(y[test], raw.predict(x[test], rec[test], loc[test])) < score["lr"] - 0.2


def test_bad_settings_and_inputs_are_refused() -> None:
    x, y, rec, loc = _nights(n_rec=1, n_win=18)
    with pytest.raises(ConfigError, match="lr or gb"):
        HRVBaseline(model="svm")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="feature 'LF'"):
        hrv_window_features(x, rec, loc, 4.0, features=("LF",))
    with pytest.raises(DataError, match="one heart-rate channel"):
        hrv_window_features(np.repeat(x, 2, axis=1), rec, loc, 4.0)
    with pytest.raises(ConfigError, match="not fitted"):
        HRVBaseline().predict(x, rec, loc)
    with pytest.raises(DataError, match="two classes"):
        HRVBaseline().fit(x, np.zeros(len(y), int), rec, loc)


@pytest.mark.real_data
def test_real_slpdb_features_are_physiological() -> None:
    """On a real night (slpdb slp01a, 4-Hz heart rate from its RR listing) the features are in human ranges."""
    from neurorep.data.readers.slpdb import read_slpdb
    from tests.conftest import SHARED_DATA

    rec = read_slpdb(SHARED_DATA / "slpdb" / "slp01a")
    hr = np.asarray(rec.data[0], dtype=np.float64)
    n = len(hr) // 120
    x = hr[: n * 120].reshape(n, 1, 120)
    f = hrv_window_features(x, np.zeros(n, int), np.arange(n), fs=4.0, context=2)
    assert abs(np.median(f[:, 0]) - np.median(hr)) < 2.0  # mean heart rate, bpm
    assert 5 < np.median(f[:, 1]) < 200 and 5 < np.median(f[:, 2]) < 200  # SDNN, RMSSD in ms
