"""Pieces shared by the training tests: a tiny encoder and the known Lightning warnings to ignore."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neurorep.encoders.base import Encoder

LIGHTNING_WARNINGS = [
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`"),
    pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty"),
    pytest.mark.filterwarnings("ignore:Found .* module\\(s\\) in eval mode"),
]

C, T, D = 2, 16, 8


class TinyEncoder(Encoder):
    """Conv1d + BatchNorm: ``x[B, C, T] -> tokens[B, T/2, D]``."""

    registry_name = "tiny_test_encoder"

    def __init__(self, n_channels: int = C, n_times: int = T, embed_dim: int = D) -> None:
        super().__init__(n_channels=n_channels, n_times=n_times, embed_dim=embed_dim)
        self.embed_dim = embed_dim
        self.conv = nn.Conv1d(n_channels, embed_dim, kernel_size=3, stride=2, padding=1)
        self.norm = nn.BatchNorm1d(embed_dim)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x))).transpose(1, 2)
