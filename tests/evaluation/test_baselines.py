"""Classic baselines: each must beat chance on synthetic data built to carry its kind of signal."""

from __future__ import annotations

import numpy as np
import pytest

from neurorep.errors import ConfigError
from neurorep.evaluation.baselines import TASK_BASELINES, make_baseline
from neurorep.evaluation.baselines_ssvep import canonical_correlation, class_frequencies, sine_references
from neurorep.evaluation.metrics import classification_metrics

SFREQ = 100.0


def _oscillation_windows(n: int, n_channels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 windows carry a 10-Hz rhythm on top of the same noise as class 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(200) / SFREQ
    y = np.arange(n) % 2
    x = rng.standard_normal((n, n_channels, 200))
    phase = rng.uniform(0, 2 * np.pi, (n, n_channels, 1))
    x += 1.0 * y[:, None, None] * np.sin(2 * np.pi * 10 * t + phase)
    return x.astype(np.float32), y


def _spatial_windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes with the same per-channel spectra but a different spatial source (variance pattern)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    patterns = np.array([[1.0, 0.2, 0.0, 0.5], [0.0, 0.5, 1.0, 0.2]])
    x = 0.5 * rng.standard_normal((n, 4, 200))
    source = rng.standard_normal((n, 1, 200)) * 2.0
    x += patterns[y][:, :, None] * source
    return x.astype(np.float32), y


def _balanced_accuracy(model, x, y, x_test, y_test) -> float:  # noqa: ANN001
    y_pred = model.fit(x, y).predict(x_test)
    return classification_metrics(y_test, y_pred, ["a", "b", "c", "d"][: int(y.max()) + 1])["balanced_accuracy"]


@pytest.mark.parametrize("name", ["bandpower_lr", "spectral_gb"])
def test_spectral_baselines_find_a_rhythm(name: str) -> None:
    x, y = _oscillation_windows(120, 2, 0)
    xt, yt = _oscillation_windows(80, 2, 1)
    model = make_baseline(name, sfreq=SFREQ, n_channels=2, classes=["rest", "alpha"])
    assert _balanced_accuracy(model, x, y, xt, yt) > 0.85


@pytest.mark.parametrize("name", ["csp_lda", "tangent_lr"])
def test_spatial_baselines_find_a_spatial_pattern(name: str) -> None:
    x, y = _spatial_windows(120, 0)
    xt, yt = _spatial_windows(80, 1)
    model = make_baseline(name, sfreq=SFREQ, n_channels=4, classes=["left", "right"])
    assert _balanced_accuracy(model, x, y, xt, yt) > 0.85
    # band power per channel sees the same thing through channel variances, but a shuffled label
    # set must fall to chance
    shuffled = np.random.default_rng(0).permutation(y)
    assert _balanced_accuracy(make_baseline(name, SFREQ, 4, ["l", "r"]), x, shuffled, xt, yt) < 0.7


def _ssvep_windows(freqs: list[float | None], n_per: int, seed: int, sfreq: float = 128.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(2 * sfreq)) / sfreq
    xs, ys = [], []
    for k, f in enumerate(freqs):
        for _ in range(n_per):
            x = rng.standard_normal((6, len(t)))
            if f is not None:
                mix = rng.uniform(0.2, 0.6, (6, 1))
                x += mix * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) \
                    + 0.5 * mix * np.sin(2 * np.pi * 2 * f * t + rng.uniform(0, 2 * np.pi))
            xs.append(x)
            ys.append(k)
    return np.stack(xs).astype(np.float32), np.array(ys)


@pytest.mark.parametrize("name", ["cca", "fbcca"])
def test_ssvep_baselines_need_no_training_when_every_class_has_a_frequency(name: str) -> None:
    classes = ["13Hz", "17Hz", "21Hz"]
    x, y = _ssvep_windows([13.0, 17.0, 21.0], 10, 0)
    model = make_baseline(name, sfreq=128.0, n_channels=6, classes=classes)
    # trained on a single window, argmax over the reference correlations still decodes everything
    model.fit(x[:1], y[:1])
    assert (model.predict(x) == y).mean() > 0.9


