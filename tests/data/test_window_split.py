"""split.by=window: stratified k-fold over labelled windows (within-subject studies)."""

from __future__ import annotations

import numpy as np
import pytest

from neurorep.data.splits import window_kfold
from neurorep.errors import ConfigError


def test_window_kfold_partitions_labelled_windows_stratified() -> None:
    labels = np.array([0] * 20 + [1] * 10 + [2] * 15 + [-1] * 7)
    folds = window_kfold(labels, k=5, val=0.2, seed=0)
    assert len(folds) == 5
    labelled = np.flatnonzero(labels >= 0)
    tests = np.concatenate([f.test for f in folds])
    np.testing.assert_array_equal(np.sort(tests), labelled)  # every labelled window is tested exactly once
    for f in folds:
        assert set(np.flatnonzero(labels < 0)) <= set(f.train.tolist())  # unlabelled: always training
        assert not (set(f.train) & set(f.test)) and not (set(f.val) & set(f.test)) and not (set(f.train) & set(f.val))
        np.testing.assert_array_equal(np.bincount(labels[f.test]), [4, 2, 3])  # stratified
        assert len(f.val) > 0 and (labels[f.val] >= 0).all()
    again = window_kfold(labels, k=5, val=0.2, seed=0)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(folds, again))


def test_window_kfold_refuses_classes_smaller_than_k() -> None:
    with pytest.raises(ConfigError, match="fewer folds"):
        window_kfold(np.array([0] * 10 + [1] * 3), k=5)
