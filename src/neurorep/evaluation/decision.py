"""Per-class decision offsets tuned on held-out data.

A classifier trained towards calibrated probabilities (e.g. a student matching a teacher's soft
targets) predicts ``argmax_k p_k``, which maximises accuracy but under-predicts a minority class whose
probability rarely tops the others (Wake for a heart-rate sleep stager). Adding per-class offsets
``b_k`` to the log-probabilities (``argmax_k log p_k + b_k``) moves the decision boundaries without
retraining; :func:`tune_class_offsets` picks them on a validation set by coordinate ascent on a
metric (weighted F1 by default). Offsets added to a linear head's bias shift its logits, and so its
decisions, exactly the same way (see :func:`fold_offsets`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.metrics import f1_score

from neurorep.errors import ConfigError, DataError

__all__ = ["DECISION_METRICS", "fold_offsets", "tune_class_offsets"]

#: metric name -> ``f(y_true, y_pred) -> float`` (higher is better)
DECISION_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "weighted_f1": lambda y, p: float(f1_score(y, p, average="weighted", zero_division=0)),
    "macro_f1": lambda y, p: float(f1_score(y, p, average="macro", zero_division=0)),
    "accuracy": lambda y, p: float(np.mean(y == p)),
}


def tune_class_offsets(y: np.ndarray, log_probs: np.ndarray, metric: str = "weighted_f1", span: float = 2.0,
                       steps: int = 41, sweeps: int = 3) -> tuple[np.ndarray, float, float]:
    """Offsets ``b [K]`` (``b_0 = 0``) maximising ``metric(y, argmax(log_probs + b))``.

    Coordinate ascent: for each class ``k >= 1`` in turn, try ``b_k`` on ``steps`` evenly spaced values
    in ``[-span, span]`` and keep the best; ``sweeps`` passes over the classes. A change is kept only
    if it strictly improves the metric, so the result is all zeros when plain argmax is already best.

    Args:
        y: true classes ``[N]`` in ``[0, K)``.
        log_probs: log-probabilities (or logits) ``[N, K]``.

    Returns: ``(offsets, metric before, metric after)``.
    """
    if metric not in DECISION_METRICS:
        raise ConfigError(f"decision metric {metric!r} is unknown; choose one of {', '.join(DECISION_METRICS)}")
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[0] != y.shape[0] or y.size == 0:
        raise DataError(f"expected y [N] and log_probs [N, K] with N > 0; got {y.shape} and {lp.shape}")
    if not np.isfinite(lp).all():
        raise DataError("log_probs hold non-finite values")
    if span <= 0 or steps < 2 or sweeps < 1:
        raise ConfigError(f"need span > 0, steps >= 2, sweeps >= 1; got {span}, {steps}, {sweeps}")
    score = DECISION_METRICS[metric]
    k = lp.shape[1]
    offsets = np.zeros(k)
    before = best = score(y, lp.argmax(1))
    grid = np.linspace(-span, span, int(steps))
    for _ in range(int(sweeps)):
        changed = False
        for c in range(1, k):
            for g in grid:
                trial = offsets.copy()
                trial[c] = g
                v = score(y, (lp + trial).argmax(1))
                if v > best + 1e-12:
                    best, offsets, changed = v, trial, True
        if not changed:
            break
    return offsets, before, best


@torch.no_grad()
def fold_offsets(linear: torch.nn.Linear, offsets: np.ndarray) -> None:
    """Add ``offsets [K]`` to the bias of ``linear`` (its ``K`` outputs are logits)."""
    if linear.bias is None:
        raise ConfigError("cannot fold decision offsets into a linear layer without a bias")
    off = torch.as_tensor(np.asarray(offsets, dtype=np.float32)).reshape(-1)
    if off.numel() != linear.out_features:
        raise DataError(f"{off.numel()} offsets for a layer with {linear.out_features} outputs")
    linear.bias.add_(off.to(linear.bias))
