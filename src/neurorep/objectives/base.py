"""Base class shared by every training objective."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.encoders.base import Encoder


class Objective(nn.Module):
    """A training objective: ``objective(encoder, batch) -> {"loss": tensor, <parts>...}``.

    Objectives hold hyper-parameters and, where the method needs them, small heads that sit on top
    of any encoder (a projection head, a reconstruction decoder). Those heads are made by
    :meth:`build`, which the training module calls once with the encoder's ``embed_dim`` and the
    input shape before training starts. The loss terms themselves are plain functions in the same
    module, tested against their formulas.
    """

    registry_name: str = ""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(config)

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the heads this objective needs (default: none)."""

    def forward(self, encoder: Encoder, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError
