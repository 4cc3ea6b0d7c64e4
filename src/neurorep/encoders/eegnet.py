"""``eegnet``: a compact depthwise-separable CNN for event-related EEG (motor imagery, SSVEP).

The layout follows the EEGNet family: a temporal convolution with a long kernel (a bank of learnt
band-pass filters; ``temporal_kernel`` samples give a frequency resolution of about
``sfreq / temporal_kernel`` Hz), a depthwise spatial convolution over all channels per temporal
filter (learnt spatial filters, as CSP or CCA would build), then a separable convolution (depthwise
in time, pointwise across features) and average pooling. With few parameters it suits small real
EEG sets, where the sleep-shaped ``cnn`` overfits or learns nothing.

``window_norm`` standardises each window before the first layer: every channel loses its mean and
the window is divided by its standard deviation over all channels and samples (so relative channel
amplitudes are kept). This removes the scale differences between subjects, sessions and
electrodes that dominate cross-subject real recordings.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["EEGNetEncoder"]


@register_encoder("eegnet")
class EEGNetEncoder(Encoder):
    """Temporal conv -> depthwise spatial conv -> separable conv: ``x[B, C, T] -> tokens[B, N, D]``.

    Layout (``F1 = n_temporal``, ``F1 * depth`` spatial filters, ``D = embed_dim``)::

        [window_norm] -> Conv2d(1, F1, (1, temporal_kernel)) -> BN
        -> Conv2d(F1, F1*depth, (C, 1), groups=F1) -> BN -> ELU -> AvgPool(1, pool1) -> Dropout
        -> Conv2d(F1*depth, F1*depth, (1, separable_kernel), groups=F1*depth) -> Conv2d(F1*depth, D, 1)
        -> BN -> ELU -> AvgPool(1, pool2) -> Dropout

    giving ``N = (T // pool1) // pool2`` tokens of size ``D``. Kernels are odd with "same" padding
    (an even kernel length is rounded up by one).

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T`` (at least ``pool1 * pool2``).
        embed_dim: token / embedding size ``D`` (the separable convolution's output width).
        n_temporal: temporal filters ``F1``.
        depth: spatial filters per temporal filter.
        temporal_kernel: temporal filter length in samples (about ``sfreq / 2`` for 2 Hz resolution).
        separable_kernel: length of the separable convolution's depthwise kernel.
        pool1, pool2: average-pool sizes after the spatial and the separable convolutions.
        dropout: dropout rate after each pooling.
        window_norm: standardise each window (see the module notes).
    """

    def __init__(self, *, n_channels: int, n_times: int, embed_dim: int = 128, n_temporal: int = 16,
                 depth: int = 2, temporal_kernel: int = 64, separable_kernel: int = 17, pool1: int = 4,
                 pool2: int = 8, dropout: float = 0.25, window_norm: bool = True) -> None:
        super().__init__()
        owner = "eegnet"
        for name in ("n_channels", "n_times", "embed_dim", "n_temporal", "depth", "temporal_kernel",
                     "separable_kernel", "pool1", "pool2"):
            check_int(owner, name, self.config[name])
        check_rate(owner, "dropout", dropout)
        if not isinstance(window_norm, bool):
            raise ConfigError(f"{owner}: window_norm must be true or false, got {window_norm!r}")
        if n_times < pool1 * pool2:
            raise ConfigError(f"{owner}: n_times={n_times} is shorter than pool1 * pool2 = {pool1 * pool2}; "
                              "use longer windows or smaller pools")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        self.window_norm = window_norm
        k1, k2 = temporal_kernel // 2 * 2 + 1, separable_kernel // 2 * 2 + 1
        spatial = n_temporal * depth
        self.temporal = nn.Sequential(
            nn.Conv2d(1, n_temporal, (1, k1), padding=(0, k1 // 2), bias=False), nn.BatchNorm2d(n_temporal))
        self.spatial = nn.Sequential(
            nn.Conv2d(n_temporal, spatial, (n_channels, 1), groups=n_temporal, bias=False), nn.BatchNorm2d(spatial),
            nn.ELU(), nn.AvgPool2d((1, pool1)), nn.Dropout(dropout))
        self.separable = nn.Sequential(
            nn.Conv2d(spatial, spatial, (1, k2), padding=(0, k2 // 2), groups=spatial, bias=False),
            nn.Conv2d(spatial, embed_dim, 1, bias=False), nn.BatchNorm2d(embed_dim), nn.ELU(),
            nn.AvgPool2d((1, pool2)), nn.Dropout(dropout))
        self.n_tokens = self.tokens_for(n_times)

    def tokens_for(self, n_times: int) -> int:
        """Number of tokens ``N`` for a window of ``n_times`` samples."""
        return (n_times // self.config["pool1"]) // self.config["pool2"]

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 8, "n_temporal": 4, "depth": 1,
                "temporal_kernel": 15, "separable_kernel": 7}

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Each window minus its channel means, over its standard deviation (all channels and samples)."""
        x = x - x.mean(dim=2, keepdim=True)
        return x / (x.flatten(1).std(dim=1)[:, None, None] + 1e-6)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]``."""
        check_input(self, x, self.n_channels)
        if self.window_norm:
            x = self.normalise(x)
        h = self.separable(self.spatial(self.temporal(x.unsqueeze(1))))  # [B, D, 1, N]
        return h.squeeze(2).transpose(1, 2)
