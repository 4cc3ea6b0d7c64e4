"""Ridge map to embeddings and soft-label baselines (evaluation/baselines_linear.py) on tiny cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.baselines_linear import (
    TimeCourseBins,
    embedding_ridge,
    fit_soft_labels,
    make_soft_baseline,
    soft_predict_proba,
)


def test_time_course_bins_are_bin_means() -> None:
    x = np.arange(2 * 3 * 10, dtype=float).reshape(2, 3, 10)
    out = TimeCourseBins(n_bins=5).transform(x)
    assert out.shape == (2, 15)
    np.testing.assert_allclose(out[0, :5], x[0, 0].reshape(5, 2).mean(1))
    assert TimeCourseBins(n_bins=50).transform(x).shape == (2, 30)  # never more bins than samples


def test_embedding_ridge_recovers_a_linear_map_from_time_courses() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4, 40))
    w = rng.normal(size=(4 * 20, 6))
    target = TimeCourseBins(20).transform(x) @ w
    model = embedding_ridge(sfreq=100.0, alphas=[1e-3, 1e-2]).fit(x[:200], target[:200])
    pred = model.predict(x[200:])
    corr = [np.corrcoef(pred[:, k], target[200:, k])[0, 1] for k in range(6)]
    assert min(corr) > 0.95


def test_soft_labels_fit_is_weighted_logistic_regression() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2, 100))
    x[:30, 0] *= 3  # more power on channel 0 for the first half
    votes = np.zeros((60, 3))
    votes[:30, 0], votes[:30, 1], votes[30:, 1], votes[30:, 2] = 3, 1, 2, 2  # class 2 only in the second half
    model = fit_soft_labels(make_soft_baseline("bandpower_lr", sfreq=50.0), x, votes)
    share = votes / votes.sum(1, keepdims=True)
    w, k = np.nonzero(share > 0)
    feats = model[:-1].transform(x)
    direct = LogisticRegression(max_iter=2000).fit(feats[w], k, sample_weight=share[w, k])
    np.testing.assert_allclose(soft_predict_proba(model, x, 3), direct.predict_proba(feats), atol=1e-6)


def test_a_class_nobody_voted_for_gets_zero_probability() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 1, 100))
    votes = np.zeros((20, 4))
    votes[:10, 0], votes[10:, 2] = 1, 1
    probs = soft_predict_proba(fit_soft_labels(make_soft_baseline("spectral_gb", 50.0), x, votes), x, 4)
    assert probs.shape == (20, 4) and np.all(probs[:, [1, 3]] == 0)
    np.testing.assert_allclose(probs.sum(1), 1)


def test_bad_votes_and_names_are_one_line_errors() -> None:
    x = np.zeros((3, 1, 100))
    with pytest.raises(DataError, match="at least one vote"):
        fit_soft_labels(make_soft_baseline("bandpower_lr", 50.0), x, np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="soft-label baseline"):
        make_soft_baseline("csp", 50.0)
