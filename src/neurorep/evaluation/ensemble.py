"""Weighted-average ensembles of class probabilities, with weights fitted on validation data.

Members give probabilities ``P_m[N, K]`` (rows sum to 1). The ensemble is
``p[N, K] = sum_m w_m P_m`` with ``w_m >= 0`` and ``sum_m w_m = 1``. The weights minimise a loss
on the validation set, parametrised as ``w = softmax(theta)`` (so the constraints always hold)
and optimised with L-BFGS (scipy) from equal weights:

- ``"log_loss"`` (hard labels ``y[N]``): ``-mean_n log p[n, y_n]`` (as sklearn's ``log_loss``);
- ``"kl"`` (soft targets ``t[N, K]``, e.g. expert vote shares): ``mean_n sum_k t_nk log(t_nk / p_nk)``;
- any callable ``loss(p[N, K], targets) -> float`` (gradient by finite differences).

``"auto"`` picks ``log_loss`` for 1-D integer targets and ``kl`` for 2-D targets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import softmax

from neurorep.errors import ConfigError, DataError

__all__ = ["EnsembleResult", "ensemble_probabilities", "evaluate_ensemble", "fit_ensemble_weights",
           "kl_divergence", "log_loss", "predict_proba"]

EPS = 1e-12
LossFn = Callable[[np.ndarray, np.ndarray], float]


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """``-mean_n log p[n, y_n]`` for probabilities ``p[N, K]`` and labels ``y[N]`` (clipped at 1e-12)."""
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], EPS, None))))


def kl_divergence(p: np.ndarray, t: np.ndarray) -> float:
    """``mean_n sum_k t_nk log(t_nk / p_nk)`` (``0 log 0 = 0``) for targets ``t[N, K]``, predictions ``p[N, K]``."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(t > 0, t * (np.log(np.clip(t, EPS, None)) - np.log(np.clip(p, EPS, None))), 0.0)
    return float(terms.sum(axis=1).mean())


def _stack(probs: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Member probabilities as one float64 array ``[M, N, K]``, checked."""
    arr = [np.asarray(p, dtype=np.float64) for p in probs]
    if not arr:
        raise DataError("ensemble: no member probabilities given")
    shapes = {a.shape for a in arr}
    if len(shapes) != 1 or arr[0].ndim != 2:
        raise DataError(f"ensemble: member probabilities must all be [N, K] of one shape, found {sorted(shapes)}")
    stacked = np.stack(arr)
    if not np.isfinite(stacked).all() or (stacked < 0).any():
        raise DataError("ensemble: member probabilities must be finite and non-negative")
    sums = stacked.sum(axis=2)
    if not np.allclose(sums, 1.0, atol=1e-3):
        worst = float(np.abs(sums - 1).max())
        raise DataError(f"ensemble: member probability rows must sum to 1 (off by up to {worst:.3g}); "
                        f"apply softmax to logits first")
    return stacked


def _targets(targets: np.ndarray, n: int, k: int) -> tuple[np.ndarray, bool]:
    t = np.asarray(targets)
    if t.ndim == 1:
        if len(t) != n:
            raise DataError(f"ensemble: expected {n} labels, found {len(t)}")
        if not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= k:
            raise DataError(f"ensemble: labels must be integers in [0, {k - 1}]")
        return t.astype(np.int64), True
    if t.shape != (n, k):
        raise DataError(f"ensemble: soft targets must have shape {(n, k)}, found {t.shape}")
    return t.astype(np.float64), False


def _resolve_loss(loss: str | LossFn, hard: bool) -> tuple[str, LossFn]:
    if callable(loss):
        return getattr(loss, "__name__", "custom"), loss
    name = ("log_loss" if hard else "kl") if loss == "auto" else loss
    if name == "log_loss":
        if not hard:
            raise ConfigError("ensemble loss 'log_loss' needs hard labels y[N]; use 'kl' for soft targets")
        return name, log_loss
    if name == "kl":
        return name, kl_divergence if not hard else (lambda p, y: log_loss(p, y))
    raise ConfigError(f"ensemble loss: expected 'auto', 'log_loss', 'kl' or a callable, got {loss!r}")


def ensemble_probabilities(probs: Sequence[np.ndarray] | np.ndarray, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """``sum_m w_m P_m``: ``probs[M][N, K]``, ``weights[M]`` -> ``[N, K]``."""
    stacked = _stack(probs)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != len(stacked):
        raise DataError(f"ensemble: {len(w)} weights for {len(stacked)} members")
    return np.tensordot(w, stacked, axes=1)


def fit_ensemble_weights(probs: Sequence[np.ndarray] | np.ndarray, targets: np.ndarray,
                         loss: str | LossFn = "auto") -> np.ndarray:
    """Non-negative weights ``w[M]`` summing to 1 that minimise ``loss(sum_m w_m P_m, targets)``.

    ``probs``: ``M`` arrays ``[N, K]`` of validation probabilities; ``targets``: labels ``[N]``
    or soft targets ``[N, K]``.
    """
    stacked = _stack(probs)
    m, n, k = stacked.shape
    t, hard = _targets(targets, n, k)
    name, fn = _resolve_loss(loss, hard)
    if m == 1:
        return np.ones(1)
    soft = np.eye(k)[t] if hard else t  # cross-entropy gradient works for both (KL differs by a constant)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray] | float:
        w = softmax(theta)
        p = np.tensordot(w, stacked, axes=1)
        if name not in ("log_loss", "kl"):
            return fn(p, t)
        value = fn(p, t)
        ratio = soft / np.clip(p, EPS, None)  # [N, K]
        grad_w = -np.einsum("mnk,nk->m", stacked, ratio) / n
        return value, w * (grad_w - np.dot(w, grad_w))  # chain rule through softmax

    analytic = name in ("log_loss", "kl")
    res = minimize(objective, np.zeros(m), jac=analytic, method="L-BFGS-B", options={"maxiter": 500})
    return softmax(res.x)


def predict_proba(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Softmax of a classifier's logits: ``model(x[N, C, T]) -> logits[N, K]`` -> probabilities ``[N, K]``."""
    import torch

    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                logits = model(torch.as_tensor(np.asarray(x[i:i + batch_size]), dtype=torch.float32))
                outs.append(torch.softmax(logits.float(), dim=1).numpy())
    finally:
        model.train(was_training)
    return np.concatenate(outs).astype(np.float64)


@dataclass
class EnsembleResult:
    """Fitted weights and each member's and the ensemble's scores (``rows``, one per member + ensemble)."""

    names: list[str]
    weights: np.ndarray
    loss: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "weights": dict(zip(self.names, map(float, self.weights), strict=True)),
                "rows": self.rows}


