"""Linear probe: accuracy on separable data, label-fraction subsets, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from neurorep.errors import DataError
from neurorep.evaluation.probe import (
    MIN_PER_CLASS,
    label_fraction_curve,
    label_fraction_subset,
    linear_probe,
)

NAMES = ["W", "N1", "N2", "N3", "REM"]


def _clusters(n: int, d: int = 16, seed: int = 0, spread: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, d)) * 3.0
    y = rng.integers(0, 5, n)
    x = (centres[y] + spread * rng.normal(size=(n, d))).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = _clusters(1000, seed=0)
    return x[:700], y[:700], x[700:], y[700:]


def test_separable_clusters_high_accuracy(data) -> None:
    trx, try_, tex, tey = data
    res = linear_probe(trx, try_, tex, tey, NAMES)
    assert res.metrics["accuracy"] > 0.97
    assert res.metrics["balanced_accuracy"] > 0.97
    assert res.n_train_used == 700
    assert res.y_pred.shape == (300,) and res.y_pred.dtype == np.int64
    assert res.y_proba.shape == (300, 5)
    np.testing.assert_allclose(res.y_proba.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(res.y_pred, res.y_proba.argmax(axis=1))


def test_features_standardised_on_train(data) -> None:
    trx, try_, tex, tey = data
    scale = np.linspace(1e-3, 1e3, trx.shape[1]).astype(np.float32)
    a = linear_probe(trx, try_, tex, tey, NAMES)
    b = linear_probe(trx * scale + 50.0, try_, tex * scale + 50.0, tey, NAMES)
    assert np.mean(a.y_pred == b.y_pred) > 0.99


def test_label_fraction_subset_sizes_and_coverage() -> None:
    rng = np.random.default_rng(3)
    y = np.concatenate([np.full(2000, 2), np.full(500, 0), np.full(300, 4), np.full(40, 1), np.full(2, 3)])
    y = rng.permutation(y)
    sub = label_fraction_subset(y, 0.1, seed=0)
    counts = np.bincount(y[sub], minlength=5)
    assert counts.tolist() == [50, 4, 200, 2, 30]  # 10% each, at least min(3, count)
    sub = label_fraction_subset(y, 0.01, seed=0)
    counts = np.bincount(y[sub], minlength=5)
    assert counts.tolist() == [MIN_PER_CLASS + 2, MIN_PER_CLASS, 20, 2, MIN_PER_CLASS]
    assert np.unique(sub).size == sub.size  # no repeats
    assert label_fraction_subset(y, 1.0).size == y.size
    with pytest.raises(DataError, match="label fraction"):
        label_fraction_subset(y, 1.5)


def test_probe_deterministic_by_seed(data) -> None:
    trx, try_, tex, tey = data
    a = linear_probe(trx, try_, tex, tey, NAMES, label_fraction=0.05, seed=7)
    b = linear_probe(trx, try_, tex, tey, NAMES, label_fraction=0.05, seed=7)
    np.testing.assert_array_equal(a.y_pred, b.y_pred)
    np.testing.assert_array_equal(a.y_proba, b.y_proba)
    assert a.metrics == b.metrics
    s0 = label_fraction_subset(try_, 0.05, seed=0)
    s1 = label_fraction_subset(try_, 0.05, seed=1)
    assert not np.array_equal(s0, s1)


def test_class_absent_from_training_subset_gets_zero_probability() -> None:
    x, y = _clusters(400, seed=4)
    keep = y != 3
    res = linear_probe(x[keep][:300], y[keep][:300], x[300:], y[300:], NAMES)
    assert np.all(res.y_proba[:, 3] == 0.0)
    assert 3 not in set(res.y_pred.tolist())


def test_label_fraction_curve(data) -> None:
    trx, try_, tex, tey = data
    rows = label_fraction_curve(trx, try_, tex, tey, NAMES, fractions=(0.02, 0.2, 1.0), seed=0)
    assert [r["fraction"] for r in rows] == [0.02, 0.2, 1.0]
    assert rows[0]["n_train"] < rows[1]["n_train"] < rows[2]["n_train"] == 700
    assert {"accuracy", "balanced_accuracy", "macro_f1", "kappa", "seed"} <= set(rows[0])
    assert rows[-1]["balanced_accuracy"] > 0.97


def test_bad_input_raises_data_error(data) -> None:
    trx, try_, tex, tey = data
    bad = trx.copy()
    bad[5, 2] = np.nan
    with pytest.raises(DataError, match="train_x contain NaN"):
        linear_probe(bad, try_, tex, tey, NAMES)
    with pytest.raises(DataError, match="train_y has 699 entries"):
        linear_probe(trx, try_[:-1], tex, tey, NAMES)
    with pytest.raises(DataError, match="features"):
        linear_probe(trx, try_, tex[:, :3], tey, NAMES)
    with pytest.raises(DataError, match="two classes"):
        linear_probe(trx, np.zeros(700, int), tex, tey, NAMES)