def test_stimulus_band_tangent_space_decodes_ssvep() -> None:
    classes = ["resting", "13Hz", "21Hz", "17Hz"]
    x, y = _ssvep_windows(class_frequencies(classes), 12, 0)
    xt, yt = _ssvep_windows(class_frequencies(classes), 8, 1)
    model = make_baseline("fb_tangent_lr", sfreq=128.0, n_channels=6, classes=classes)
    assert _balanced_accuracy(model, x, y, xt, yt) > 0.8


def test_ssvep_rest_class_learns_from_scores() -> None:
    classes = ["resting", "13Hz", "21Hz", "17Hz"]
    freqs = class_frequencies(classes)
    assert freqs == [None, 13.0, 21.0, 17.0]
    x, y = _ssvep_windows(freqs, 12, 0)
    xt, yt = _ssvep_windows(freqs, 8, 1)
    model = make_baseline("cca", sfreq=128.0, n_channels=6, classes=classes)
    assert _balanced_accuracy(model, x, y, xt, yt) > 0.8


def test_cca_matches_the_direct_formula() -> None:
    """First canonical correlation = largest singular value of Qx^T Qy (orthonormal bases of the centred data)."""
    rng = np.random.default_rng(3)
    sfreq, n = 128.0, 256
    y = sine_references(11.0, sfreq, n, n_harmonics=2)
    x = rng.standard_normal((n, 5)) + 0.3 * y @ rng.standard_normal((4, 5))
    qx, _ = np.linalg.qr(x - x.mean(0))
    qy, _ = np.linalg.qr(y - y.mean(0))
    direct = np.linalg.svd(qx.T @ qy, compute_uv=False)[0]
    assert canonical_correlation(x, y) == pytest.approx(direct, abs=1e-4)
    assert 0.3 < direct < 1.0


def test_bad_baselines_are_refused() -> None:
    with pytest.raises(ConfigError, match="did you mean 'csp_lda'"):
        make_baseline("csp_lad", SFREQ, 4, ["a", "b"])
    with pytest.raises(ConfigError, match="needs at least 2 channels"):
        make_baseline("tangent_lr", SFREQ, 1, ["a", "b"])
    with pytest.raises(ConfigError, match="no stimulus frequency"):
        make_baseline("cca", SFREQ, 2, ["left", "right"]).fit(np.zeros((2, 2, 100)), np.array([0, 1]))
    assert all(names for names in TASK_BASELINES.values())


@pytest.mark.parametrize("name", ["bandpower_lr", "tangent_lr", "cca"])
def test_features_computed_once_give_the_same_predictions(name: str) -> None:
    """The grid computes a pipeline's data-free front once and fits the rest per label fraction."""
    from sklearn.base import clone

    from neurorep.evaluation.baselines import split_features

    classes = ["rest", "13Hz", "17Hz"]
    x, y = _ssvep_windows(class_frequencies(classes), 8, 0)
    model = make_baseline(name, sfreq=128.0, n_channels=6, classes=classes)
    front, rest = split_features(model)
    assert front is not None and len(rest.steps) >= 1
    whole = clone(model).fit(x[::2], y[::2]).predict(x[1::2])
    split = rest.fit(front(x[::2]), y[::2]).predict(front(x[1::2]))
    np.testing.assert_array_equal(whole, split)


def test_bandpower_bands_option_reads_only_those_bands() -> None:
    """With ``bands`` the band-power row reads only the bands given: a 10-Hz rhythm is found through an
    8-13 Hz band and invisible through a 20-30 Hz one."""
    x, y = _oscillation_windows(120, 2, 0)
    xt, yt = _oscillation_windows(80, 2, 1)
    mu = make_baseline("bandpower_lr", SFREQ, 2, ["rest", "alpha"], bands=[[8, 13]])
    assert mu.steps[0][1].bands == ((8.0, 13.0),)
    assert _balanced_accuracy(mu, x, y, xt, yt) > 0.85
    beta = make_baseline("bandpower_lr", SFREQ, 2, ["rest", "alpha"], bands=[[20, 30]])
    assert _balanced_accuracy(beta, x, y, xt, yt) < 0.7
    for bad in ([[13, 8]], "mu", []):
        with pytest.raises(ConfigError, match="classic_options.bands"):
            make_baseline("bandpower_lr", SFREQ, 2, ["a", "b"], bands=bad)
