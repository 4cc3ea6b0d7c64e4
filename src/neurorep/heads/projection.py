"""Heads that sit on top of an encoder embedding ``[B, D]``."""

from __future__ import annotations

import torch
from torch import nn

from neurorep.errors import ConfigError

__all__ = ["ClassificationHead", "ProjectionHead"]


def _positive(name: str, value: int, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


class ProjectionHead(nn.Module):
    """MLP projection for contrastive learning: Linear -> BatchNorm -> ReLU -> Linear.

    ``[B, in_dim] -> [B, out_dim]``. ``hidden_dim`` defaults to ``in_dim``. In training mode the
    BatchNorm needs ``B > 1``.
    """

    def __init__(self, in_dim: int, out_dim: int = 128, hidden_dim: int | None = None) -> None:
        super().__init__()
        _positive("in_dim", in_dim, "ProjectionHead")
        _positive("out_dim", out_dim, "ProjectionHead")
        hidden_dim = in_dim if hidden_dim is None else _positive("hidden_dim", hidden_dim, "ProjectionHead")
        self.in_dim, self.out_dim, self.hidden_dim = in_dim, out_dim, hidden_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h[B, in_dim] -> z[B, out_dim]``."""
        return self.net(h)


class ClassificationHead(nn.Module):
    """Dropout followed by a linear layer: ``[B, in_dim] -> logits[B, n_classes]``.

    A token sequence ``[B, N, in_dim]`` is mean-pooled over ``N`` first.
    """

    def __init__(self, in_dim: int, n_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        _positive("in_dim", in_dim, "ClassificationHead")
        _positive("n_classes", n_classes, "ClassificationHead")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"ClassificationHead: dropout must be in [0, 1), got {dropout}")
        self.in_dim, self.n_classes = in_dim, n_classes
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, n_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h[B, in_dim]`` (or ``[B, N, in_dim]``) ``-> logits[B, n_classes]``."""
        if h.dim() == 3:
            h = h.mean(dim=1)
        return self.linear(self.dropout(h))
