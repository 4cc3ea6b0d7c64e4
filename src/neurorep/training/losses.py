"""Classification losses and label helpers shared by the classifier training module.

Hard labels: class indices ``y[B]`` with ``-1`` for an unlabelled row. Soft labels: rows of class
probabilities ``[B, K]`` (vote distributions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from neurorep.errors import ConfigError

__all__ = ["IGNORE_LABEL", "class_weights_from_labels", "kl_soft_loss", "labelled_cross_entropy", "mixup",
           "smooth_targets"]

IGNORE_LABEL = -1


def class_weights_from_labels(y: torch.Tensor | Sequence[int], n_classes: int) -> torch.Tensor:
    """Balanced class weights ``w_k = n / (K * count_k)`` (``0`` for an absent class).

    ``y``: integer labels ``[N]``; entries equal to ``-1`` (unlabelled) are not counted and
    ``n`` is the number of labelled entries. Returns float32 ``[K]``.
    """
    y = torch.as_tensor(y, dtype=torch.long).reshape(-1)
    y = y[y != IGNORE_LABEL]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ConfigError(f"labels must be in [0, {n_classes - 1}] or -1, found [{int(y.min())}, {int(y.max())}]")
    counts = torch.bincount(y, minlength=n_classes).to(torch.float32)
    n = float(y.numel())
    weights = torch.zeros(n_classes, dtype=torch.float32)
    present = counts > 0
    weights[present] = n / (n_classes * counts[present])
    return weights


def labelled_cross_entropy(logits: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None,
                           label_smoothing: float = 0.0) -> tuple[torch.Tensor, int]:
    """Cross-entropy over the rows with ``y != -1``; returns ``(loss, n_labelled)``. With no labelled
    row the loss is a zero that still depends on the logits (so backward works)."""
    mask = y != IGNORE_LABEL
    n = int(mask.sum())
    if n == 0:
        return logits.sum() * 0.0, 0
    return F.cross_entropy(logits[mask], y[mask], weight=weight, label_smoothing=float(label_smoothing)), n


def smooth_targets(target: torch.Tensor, eps: float) -> torch.Tensor:
    """``(1 - eps) * target + eps / K`` for ``target[B, K]``."""
    return target if eps == 0 else (1 - eps) * target + eps / target.shape[-1]


def kl_soft_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean_b sum_k t_bk (log t_bk - log softmax(logits)_bk)`` (terms with ``t = 0`` count 0).

    ``logits``, ``target``: ``[B, K]``; equals ``torch.nn.KLDivLoss(reduction="batchmean")``.
    """
    return F.kl_div(F.log_softmax(logits.float(), dim=-1), target.float(), reduction="batchmean")


def mixup(x: torch.Tensor, target: torch.Tensor, alpha: float,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix each sample with a random partner: ``lam * a + (1 - lam) * b`` for ``x[B, ...]`` and
    ``target[B, K]`` with ``lam ~ Beta(alpha, alpha)``; returns ``(x, target, lam)``."""
    if alpha <= 0 or x.shape[0] < 2:
        return x, target, 1.0
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
    return lam * x + (1 - lam) * x[perm], lam * target + (1 - lam) * target[perm], lam
