"""``shallow``: temporal filters, spatial filters, log band power (the shallow ConvNet layout).

A temporal convolution (a bank of learnt FIR band-pass filters), a spatial convolution over all
channels, batch normalisation, squaring, average pooling over ``pool`` samples and a logarithm:
each token is the log power of ``n_spatial`` spatially and spectrally filtered signals over a
stretch of the window, and the mean-pooled embedding is their log power over the whole window.
A linear read-out of this embedding is a read-out of band power, the feature that motor rhythms
(mu/beta) and SSVEP responses live on, so a linear probe can use whatever bands the filters pass.

``window_norm`` standardises each window first (channel means removed, divided by the window's
standard deviation over all channels and samples), as in ``eegnet``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.encoders.base import Encoder
from neurorep.encoders.cnn import check_input, check_int
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["ShallowEncoder"]


@register_encoder("shallow")
class ShallowEncoder(Encoder):
    """``x[B, C, T] -> tokens[B, N, D]`` with ``D = n_spatial`` log-power features per token.

    Layout::

        [window_norm] -> Conv2d(1, F, (1, temporal_kernel)) -> Conv2d(F, D, (C, 1)) -> BN
        -> square -> AvgPool(1, pool, stride=pool_stride) -> log(max(., eps))

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T`` (at least ``pool``).
        n_temporal: temporal filters ``F``.
        n_spatial: spatial filters, the embedding size ``D``.
        temporal_kernel: temporal filter length in samples (odd; an even length is rounded up).
        pool, pool_stride: power-averaging window and hop in samples (``N = (T - pool) // pool_stride + 1``).
        window_norm: standardise each window.
    """

    default_embed_dim = 32  # the default ``n_spatial``: a shallow filter bank, not a 128-wide embedding

    def __init__(self, *, n_channels: int, n_times: int, n_temporal: int = 16, n_spatial: int = 32,
                 temporal_kernel: int = 33, pool: int = 64, pool_stride: int = 16, window_norm: bool = True) -> None:
        super().__init__(n_channels=n_channels, n_times=n_times, n_temporal=n_temporal, n_spatial=n_spatial,
                         temporal_kernel=temporal_kernel, pool=pool, pool_stride=pool_stride, window_norm=window_norm)
        owner = "shallow"
        for name in ("n_channels", "n_times", "n_temporal", "n_spatial", "temporal_kernel", "pool", "pool_stride"):
            check_int(owner, name, self.config[name])
        if not isinstance(window_norm, bool):
            raise ConfigError(f"{owner}: window_norm must be true or false, got {window_norm!r}")
        if n_times < pool:
            raise ConfigError(f"{owner}: n_times={n_times} is shorter than pool={pool}; use a smaller pool")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, n_spatial
        self.window_norm = window_norm
        k = temporal_kernel // 2 * 2 + 1
        self.temporal = nn.Conv2d(1, n_temporal, (1, k), padding=(0, k // 2), bias=False)
        self.spatial = nn.Conv2d(n_temporal, n_spatial, (n_channels, 1), bias=False)
        self.bn = nn.BatchNorm2d(n_spatial)
        self.pool = nn.AvgPool2d((1, pool), stride=(1, pool_stride))
        self.n_tokens = (n_times - pool) // pool_stride + 1

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "n_temporal": 4, "n_spatial": 8, "temporal_kernel": 9,
                "pool": min(16, n_times), "pool_stride": 8}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]``: log mean power of each filtered signal over each pool window."""
        check_input(self, x, self.n_channels)
        if self.window_norm:
            x = x - x.mean(dim=2, keepdim=True)
            x = x / (x.flatten(1).std(dim=1)[:, None, None] + 1e-6)
        h = self.bn(self.spatial(self.temporal(x.unsqueeze(1))))  # [B, D, 1, T]
        h = torch.log(self.pool(h * h).clamp_min(1e-6))  # [B, D, 1, N]
        return h.squeeze(2).transpose(1, 2)
