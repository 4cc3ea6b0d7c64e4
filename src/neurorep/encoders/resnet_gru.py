"""``resnet_gru``: ResNet-1D blocks on raw EEG followed by a bidirectional GRU over time.

A strided stem convolution and a max-pool shorten the signal, residual blocks
(:class:`neurorep.encoders.resnet1d.BasicBlock1d`) extract local features and halve time at the
start of every stage after the first, and a bidirectional GRU reads the resulting sequence so
that each token sees the whole window. Tokens are the GRU outputs (forward and backward halves
concatenated), so ``embed_dim`` must be even.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input
from neurorep.encoders.base import Encoder
from neurorep.encoders.cnn import conv_len
from neurorep.encoders.registry import register_encoder
from neurorep.encoders.resnet1d import check_resnet_config, residual_stages
from neurorep.errors import ConfigError

__all__ = ["ResNetGRUEncoder"]


@register_encoder("resnet_gru")
class ResNetGRUEncoder(Encoder):
    """ResNet-1D + BiGRU: ``x[B, C, T] -> tokens[B, N, D]``.

    Layout: ``Conv1d(C, widths[0], stem_kernel, stride=stem_stride) -> BN -> ReLU -> MaxPool(pool)
    -> stages -> Dropout -> GRU(widths[-1], D / 2, gru_layers, bidirectional)``. Stage ``s`` holds
    ``blocks`` residual blocks of width ``widths[s]``, the first with stride 2 for ``s > 0``. For
    ``T = 3000`` and the defaults, ``N = 94`` tokens (about 0.3 s each at 100 Hz).

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T`` (checked against :meth:`min_n_times`; any longer ``T`` works).
        embed_dim: token / embedding size ``D`` (even: two GRU directions of ``D / 2``).
        widths: channel width of each residual stage.
        blocks: residual blocks per stage.
        kernel_size: kernel of the block convolutions (odd).
        stem_kernel: kernel of the stem convolution (odd).
        stem_stride: stride of the stem convolution.
        pool: max-pool size after the stem.
        gru_layers: stacked GRU layers.
        dropout: dropout before the GRU and between GRU layers.
    """

    def __init__(self, *, n_channels: int, n_times: int, embed_dim: int = 128, widths: Sequence[int] = (32, 64, 128),
                 blocks: int = 1, kernel_size: int = 7, stem_kernel: int = 15, stem_stride: int = 4, pool: int = 2,
                 gru_layers: int = 1, dropout: float = 0.1) -> None:
        widths = [int(w) if isinstance(w, (int, float)) and not isinstance(w, bool) else w for w in widths]
        super().__init__(n_channels=n_channels, n_times=n_times, embed_dim=embed_dim, widths=list(widths),
                         blocks=blocks, kernel_size=kernel_size, stem_kernel=stem_kernel, stem_stride=stem_stride,
                         pool=pool, gru_layers=gru_layers, dropout=dropout)
        owner = "resnet_gru"
        check_resnet_config(owner, self.config, ("n_channels", "n_times", "embed_dim", "blocks", "kernel_size",
                                                 "stem_kernel", "stem_stride", "pool", "gru_layers"))
        if embed_dim % 2:
            raise ConfigError(f"{owner}: embed_dim={embed_dim} must be even (two GRU directions of embed_dim / 2); "
                              f"use {embed_dim + 1}")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        if self.tokens_for(n_times) < 1:
            raise ConfigError(f"{owner}: n_times={n_times} is too short for stem_stride={stem_stride} and "
                              f"pool={pool} (needs at least {self.min_n_times()} samples); use longer windows "
                              f"or a smaller stem_stride/pool")
        self.stem = nn.Sequential(
            nn.Conv1d(n_channels, widths[0], stem_kernel, stride=stem_stride, padding=stem_kernel // 2, bias=False),
            nn.BatchNorm1d(widths[0]), nn.ReLU(), nn.MaxPool1d(pool),
        )
        self.stages, c_in = residual_stages(widths, blocks, kernel_size)
        self.drop = nn.Dropout(dropout)
        self.gru = nn.GRU(c_in, embed_dim // 2, num_layers=gru_layers, batch_first=True, bidirectional=True,
                          dropout=dropout if gru_layers > 1 else 0.0)
        self.n_tokens = self.tokens_for(n_times)

    def tokens_for(self, n_times: int) -> int:
        """Number of tokens ``N`` for a window of ``n_times`` samples."""
        c = self.config
        n = conv_len(n_times, c["stem_kernel"], c["stem_stride"], c["stem_kernel"] // 2) // c["pool"]
        for _ in range(len(c["widths"]) - 1):
            n = (n - 1) // 2 + 1 if n > 0 else 0
        return n

    def min_n_times(self) -> int:
        """Shortest window (samples) that still yields one token."""
        return (self.config["pool"] - 1) * self.config["stem_stride"] + 1

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "widths": [8, 16], "stem_stride": 16,
                "pool": 4}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]``."""
        check_input(self, x, self.n_channels)
        h = self.drop(self.stages(self.stem(x))).transpose(1, 2)  # [B, N, widths[-1]]
        tokens, _ = self.gru(h)
        return tokens
