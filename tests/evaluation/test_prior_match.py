"""Prior matching of decisions per recording: matched proportions, no-op, bounds, groups, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.prior_match import (
    class_proportions,
    decided_proportions,
    prior_match,
    prior_match_offsets,
    select_bound,
)


def _suppressed(n: int = 2000, seed: int = 0, push: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Three classes (50/30/20 %), noisy one-hot scores with class 2 pushed down by ``push``."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    lp = 2.0 * np.eye(3)[y] + rng.normal(0.0, 0.7, size=(n, 3))
    lp[:, 2] -= push
    return y, lp


def test_proportions_are_matched_on_a_synthetic_recording() -> None:
    y, lp = _suppressed()
    target = class_proportions(y, 3)
    before = decided_proportions(lp)
    assert before[2] < target[2] - 0.08  # class 2 is under-predicted by argmax
    off = prior_match_offsets(lp, target, bound=3.0)
    after = decided_proportions(lp, off)
    assert off[0] == 0.0 and off[2] > 0.5  # the suppressed class is raised
    assert np.abs(after - target).sum() / 2 < 0.01  # matched up to the grid step
    assert np.abs(after - target).sum() < np.abs(before - target).sum()
    # the labels are never read: the same scores with other labels give the same offsets
    assert np.array_equal(prior_match_offsets(lp, target, bound=3.0), off)


def test_no_op_when_proportions_already_match() -> None:
    y, lp = _suppressed(push=0.0)
    target = decided_proportions(lp)  # the target is what argmax already predicts
    off = prior_match_offsets(lp, target, bound=2.0)
    assert np.all(off == 0.0)
    pred, offsets = prior_match(lp, np.zeros(len(y), int), target, bound=2.0)
    assert np.array_equal(pred, lp.argmax(1)) and np.all(offsets[0] == 0.0)


def test_offsets_are_bounded_and_a_class_without_evidence_stays_absent() -> None:
    y, lp = _suppressed(push=1.5)
    target = class_proportions(y, 3)
    for bound in (0.0, 0.3, 1.0):
        off = prior_match_offsets(lp, target, bound=bound)
        assert np.abs(off).max() <= bound + 1e-12
    assert np.all(prior_match_offsets(lp, target, bound=0.0) == 0.0)
    # a recording whose class-2 log-probabilities are 8 lower: a bound of 2 cannot bring class 2 back
    far = lp.copy()
    far[:, 2] -= 8.0
    off = prior_match_offsets(far, target, bound=2.0)
    assert decided_proportions(far, off)[2] == 0.0 and abs(off[2]) <= 2.0
    # with a bound larger than the gap it appears
    assert decided_proportions(far, prior_match_offsets(far, target, bound=12.0))[2] > 0.1


def test_each_recording_gets_its_own_offsets() -> None:
    y1, lp1 = _suppressed(seed=1, push=1.5)
    y2, lp2 = _suppressed(seed=2, push=0.0)
    lp = np.concatenate([lp1, lp2])
    groups = np.repeat([7, 9], [len(y1), len(y2)])
    target = class_proportions(np.concatenate([y1, y2]), 3)
    pred, offsets = prior_match(lp, groups, target, bound=3.0)
    assert set(offsets) == {7, 9} and offsets[7][2] > offsets[9][2]
    for g, part in ((7, lp1), (9, lp2)):
        assert np.array_equal(pred[groups == g], (part + prior_match_offsets(part, target, 3.0)).argmax(1))
        assert np.abs(decided_proportions(part, offsets[g]) - target).sum() / 2 < 0.02


def test_bad_input_is_refused() -> None:
    y, lp = _suppressed(n=50)
    target = class_proportions(y, 3)
    with pytest.raises(DataError, match="sum to 1"):
        prior_match_offsets(lp, np.array([0.5, 0.5, 0.5]))
    with pytest.raises(DataError, match="expected"):
        prior_match_offsets(lp, target[:2])
    with pytest.raises(ConfigError, match="bound"):
        prior_match_offsets(lp, target, bound=-1.0)
    bad = lp.copy()
    bad[0, 0] = np.inf
    with pytest.raises(DataError, match="non-finite"):
        prior_match_offsets(bad, target)
    with pytest.raises(DataError, match="groups"):
        prior_match(lp, np.zeros(3), target)
    with pytest.raises(DataError, match="no labelled"):
        class_proportions(np.array([-1, -1]), 3)


def test_select_bound_scores_each_person_against_the_others() -> None:
    # four people whose class-2 scores are suppressed: a positive bound recovers class 2 for every one
    parts = [_suppressed(n=600, seed=s, push=1.5) for s in range(4)]
    y = np.concatenate([p[0] for p in parts])
    lp = np.concatenate([p[1] for p in parts])
    person = np.repeat(np.arange(4), 600)
    bound, table = select_bound(lp, y, person * 10, person, [0.0, 0.5, 2.0])
    assert [t["bound"] for t in table] == [0.0, 0.5, 2.0] and bound > 0.0
    assert all(0.0 <= t["coverage"] <= 1.0 for t in table)
    by = {t["bound"]: t for t in table}
    assert by[bound]["kappa"] >= by[0.0]["kappa"]
    # each person is matched towards the other people's proportions: recompute one entry by hand
    from sklearn.metrics import cohen_kappa_score

    kappas = []
    for p in range(4):
        m = person == p
        pred, _ = prior_match(lp[m], person[m], class_proportions(y[~m], 3), 0.5)
        kappas.append(cohen_kappa_score(y[m], pred, labels=[0, 1, 2]))
    assert by[0.5]["kappa"] == pytest.approx(np.mean(kappas))
    with pytest.raises(DataError, match="at least 2 people"):
        select_bound(lp[:600], y[:600], person[:600], person[:600], [0.0])
