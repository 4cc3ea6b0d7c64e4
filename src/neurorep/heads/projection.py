"""The projection head of contrastive objectives (the classification head is in :mod:`neurorep.heads.classification`)."""

from __future__ import annotations

import torch
from torch import nn

from neurorep.checks import check_int

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Module):
    """MLP projection for contrastive learning: Linear -> BatchNorm -> ReLU -> Linear.

    ``[B, in_dim] -> [B, out_dim]``. ``hidden_dim`` defaults to ``in_dim``. In training mode the
    BatchNorm needs ``B > 1``.
    """

    def __init__(self, in_dim: int, out_dim: int = 128, hidden_dim: int | None = None) -> None:
        super().__init__()
        check_int("ProjectionHead", "in_dim", in_dim)
        check_int("ProjectionHead", "out_dim", out_dim)
        hidden_dim = in_dim if hidden_dim is None else check_int("ProjectionHead", "hidden_dim", hidden_dim)
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
