"""U-Time (Perslev et al., NeurIPS 2019): a fully convolutional encoder-decoder for sleep staging.

Input ``x[B, C, T]`` holds ``N = T / epoch_samples`` consecutive scoring epochs. The encoder is
``len(pools)`` blocks of two dilated convolutions (BatchNorm, ReLU) followed by max-pooling; a
bottleneck of two convolutions; a decoder that upsamples (nearest), convolves, concatenates the
skip connection of the same level and convolves twice; a 1x1 projection to ``embed_dim``. Per-sample
decoder features are averaged over each epoch, giving one token per epoch: ``forward_features``
returns ``[B, N, embed_dim]`` (the segment classifier of U-Time is a head on these tokens, see
:class:`neurorep.training.distill.StagingNet`). :meth:`UTime.features` also returns the
intermediate maps used by attention transfer: ``enc<i>`` ``[B, filters[i], T / prod(pools[:i])]``,
``bottleneck`` ``[B, filters[-1] * 2, T / prod(pools)]`` and ``dec<i>``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.encoders.base import Encoder, deprecated_alias
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError, DataError


def _conv(c_in: int, c_out: int, k: int, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv1d(c_in, c_out, k, padding=pad, dilation=dilation), nn.BatchNorm1d(c_out), nn.ReLU())


def _fit(x: torch.Tensor, length: int) -> torch.Tensor:
    """Crop or right-pad (zeros) ``x[B, C, L]`` to ``length`` samples."""
    cur = x.shape[-1]
    if cur > length:
        return x[..., :length]
    if cur < length:
        return F.pad(x, (0, length - cur))
    return x


@register_encoder("utime")
class UTime(Encoder):
    """U-Time encoder-decoder; tokens are per-epoch averages of the decoder output.

    Args:
        n_channels: input channels ``C``.
        n_times: input samples ``T`` the model is built for (any multiple of ``epoch_samples`` runs).
        epoch_samples: samples per scoring epoch (default ``n_times``: one epoch per window).
        filters: channels of each encoder level (the bottleneck has twice the last).
        pools: max-pooling factor after each encoder level.
        kernel_size: odd convolution kernel; dilation: encoder/bottleneck dilation.
        embed_dim: channels of the final projection (default 128).
        dropout: dropout before the bottleneck convolutions.
    """

    def __init__(self, n_channels: int, n_times: int, epoch_samples: int | None = None,
                 filters: tuple[int, ...] | list[int] = (16, 32, 64, 128), pools: tuple[int, ...] | list[int] = (10, 8, 6, 4),
                 kernel_size: int = 5, dilation: int = 2, embed_dim: int | None = None, dropout: float = 0.0) -> None:
        filters, pools = [int(f) for f in filters], [int(p) for p in pools]
        epoch_samples = int(epoch_samples or n_times)
        embed_dim = int(embed_dim or 128)
        super().__init__(n_channels=int(n_channels), n_times=int(n_times), epoch_samples=epoch_samples,
                         filters=filters, pools=pools, kernel_size=int(kernel_size), dilation=int(dilation),
                         embed_dim=embed_dim, dropout=float(dropout))
        if len(filters) != len(pools) or not filters:
            raise ConfigError(f"utime: filters and pools need the same (non-zero) length; got {filters} and {pools}")
        if kernel_size % 2 == 0 or kernel_size < 1:
            raise ConfigError(f"utime: kernel_size must be odd; got {kernel_size}")
        if any(p < 1 for p in pools) or any(f < 1 for f in filters):
            raise ConfigError(f"utime: pools and filters must be positive; got {pools} and {filters}")
        if not 0 <= dropout < 1:
            raise ConfigError(f"utime: dropout must be in [0, 1); got {dropout}")
        if n_times % epoch_samples:
            raise ConfigError(f"utime: n_times={n_times} is not a multiple of epoch_samples={epoch_samples}")
        if n_times // math.prod(pools) < 1:
            raise ConfigError(f"utime: n_times={n_times} is too short for pools {pools} (product {math.prod(pools)})")
        self.n_channels, self.n_times, self.epoch_samples = int(n_channels), int(n_times), epoch_samples
        self.pools = pools
        self.embed_dim = embed_dim
        self.n_tokens = n_times // epoch_samples
        k, d = int(kernel_size), int(dilation)
        self.down = nn.ModuleList()
        c = int(n_channels)
        for f in filters:
            self.down.append(nn.Sequential(_conv(c, f, k, d), _conv(f, f, k, d)))
            c = f
        fb = filters[-1] * 2
        self.bottleneck = nn.Sequential(nn.Dropout(dropout), _conv(c, fb, k, 1), _conv(fb, fb, k, 1))
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        c = fb
        for f, p in zip(reversed(filters), reversed(pools), strict=True):
            self.up.append(_conv(c, f, max(1, p) | 1))  # odd kernel spanning about one pooling step
            self.merge.append(nn.Sequential(_conv(2 * f, f, k), _conv(f, f, k)))
            c = f
        self.proj = nn.Conv1d(c, embed_dim, 1)

    @staticmethod
    def tiny_kwargs(n_channels: int, n_times: int) -> dict[str, Any]:
        """A small variant for tests."""
        return {"n_channels": n_channels, "n_times": n_times, "filters": [4, 8], "pools": [4, 5], "dilation": 1,
                "embed_dim": 8}

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[1] != self.n_channels:
            raise DataError(f"utime: expected x[B, C, T] with n_channels={self.n_channels}; got shape {tuple(x.shape)}")
        if x.shape[-1] % self.epoch_samples:
            raise DataError(f"utime: input length {x.shape[-1]} is not a multiple of epoch_samples={self.epoch_samples}")

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Deprecated name of :meth:`forward_intermediates`."""
        deprecated_alias("UTime.features()", "forward_intermediates()")
        return self.forward_intermediates(x)

    def forward_intermediates(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Intermediate maps ``enc<i>``, ``bottleneck``, ``dec<i>`` ``[B, C_l, T_l]`` and ``tokens [B, N, D]``."""
        self._check(x)
        out: dict[str, torch.Tensor] = {}
        skips = []
        h = x
        for i, (block, p) in enumerate(zip(self.down, self.pools, strict=True)):
            h = block(h)
            out[f"enc{i}"] = h
            skips.append(h)
            h = F.max_pool1d(h, p)
        h = self.bottleneck(h)
        out["bottleneck"] = h
        for j, (up, merge, p) in enumerate(zip(self.up, self.merge, reversed(self.pools), strict=True)):
            skip = skips[-1 - j]
            h = up(F.interpolate(h, scale_factor=float(p), mode="nearest"))
            h = merge(torch.cat([_fit(h, skip.shape[-1]), skip], dim=1))
            out[f"dec{j}"] = h
        z = self.proj(h)  # [B, D, T]
        n = x.shape[-1] // self.epoch_samples
        out["tokens"] = z.reshape(z.shape[0], z.shape[1], n, self.epoch_samples).mean(-1).transpose(1, 2)
        return out

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, embed_dim]``, one token per epoch."""
        return self.forward_intermediates(x)["tokens"]
