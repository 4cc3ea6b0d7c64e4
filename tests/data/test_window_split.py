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


def test_repeated_window_kfold_starts_with_the_plain_k_fold_and_tests_every_window_once_per_repeat() -> None:
    from sklearn.model_selection import StratifiedKFold

    labels = np.array([0] * 32 + [1] * 16 + [2] * 14 + [-1] * 5)
    labelled = np.flatnonzero(labels >= 0)
    for seed in (0, 7):
        plain = window_kfold(labels, k=5, seed=seed)
        repeated = window_kfold(labels, k=5, seed=seed, repeats=3)
        assert len(repeated) == 15
        reference = [np.sort(labelled[t]) for _, t in
                     StratifiedKFold(5, shuffle=True, random_state=seed).split(labelled, labels[labelled])]
        for a, b, ref in zip(plain, repeated[:5], reference):
            assert np.array_equal(a.test, ref) and np.array_equal(a.test, b.test) and np.array_equal(a.train, b.train)
        for r in range(3):
            tests = np.concatenate([s.test for s in repeated[5 * r:5 * r + 5]])
            assert np.array_equal(np.sort(tests), labelled)  # each repeat tests every labelled window once
        assert not np.array_equal(repeated[5].test, repeated[0].test)  # repeats reshuffle
        assert all(set(s.train) >= set(np.flatnonzero(labels < 0)) for s in repeated)


def test_repeats_are_refused_for_group_splits() -> None:
    from neurorep.data.splits import make_splits

    with pytest.raises(ConfigError, match="split.repeats=2 needs split.by=window"):
        make_splits(np.array([0, 0, 1, 1, 2, 2]), by="subject", folds=3, repeats=2)
