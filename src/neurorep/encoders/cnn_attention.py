"""``cnn_attention``: a multi-resolution CNN followed by self-attention over time (AttnSleep style).

Two convolutional branches read the window at two resolutions: a fine one (first kernel about
0.5 s, stride about 60 ms at 100 Hz) that sees fast rhythms and spindles, and a coarse one
(first kernel about 4 s, stride 0.5 s) that sees slow waves. Their tokens are concatenated along
time, given sinusoidal positions (token centre times on a common axis) plus a learned
per-branch embedding, and passed through a pre-norm transformer encoder.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.base import Encoder
from neurorep.encoders.cnn import conv_len, pool_len
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["CNNAttentionEncoder", "sinusoidal_encoding"]


def sinusoidal_encoding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal encoding of real-valued ``positions[N]`` -> ``[N, dim]`` (Vaswani et al.)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / max(half, 1))
    angles = positions.float().unsqueeze(1) * freqs.unsqueeze(0)
    enc = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2:
        enc = torch.cat([enc, torch.zeros(positions.shape[0], 1)], dim=1)
    return enc


class _Branch(nn.Module):
    """Conv -> BN -> GELU -> MaxPool -> Dropout -> 2 x [Conv -> BN -> GELU] -> MaxPool(2).

    ``x[B, C, T] -> [B, F, N]`` with ``F = n_filters``.
    """

    def __init__(self, n_channels: int, n_filters: int, kernel: int, stride: int, pool: int,
                 kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.kernel, self.stride, self.pool = kernel, stride, pool
        layers: list[nn.Module] = [
            nn.Conv1d(n_channels, n_filters, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm1d(n_filters),
            nn.GELU(),
            nn.MaxPool1d(pool),
            nn.Dropout(dropout),
        ]
        for _ in range(2):
            layers += [
                nn.Conv1d(n_filters, n_filters, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm1d(n_filters),
                nn.GELU(),
            ]
        layers.append(nn.MaxPool1d(2))
        self.net = nn.Sequential(*layers)

    def n_tokens(self, n_times: int) -> int:
        length = conv_len(n_times, self.kernel, self.stride, self.kernel // 2)
        return pool_len(pool_len(length, self.pool), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_encoder("cnn_attention")
class CNNAttentionEncoder(Encoder):
    """Multi-resolution CNN + transformer over time: ``x[B, C, T] -> tokens[B, N, D]``.

    ``N = N_fine + N_coarse``; for ``T = 3000`` and the defaults ``N = 31 + 15 = 46``. The
    positional encoding is computed for ``n_times`` at construction and recomputed on the fly for
    other window lengths.

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T``.
        embed_dim: token size ``D`` (divisible by ``n_heads``).
        n_filters: width ``F`` of each branch's convolutions (tokens are then mapped ``F -> D``).
        fine_kernel, fine_stride, fine_pool: first conv and pool of the fine branch.
        coarse_kernel, coarse_stride, coarse_pool: first conv and pool of the coarse branch.
        kernel_size: kernel of the narrow convolutions (odd).
        n_layers: transformer layers.
        n_heads: attention heads.
        mlp_ratio: feed-forward width as a multiple of ``D``.
        dropout: dropout in the CNN and the transformer.
    """

    def __init__(
        self,
        *,
        n_channels: int,
        n_times: int,
        embed_dim: int = 128,
        n_filters: int = 64,
        fine_kernel: int = 50,
        fine_stride: int = 6,
        fine_pool: int = 8,
        coarse_kernel: int = 400,
        coarse_stride: int = 50,
        coarse_pool: int = 2,
        kernel_size: int = 7,
        n_layers: int = 2,
        n_heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        owner = "cnn_attention"
        for name in ("n_channels", "n_times", "embed_dim", "n_filters", "fine_kernel", "fine_stride", "fine_pool",
                     "coarse_kernel", "coarse_stride", "coarse_pool", "kernel_size", "n_heads"):
            check_int(owner, name, self.config[name])
        check_int(owner, "n_layers", n_layers, minimum=0)
        check_rate(owner, "dropout", dropout)
        if kernel_size % 2 == 0:
            raise ConfigError(f"{owner}: kernel_size must be odd (for 'same' padding), got {kernel_size}; use {kernel_size + 1}")
        if embed_dim % n_heads:
            raise ConfigError(
                f"{owner}: embed_dim={embed_dim} must be divisible by n_heads={n_heads}; "
                f"pick n_heads among the divisors of embed_dim"
            )
        if not isinstance(mlp_ratio, (int, float)) or mlp_ratio <= 0:
            raise ConfigError(f"{owner}: mlp_ratio must be a positive number, got {mlp_ratio!r}")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        self.fine = _Branch(n_channels, n_filters, fine_kernel, fine_stride, fine_pool, kernel_size, dropout)
        self.coarse = _Branch(n_channels, n_filters, coarse_kernel, coarse_stride, coarse_pool, kernel_size, dropout)
        self.proj = nn.Linear(n_filters, embed_dim)
        for label, branch, k, s in (("fine", self.fine, fine_kernel, fine_stride),
                                    ("coarse", self.coarse, coarse_kernel, coarse_stride)):
            if branch.n_tokens(n_times) < 1:
                raise ConfigError(
                    f"{owner}: n_times={n_times} is too short for the {label} branch ({label}_kernel={k}, "
                    f"{label}_stride={s}); use longer windows or a smaller {label}_kernel/{label}_stride/{label}_pool"
                )
        self.branch_embed = nn.Parameter(torch.zeros(2, embed_dim))
        nn.init.trunc_normal_(self.branch_embed, std=0.02)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            embed_dim, n_heads, dim_feedforward=int(round(mlp_ratio * embed_dim)), dropout=dropout,
            activation="gelu", batch_first=True, norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(embed_dim),
                                                 enable_nested_tensor=False)
        self.register_buffer("pos", self._positions(n_times), persistent=False)
        self.n_tokens = int(self.pos.shape[0])

    def _positions(self, n_times: int) -> torch.Tensor:
        """Position encodings ``[N, D]``: token centre times in units of the fine token hop."""
        n_f, n_c = self.fine.n_tokens(n_times), self.coarse.n_tokens(n_times)
        centres = torch.cat([torch.arange(n_f) + 0.5, (torch.arange(n_c) + 0.5) * (n_f / n_c)])
        return sinusoidal_encoding(centres, self.embed_dim)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "n_filters": 8,
                "n_layers": 1, "n_heads": 2}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N_fine + N_coarse, D]``."""
        check_input(self, x, self.n_channels)
        fine = self.proj(self.fine(x).transpose(1, 2)) + self.branch_embed[0]
        coarse = self.proj(self.coarse(x).transpose(1, 2)) + self.branch_embed[1]
        tokens = torch.cat([fine, coarse], dim=1)
        pos = self.pos
        if tokens.shape[1] != pos.shape[0]:
            pos = self._positions(x.shape[-1]).to(tokens.device)
        return self.transformer(self.drop(tokens + pos.to(tokens.dtype)))
