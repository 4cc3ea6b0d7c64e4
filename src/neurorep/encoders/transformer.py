"""``transformer``: patch embedding + learnable positions + pre-norm transformer encoder.

The window is cut into non-overlapping patches of ``patch_size`` samples spanning all channels;
each patch (``C * patch_size`` values) is mapped linearly to ``D`` (implemented as a strided
``Conv1d``, which is the same linear map). There is no [CLS] token: :meth:`forward` mean-pools.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["TransformerEncoder"]


@register_encoder("transformer")
class TransformerEncoder(Encoder):
    """Patch transformer: ``x[B, C, T] -> tokens[B, N, D]`` with ``N = T / patch_size``.

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T``; must be divisible by ``patch_size``. Inputs must have
            exactly this length (the positional embedding has one entry per patch).
        embed_dim: token size ``D`` (divisible by ``n_heads``).
        patch_size: samples per patch (default 100 = 1 s at 100 Hz).
        n_layers: transformer layers.
        n_heads: attention heads.
        mlp_ratio: feed-forward width as a multiple of ``D``.
        dropout: dropout in the transformer and after adding positions.
    """

    def __init__(
        self,
        *,
        n_channels: int,
        n_times: int,
        embed_dim: int = 128,
        patch_size: int = 100,
        n_layers: int = 4,
        n_heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        owner = "transformer"
        for name in ("n_channels", "n_times", "embed_dim", "patch_size", "n_heads"):
            check_int(owner, name, self.config[name])
        check_int(owner, "n_layers", n_layers, minimum=0)
        check_rate(owner, "dropout", dropout)
        if n_times % patch_size:
            divisors = [d for d in range(min(patch_size, n_times), 0, -1) if n_times % d == 0]
            raise ConfigError(
                f"{owner}: n_times={n_times} is not divisible by patch_size={patch_size}; choose a patch_size "
                f"that divides n_times (e.g. {divisors[0]}) or crop windows to {n_times - n_times % patch_size} samples"
                if n_times >= patch_size
                else f"{owner}: n_times={n_times} is shorter than patch_size={patch_size}; use a patch_size <= n_times"
            )
        if embed_dim % n_heads:
            raise ConfigError(
                f"{owner}: embed_dim={embed_dim} must be divisible by n_heads={n_heads}; "
                f"pick n_heads among the divisors of embed_dim"
            )
        if not isinstance(mlp_ratio, (int, float)) or mlp_ratio <= 0:
            raise ConfigError(f"{owner}: mlp_ratio must be a positive number, got {mlp_ratio!r}")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        self.n_tokens = n_times // patch_size
        self.patch_embed = nn.Conv1d(n_channels, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.n_tokens, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            embed_dim, n_heads, dim_feedforward=int(round(mlp_ratio * embed_dim)), dropout=dropout,
            activation="gelu", batch_first=True, norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(embed_dim),
                                                 enable_nested_tensor=False)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs (patch of ``T / 10`` samples if that divides)."""
        patch = n_times // 10 if n_times % 10 == 0 and n_times >= 10 else n_times
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "patch_size": patch,
                "n_layers": 1, "n_heads": 2}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, T / patch_size, D]``."""
        check_input(self, x, self.n_channels, self.n_times)
        tokens = self.patch_embed(x).transpose(1, 2)
        return self.transformer(self.drop(tokens + self.pos_embed))
