"""Decision offsets tuned on held-out data: search, guarantees and folding into a linear head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.decision import fold_offsets, tune_class_offsets


def _shifted_scores(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes (60/25/15 %); scores are noisy one-hots with class 2 pushed down by 1.5."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    logits = 1.2 * np.eye(3)[y] + rng.normal(0.0, 0.8, size=(n, 3))
    logits[:, 2] -= 1.5
    return y, logits


def test_offsets_undo_a_suppressed_class_and_generalise() -> None:
    y, lp = _shifted_scores()
    offsets, before, after = tune_class_offsets(y, lp)
    assert offsets[0] == 0.0 and offsets[2] > 0.5  # class 2 is raised back
    pred = (lp + offsets).argmax(1)
    assert after == pytest.approx(f1_score(y, pred, average="weighted"))
    assert before == pytest.approx(f1_score(y, lp.argmax(1), average="weighted"))
    assert after > before + 0.02
    # offsets chosen on one sample help on a fresh one from the same distribution
    y2, lp2 = _shifted_scores(seed=1)
    assert f1_score(y2, (lp2 + offsets).argmax(1), average="weighted") > f1_score(y2, lp2.argmax(1), average="weighted")


def test_no_change_when_argmax_is_already_perfect() -> None:
    y = np.array([0, 1, 2, 2, 1, 0])
    lp = np.log(np.eye(3)[y] * 0.9 + 0.05)
    offsets, before, after = tune_class_offsets(y, lp)
    assert np.all(offsets == 0.0) and before == after == 1.0


@pytest.mark.parametrize("metric", ["macro_f1", "accuracy"])
def test_other_metrics_never_decrease(metric: str) -> None:
    y, lp = _shifted_scores(n=800, seed=2)
    _, before, after = tune_class_offsets(y, lp, metric=metric, steps=11)
    assert after >= before


def test_bad_inputs_are_refused() -> None:
    y, lp = _shifted_scores(n=50)
    with pytest.raises(ConfigError, match="unknown"):
        tune_class_offsets(y, lp, metric="auc")
    with pytest.raises(DataError, match="expected"):
        tune_class_offsets(y[:-1], lp)
    bad = lp.copy()
    bad[3, 1] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        tune_class_offsets(y, bad)


def test_fold_offsets_shifts_the_logits_exactly() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 3)
    x = torch.randn(7, 5)
    before = lin(x).detach()
    off = np.array([0.0, -0.5, 1.25])
    fold_offsets(lin, off)
    assert torch.allclose(lin(x), before + torch.tensor(off, dtype=torch.float32), atol=1e-6)
    with pytest.raises(DataError, match="offsets"):
        fold_offsets(lin, np.zeros(2))
