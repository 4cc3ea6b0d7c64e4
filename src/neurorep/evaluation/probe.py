"""Linear probe: logistic regression on frozen embeddings, optionally with a fraction of the labels.

The probe standardises features with statistics of the training rows it uses, fits a multinomial
logistic regression (lbfgs, ``class_weight="balanced"``) and scores the test set with
:func:`neurorep.evaluation.metrics.classification_metrics`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from neurorep.errors import DataError
from neurorep.evaluation._checks import (
    as_list_of_str,
    check_class_indices,
    check_embeddings,
    stratified_subset,
)
from neurorep.evaluation.metrics import classification_metrics

__all__ = ["ProbeResult", "label_fraction_curve", "label_fraction_subset", "linear_probe"]

#: Fewest training examples kept per class when a label fraction is applied (fewer if the class
#: has fewer).
MIN_PER_CLASS = 3


@dataclass
class ProbeResult:
    """Outcome of :func:`linear_probe`.

    Attributes:
        metrics: :func:`classification_metrics` of the test predictions, plus ``label_fraction``,
            ``n_train_used``, ``n_iter`` and ``converged``.
        y_pred: predicted class index per test row, int64 ``[N_test]``.
        y_proba: class probabilities, float64 ``[N_test, K]`` (column ``c`` is class ``c``; a class
            absent from the training subset gets probability 0).
        n_train_used: number of training rows the probe was fitted on.
    """

    metrics: dict[str, Any]
    y_pred: np.ndarray
    y_proba: np.ndarray
    n_train_used: int


def label_fraction_subset(
    train_y: np.ndarray, label_fraction: float, seed: int = 0, min_per_class: int = MIN_PER_CLASS
) -> np.ndarray:
    """Sorted positions ``[M]`` of a seeded, stratified ``label_fraction`` of ``train_y [N]``.

    Every class present in ``train_y`` keeps at least ``min(min_per_class, its count)`` rows.
    ``label_fraction == 1`` returns all positions.
    """
    return stratified_subset(train_y, fraction=label_fraction, seed=seed, min_per_class=min_per_class)


def _standardise(train_x: np.ndarray, test_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-score both arrays ``[N, D]`` with the mean and std of ``train_x`` (constant columns -> 0)."""
    mean = train_x.mean(axis=0, dtype=np.float64)
    std = train_x.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    scale = (1.0 / std).astype(np.float32)
    shift = mean.astype(np.float32)
    return (train_x - shift) * scale, (test_x - shift) * scale


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    class_names: Sequence[str],
    label_fraction: float = 1.0,
    seed: int = 0,
    max_iter: int = 500,
    C: float = 1.0,
) -> ProbeResult:
    """Fit a logistic-regression probe on ``train_x [N, D]`` and score it on ``test_x [M, D]``.

    Args:
        train_x, test_x: embeddings, float ``[N, D]`` and ``[M, D]``, finite.
        train_y, test_y: class indices in ``[0, K)``, ``[N]`` and ``[M]``.
        class_names: ``K`` names, index ``c`` names class ``c``.
        label_fraction: share of the training rows to use, in ``(0, 1]``; the subset is stratified
            and keeps at least ``MIN_PER_CLASS`` rows of every class present (fewer if the class
            has fewer).
        seed: seeds the subset and the solver; the same seed gives the same result.
        max_iter: lbfgs iteration limit.
        C: inverse L2 regularisation strength.

    Raises ``DataError`` for NaN embeddings, mismatched lengths or dimensions, invalid class
    indices, or a training subset holding a single class.
    """
    names = as_list_of_str(class_names)
    k = len(names)
    tr_x = check_embeddings(train_x, "train_x")
    te_x = check_embeddings(test_x, "test_x")
    if tr_x.shape[1] != te_x.shape[1]:
        raise DataError(f"train_x has {tr_x.shape[1]} features but test_x has {te_x.shape[1]}")
    tr_y = check_class_indices(train_y, k, "train_y", tr_x.shape[0])
    te_y = check_class_indices(test_y, k, "test_y", te_x.shape[0])

    idx = label_fraction_subset(tr_y, label_fraction, seed=seed)
    tr_x, tr_y = tr_x[idx], tr_y[idx]
    classes = np.unique(tr_y)
    if classes.size < 2:
        raise DataError(
            f"the probe needs at least two classes in its training rows; got only "
            f"{[names[c] for c in classes]} in {tr_y.size} rows"
        )
    tr_z, te_z = _standardise(tr_x, te_x)
    clf = LogisticRegression(
        C=C, class_weight="balanced", solver="lbfgs", max_iter=max_iter, random_state=seed
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(tr_z, tr_y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)

    proba = np.zeros((te_z.shape[0], k), dtype=np.float64)
    proba[:, clf.classes_] = clf.predict_proba(te_z)
    y_pred = clf.classes_[np.argmax(proba[:, clf.classes_], axis=1)].astype(np.int64)

    metrics = classification_metrics(te_y, y_pred, names)
    metrics.update(
        label_fraction=float(label_fraction),
        n_train_used=int(idx.size),
        n_iter=int(np.max(clf.n_iter_)),
        converged=bool(converged),
    )
    return ProbeResult(metrics=metrics, y_pred=y_pred, y_proba=proba, n_train_used=int(idx.size))


def label_fraction_curve(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    class_names: Sequence[str],
    fractions: Iterable[float] = (0.01, 0.1, 1.0),
    seed: int = 0,
    max_iter: int = 500,
) -> list[dict[str, Any]]:
    """Run :func:`linear_probe` once per label fraction.

    Returns one flat row per fraction with keys ``fraction``, ``seed``, ``n_train``, ``accuracy``,
    ``balanced_accuracy``, ``macro_f1``, ``weighted_f1``, ``kappa`` (ready for
    :func:`neurorep.evaluation.plots.label_fraction_plot` and
    :func:`neurorep.evaluation.report.markdown_table`).
    """
    tr_x = check_embeddings(train_x, "train_x")
    te_x = check_embeddings(test_x, "test_x")
    rows: list[dict[str, Any]] = []
    for fraction in fractions:
        res = linear_probe(
            tr_x, train_y, te_x, test_y, class_names, label_fraction=float(fraction), seed=seed, max_iter=max_iter
        )
        m = res.metrics
        rows.append(
            {
                "fraction": float(fraction),
                "seed": int(seed),
                "n_train": res.n_train_used,
                "accuracy": m["accuracy"],
                "balanced_accuracy": m["balanced_accuracy"],
                "macro_f1": m["macro_f1"],
                "weighted_f1": m["weighted_f1"],
                "kappa": m["kappa"],
            }
        )
    return rows