def _scores(p: np.ndarray, t: np.ndarray, hard: bool, fn: LossFn, prefix: str) -> dict[str, float]:
    out = {f"{prefix}_loss": fn(p, t)}
    y = t if hard else t.argmax(1)
    out[f"{prefix}_accuracy"] = float(np.mean(p.argmax(1) == y))
    recalls = [np.mean(p.argmax(1)[y == c] == c) for c in np.unique(y)]
    out[f"{prefix}_balanced_accuracy"] = float(np.mean(recalls))
    return out


def evaluate_ensemble(val_probs: Sequence[np.ndarray], val_targets: np.ndarray, test_probs: Sequence[np.ndarray],
                      test_targets: np.ndarray, names: Sequence[str] | None = None,
                      loss: str | LossFn = "auto") -> EnsembleResult:
    """Fit weights on validation, then score every member and the ensemble on validation and test.

    Each row: ``model``, ``weight``, ``val_loss``, ``test_loss``, ``test_accuracy`` and
    ``test_balanced_accuracy`` (arg-max of the probabilities against the labels, or against the
    arg-max of soft targets), likewise ``val_*``. The last row is ``ensemble``.
    """
    val, test = _stack(val_probs), _stack(test_probs)
    if val.shape[0] != test.shape[0] or val.shape[2] != test.shape[2]:
        raise DataError(f"ensemble: validation {val.shape} and test {test.shape} members/classes differ")
    names = list(names) if names is not None else [f"model_{i}" for i in range(len(val))]
    if len(names) != len(val):
        raise DataError(f"ensemble: {len(names)} names for {len(val)} members")
    tv, hard = _targets(val_targets, val.shape[1], val.shape[2])
    tt, _ = _targets(test_targets, test.shape[1], test.shape[2])
    loss_name, fn = _resolve_loss(loss, hard)
    weights = fit_ensemble_weights(val, tv, loss)
    result = EnsembleResult(names, weights, loss_name)
    for i, name in enumerate(names):
        result.rows.append({"model": name, "weight": float(weights[i]), **_scores(val[i], tv, hard, fn, "val"),
                            **_scores(test[i], tt, hard, fn, "test")})
    result.rows.append({"model": "ensemble", "weight": 1.0,
                        **_scores(np.tensordot(weights, val, axes=1), tv, hard, fn, "val"),
                        **_scores(np.tensordot(weights, test, axes=1), tt, hard, fn, "test")})
    return result
