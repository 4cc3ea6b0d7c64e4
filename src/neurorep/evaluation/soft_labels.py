"""Metrics for soft (vote-distribution) labels: KL divergence as scored by the HMS competition,
accuracy and macro-F1 against the consensus class, one-vs-rest AUROC per class, and calibration.

Arrays: ``p_true [N, K]`` vote distributions (rows sum to 1), ``p_pred [N, K]`` predicted
probabilities, ``y_true [N]`` class indices (by default the consensus ``argmax(p_true)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neurorep.errors import DataError
from neurorep.evaluation._checks import as_list_of_str, check_class_indices
from neurorep.evaluation.metrics import classification_metrics

__all__ = [
    "KAGGLE_EPSILON",
    "auroc",
    "check_distributions",
    "expected_calibration_error",
    "kl_divergence",
    "per_class_auroc",
    "reliability_bins",
    "soft_label_metrics",
]

#: Clipping used by the competition metric (``kaggle_metric_utilities.kl_divergence``).
KAGGLE_EPSILON = 1e-15


def check_distributions(p: object, name: str, k: int | None = None, atol: float = 1e-3) -> np.ndarray:
    """``p`` as float64 ``[N, K]`` with finite entries in [0, 1] and rows summing to 1 (within ``atol``)."""
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise DataError(f"{name} must be a non-empty 2-D array [N, K]; got shape {arr.shape}")
    if k is not None and arr.shape[1] != k:
        raise DataError(f"{name} has {arr.shape[1]} columns; expected {k}")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1 + atol).any():
        raise DataError(f"{name} must hold finite probabilities in [0, 1]")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > atol)
    if bad.size:
        raise DataError(f"{name} rows must sum to 1; row {int(bad[0])} sums to {sums[bad[0]]:.4f} "
                        f"({bad.size} such rows)")
    return arr


def kl_divergence(p_true: object, p_pred: object, epsilon: float = KAGGLE_EPSILON) -> float:
    """The HMS competition score: ``mean_i sum_k p_ik log(p_ik / q_ik)``.

    As in Kaggle's metric, predictions are clipped to ``[epsilon, 1 - epsilon]`` (and not
    renormalised) and terms with ``p_ik = 0`` count 0. Lower is better; 0 for a perfect match.
    """
    p = check_distributions(p_true, "p_true")
    q = np.asarray(p_pred, dtype=np.float64)
    if q.shape != p.shape:
        raise DataError(f"p_pred has shape {q.shape}; expected {p.shape} like p_true")
    if not np.isfinite(q).all():
        raise DataError("p_pred contains NaN or infinite values")
    q = np.clip(q, epsilon, 1 - epsilon)
    terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return float(terms.sum(axis=1).mean())


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores [N]`` for the bool ``positive [N]`` (ties count half).

    Computed from ranks (Mann-Whitney U); NaN when there are no positives or no negatives.
    """
    from scipy.stats import rankdata

    pos = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def per_class_auroc(p_pred: np.ndarray, y_true: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """One-vs-rest AUROC of each class's predicted probability against ``y_true == k``."""
    names = as_list_of_str(class_names)
    y = check_class_indices(y_true, len(names), "y_true")
    return {name: auroc(p_pred[:, k], y == k) for k, name in enumerate(names)}


def reliability_bins(p_pred: np.ndarray, y_true: np.ndarray, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Top-label calibration bins: equal-width bins over confidence ``max_k p_pred`` in ``(0, 1]``.

    Returns ``edges [n_bins + 1]``, ``count``, ``confidence`` (mean confidence) and ``accuracy``
    (share correct) per bin; empty bins hold NaN.
    """
    conf = p_pred.max(axis=1)
    correct = (p_pred.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)  # bin b holds (e_b, e_b+1]
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(idx, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "count": count, "confidence": confidence, "accuracy": accuracy}


def expected_calibration_error(p_pred: np.ndarray, y_true: np.ndarray, n_bins: int = 15) -> float:
    """ECE = ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over the :func:`reliability_bins`."""
    bins = reliability_bins(np.asarray(p_pred, dtype=np.float64), np.asarray(y_true), n_bins)
    n = bins["count"].sum()
    used = bins["count"] > 0
    return float((bins["count"][used] / n * np.abs(bins["accuracy"][used] - bins["confidence"][used])).sum())


def soft_label_metrics(p_true: object, p_pred: object, class_names: Sequence[str],
                       y_true: object | None = None, n_bins: int = 15) -> dict[str, Any]:
    """Every soft-label metric of ``p_pred [N, K]`` against the vote distributions ``p_true [N, K]``.

    ``y_true`` (class indices) defaults to the consensus ``argmax(p_true)``. Returns a JSON-ready
    dict: ``kl_divergence``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``kappa``,
    ``per_class_f1``, ``per_class_auroc``, ``macro_auroc`` (mean over classes where defined),
    ``ece``, ``confusion``, ``n``.
    """
    names = as_list_of_str(class_names)
    p = check_distributions(p_true, "p_true", len(names))
    q = check_distributions(p_pred, "p_pred", len(names))
    y = p.argmax(axis=1) if y_true is None else check_class_indices(y_true, len(names), "y_true")
    if len(y) != len(p):
        raise DataError(f"y_true has {len(y)} entries but p_true has {len(p)} rows")
    cls = classification_metrics(y, q.argmax(axis=1), names)
    aucs = per_class_auroc(q, y, names)
    finite = [v for v in aucs.values() if np.isfinite(v)]
    return {
        "n": len(p),
        "kl_divergence": kl_divergence(p, q),
        "accuracy": cls["accuracy"],
        "balanced_accuracy": cls["balanced_accuracy"],
        "macro_f1": cls["macro_f1"],
        "kappa": cls["kappa"],
        "per_class_f1": cls["per_class_f1"],
        "per_class_auroc": aucs,
        "macro_auroc": float(np.mean(finite)) if finite else float("nan"),
        "ece": expected_calibration_error(q, y, n_bins),
        "confusion": cls["confusion"],
    }
