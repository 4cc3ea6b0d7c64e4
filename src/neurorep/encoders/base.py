"""Base class shared by every encoder."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Encoder(nn.Module):
    """An encoder maps a window ``x[B, C, T]`` to an embedding ``[B, D]``.

    Subclasses implement :meth:`forward_features` returning a token sequence ``[B, N, D]``;
    :meth:`forward` mean-pools it unless overridden. ``embed_dim`` is ``D``. The constructor
    keyword arguments are kept in ``self.config`` so that :func:`neurorep.export.hub.save_pretrained`
    can rebuild the model. Encoders hold no classification head.
    """

    embed_dim: int
    registry_name: str = ""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(config)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``x[B, C, T] -> tokens[B, N, D]``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> embedding[B, D]`` (mean over tokens)."""
        return self.forward_features(x).mean(dim=1)
