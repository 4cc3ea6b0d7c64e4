"""Classification metrics for sleep staging (and any other multi-class task).

All numbers come from one confusion matrix, so they agree with one another and with
:mod:`sklearn.metrics` (the tests compare each of them). Classes are integer indices into
``class_names``; a class absent from ``y_true`` (or from both arrays) does not raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neurorep.errors import DataError
from neurorep.evaluation._checks import as_list_of_str, check_class_indices

__all__ = ["classification_metrics", "confusion_counts"]


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix ``[K, K]`` (int64) with rows = true class and columns = predicted class."""
    idx = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Multi-class metrics of predictions ``y_pred [N]`` against ``y_true [N]``.

    Both arrays hold class indices in ``[0, K)`` with ``K = len(class_names)``.

    Returns a JSON-ready dict:

    - ``n``: number of samples.
    - ``accuracy``: fraction correct.
    - ``balanced_accuracy``: mean recall over the classes present in ``y_true``
      (as :func:`sklearn.metrics.balanced_accuracy_score`).
    - ``macro_f1``: mean F1 over the classes present in ``y_true`` or ``y_pred``
      (as ``f1_score(average="macro")``; a class absent from both is left out, not counted as 0).
    - ``weighted_f1``: F1 averaged with weights = support in ``y_true``.
    - ``kappa``: Cohen's kappa (unweighted). NaN when undefined, i.e. when chance agreement is 1
      (both arrays hold one and the same single class).
    - ``per_class_f1``: ``{name: F1}`` for every class; 0.0 for a class absent from both arrays.
    - ``per_class_recall``: ``{name: recall}``; NaN for a class absent from ``y_true``.
    - ``confusion``: ``K x K`` list of lists of counts, rows = true class, columns = predicted.
    - ``support``: ``{name: count in y_true}``.

    Raises ``DataError`` when the lengths differ, the arrays are empty or a value is not a valid
    class index.
    """
    names = as_list_of_str(class_names)
    k = len(names)
    yt = check_class_indices(y_true, k, "y_true")
    yp = check_class_indices(y_pred, k, "y_pred")
    if yt.shape[0] != yp.shape[0]:
        raise DataError(f"y_true has {yt.shape[0]} entries but y_pred has {yp.shape[0]}")
    if yt.shape[0] == 0:
        raise DataError("y_true and y_pred are empty")

    cm = confusion_counts(yt, yp, k)
    n = int(cm.sum())
    diag = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)

    present_true = support > 0
    present_any = (support + predicted) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(present_true, diag / support, np.nan)
        f1 = np.where(present_any, 2.0 * diag / (support + predicted), 0.0)

    po = diag.sum() / n
    pe = float((support * predicted).sum()) / float(n) ** 2
    kappa = float((po - pe) / (1.0 - pe)) if pe < 1.0 else float("nan")

    return {
        "n": n,
        "accuracy": float(po),
        "balanced_accuracy": float(recall[present_true].mean()),
        "macro_f1": float(f1[present_any].mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "kappa": kappa,
        "per_class_f1": {name: float(f1[i]) for i, name in enumerate(names)},
        "per_class_recall": {name: float(recall[i]) for i, name in enumerate(names)},
        "confusion": cm.tolist(),
        "support": {name: int(support[i]) for i, name in enumerate(names)},
    }
