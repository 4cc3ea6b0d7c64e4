"""classification_metrics compared number by number with sklearn.metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from neurorep.errors import DataError
from neurorep.evaluation.metrics import classification_metrics

NAMES = ["W", "N1", "N2", "N3", "REM"]


def _check_against_sklearn(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> None:
    k = len(names)
    m = classification_metrics(y_true, y_pred, names)
    assert m["n"] == y_true.size
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about classes missing from y_true
        bal = skm.balanced_accuracy_score(y_true, y_pred)
        kappa = skm.cohen_kappa_score(y_true, y_pred)
    assert m["balanced_accuracy"] == pytest.approx(bal)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0))
    if np.isnan(kappa):
        assert np.isnan(m["kappa"])
    else:
        assert m["kappa"] == pytest.approx(kappa)
    per = skm.f1_score(y_true, y_pred, labels=list(range(k)), average=None, zero_division=0)
    assert [m["per_class_f1"][n] for n in names] == pytest.approx(per.tolist())
    assert m["confusion"] == skm.confusion_matrix(y_true, y_pred, labels=list(range(k))).tolist()
    assert [m["support"][n] for n in names] == np.bincount(y_true, minlength=k).tolist()


def test_matches_sklearn_on_random_predictions() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 400)
    y_pred = np.where(rng.random(400) < 0.6, y_true, rng.integers(0, 5, 400))
    _check_against_sklearn(y_true, y_pred, NAMES)


def test_class_missing_from_predictions() -> None:
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(y_true == 1, 2, y_true)  # N1 never predicted
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["per_class_f1"]["N1"] == 0.0
    _check_against_sklearn(y_true, y_pred, NAMES)


def test_class_absent_from_truth_and_predictions() -> None:
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 4, 200)  # REM absent everywhere
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["support"]["REM"] == 0
    assert m["per_class_f1"]["REM"] == 0.0
    assert np.isnan(m["per_class_recall"]["REM"])
    _check_against_sklearn(y_true, y_pred, NAMES)


def test_class_only_in_predictions() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 3, 1, 1, 2, 3])
    _check_against_sklearn(y_true, y_pred, NAMES)


def test_perfect_and_constant_predictions() -> None:
    y = np.array([0, 1, 2, 3, 4, 0])
    m = classification_metrics(y, y, NAMES)
    assert m["accuracy"] == m["balanced_accuracy"] == m["macro_f1"] == m["kappa"] == 1.0
    const = classification_metrics(np.zeros(5, int), np.zeros(5, int), NAMES)
    assert const["accuracy"] == 1.0 and np.isnan(const["kappa"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60))
def test_property_matches_sklearn(pairs: list[tuple[int, int]]) -> None:
    y_true = np.array([a for a, _ in pairs])
    y_pred = np.array([b for _, b in pairs])
    _check_against_sklearn(y_true, y_pred, NAMES)


def test_bad_input_raises_data_error() -> None:
    with pytest.raises(DataError, match="y_true has 3 entries but y_pred has 2"):
        classification_metrics([0, 1, 2], [0, 1], NAMES)
    with pytest.raises(DataError, match="y_pred"):
        classification_metrics([0, 1], [0, 7], NAMES)
    with pytest.raises(DataError, match="NaN"):
        classification_metrics(np.array([0.0, np.nan]), [0, 1], NAMES)
    with pytest.raises(DataError, match="empty"):
        classification_metrics([], [], NAMES)
