from __future__ import annotations

import numpy as np
import pytest

from neurorep.data.labels import epoch_labels, get_scheme
from neurorep.data.recording import Annotations, Recording
from neurorep.data.windows import PrepareConfig, bandpass, make_windows, resample, scale
from neurorep.errors import ConfigError, DataError

RK = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage 4", "Sleep stage R",
      "Sleep stage ?", "Movement time"]


def test_schemes_map_rk_stages() -> None:
    assert get_scheme("aasm5").encode_descriptions(RK)[0].tolist() == [0, 1, 2, 3, 3, 4, -1, -1]
    s4 = get_scheme("4class")
    assert s4.classes == ("W", "light", "deep", "REM")
    assert s4.encode_descriptions(RK)[0].tolist() == [0, 1, 1, 2, 2, 3, -1, -1]
    s3 = get_scheme("3class")
    assert s3.encode_descriptions(RK)[0].tolist() == [0, 1, 1, 1, 1, 2, -1, -1]
    _, dropped = s3.encode_descriptions(RK)
    assert dropped == {"Sleep stage ?": 1, "Movement time": 1}


def test_unknown_stage_and_scheme() -> None:
    with pytest.raises(DataError, match="unknown sleep stage annotation 'Sleep stage X'"):
        get_scheme("aasm5").encode_descriptions(["Sleep stage X"], "h.edf")
    with pytest.raises(ConfigError, match="did you mean '3class'"):
        get_scheme("3clas")


def test_epoch_labels_coverage_vote() -> None:
    # 5-s scoring: window 0 is 4x class 1 + 2x class 0 -> class 1; window 1 half dropped, half class 2 -> 2
    onset = np.arange(12) * 5.0
    codes = np.array([1, 1, 0, 1, 0, 1, -1, -1, -1, 2, 2, 2])
    y = epoch_labels(onset, np.full(12, 5.0), codes, 2, 30.0)
    assert y.tolist() == [1, 2]
    y = epoch_labels(onset, np.full(12, 5.0), codes, 2, 30.0, min_coverage=0.6)
    assert y.tolist() == [1, -1]


def _rec(n_epochs: int, stages: list[str], sfreq: float = 100.0) -> Recording:
    rng = np.random.default_rng(0)
    data = rng.normal(0, 20e-6, (2, int(n_epochs * 30 * sfreq))).astype(np.float32)
    ann = Annotations(np.arange(len(stages)) * 30.0, np.full(len(stages), 30.0), stages)
    return Recording(data, sfreq, ["EEG Fpz-Cz", "EEG Pz-Oz"], ["eeg", "eeg"], annotations=ann, source="t.edf")


def test_make_windows_shapes_labels_and_trim() -> None:
    stages = ["Sleep stage W"] * 100 + ["Sleep stage 2"] * 10 + ["Sleep stage ?"] * 2 + ["Sleep stage W"] * 100
    rec = _rec(212, stages)
    w = make_windows(rec, PrepareConfig(trim_wake_min=30))
    assert w.x.shape[1:] == (2, 3000) and w.x.dtype == np.float32
    # 60 epochs (30 min) kept on each side of sleep; 2 of the 60 after it are unscored and dropped
    assert (w.y == 0).sum() == 118 and (w.y == 2).sum() == 10
    assert w.onset[0] == (100 - 60) * 30
    w_all = make_windows(rec, PrepareConfig(trim_wake_min=None, keep_unlabelled=True))
    assert len(w_all.y) == 212 and (w_all.y == -1).sum() == 2
    w50 = make_windows(rec, PrepareConfig(sfreq=50, window_s=30))
    assert w50.x.shape[-1] == 1500 and w50.sfreq == 50


def test_hypnogram_longer_than_psg_refused() -> None:
    rec = _rec(10, ["Sleep stage 2"] * 14)
    with pytest.raises(DataError, match="PSG ends at 300 s"):
        make_windows(rec, PrepareConfig())
    ok = _rec(10, ["Sleep stage 2"] * 10 + ["Sleep stage ?"] * 100)  # unscored padding is fine (real Sleep-EDF)
    assert len(make_windows(ok, PrepareConfig()).y) == 10


def test_overlapping_annotations_and_flat_channel() -> None:
    rec = _rec(4, ["Sleep stage 2"] * 4)
    rec.annotations = Annotations([0, 20, 60], [30, 30, 30], ["Sleep stage W", "Sleep stage 2", "Sleep stage 2"])
    with pytest.raises(DataError, match="overlapping stage annotations"):
        make_windows(rec, PrepareConfig())
    rec = _rec(4, ["Sleep stage 2"] * 4)
    rec.data[1] = 0
    with pytest.raises(DataError, match="'EEG Pz-Oz' is flat"):
        make_windows(rec, PrepareConfig())


def test_bandpass_resample_scale() -> None:
    t = np.arange(0, 60, 0.01)
    x = (np.sin(2 * np.pi * 10 * t) + np.sin(2 * np.pi * 45 * t)).astype(np.float32)[None]
    y = bandpass(x, 100, 0.3, 35)
    spec = np.abs(np.fft.rfft(y[0]))
    f = np.fft.rfftfreq(len(t), 0.01)
    assert spec[np.argmin(abs(f - 45))] < 0.01 * spec[np.argmin(abs(f - 10))]
    r, sf = resample(x, 100, 50)
    assert sf == 50 and r.shape[-1] == 3000
    s = scale(np.array([[1, 2, 3, 4, 100]], np.float32), "robust")
    assert np.median(s) == 0


def test_prepare_config_rejects_unknown_key() -> None:
    from neurorep.config import validate

    with pytest.raises(ConfigError, match="did you mean 'window_s'"):
        validate(PrepareConfig, {"window_sec": 30})
