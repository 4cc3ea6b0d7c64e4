"""``cnn``: a 1-D convolutional encoder in the style of DeepSleepNet / TinySleepNet.

A wide first convolution with a large stride (about half a second of signal, hopping about 60 ms
at 100 Hz) picks up frequency content, a max-pool shrinks time, a few narrow convolutions mix
features, and a last max-pool gives time tokens of about 2 s each for a 100 Hz input.

Also holds the small shape helpers shared by the other convolutional encoders (the argument
checks live in :mod:`neurorep.checks`; ``check_int``/``check_rate``/``check_input`` are re-exported
here for old imports).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["CNNEncoder", "check_input", "check_int", "check_rate", "conv_len", "pool_len"]


# --------------------------------------------------------------------------- shape helpers


def conv_len(length: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a ``Conv1d`` (or ``MaxPool1d``) over ``length`` samples."""
    return (length + 2 * padding - kernel) // stride + 1


def pool_len(length: int, kernel: int, stride: int | None = None, padding: int = 0) -> int:
    """Output length of a ``MaxPool1d`` (floor mode)."""
    return conv_len(length, kernel, kernel if stride is None else stride, padding)


# --------------------------------------------------------------------------- encoder


@register_encoder("cnn")
class CNNEncoder(Encoder):
    """DeepSleepNet / TinySleepNet-style conv stack: ``x[B, C, T] -> tokens[B, N, D]``.

    Layout: ``Conv1d(C, F, first_kernel, first_stride) -> BN -> ReLU -> MaxPool(first_pool) ->
    Dropout -> n_convs x [Conv1d(., F, kernel_size) -> BN -> ReLU] -> MaxPool(last_pool) ->
    Dropout -> Conv1d(F, D, 1)``, with ``F = n_filters`` and ``D = embed_dim``. For
    ``T = 3000`` and the defaults, ``N = 15`` tokens. Works for any ``T`` at least
    :meth:`min_n_times`; ``n_times`` is used to check that and to report ``n_tokens``.

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T``.
        embed_dim: token / embedding size ``D``.
        n_filters: conv width ``F``.
        first_kernel: samples covered by the first (wide) convolution, about ``sfreq / 2``.
        first_stride: stride of the first convolution, about ``sfreq / 16``.
        first_pool: max-pool size after the first convolution.
        n_convs: number of narrow convolutions.
        kernel_size: kernel of the narrow convolutions (odd, "same" padding).
        last_pool: max-pool size after the narrow convolutions.
        dropout: dropout rate after each pooling.
    """

    def __init__(
        self,
        *,
        n_channels: int,
        n_times: int,
        embed_dim: int = 128,
        n_filters: int = 64,
        first_kernel: int = 50,
        first_stride: int = 6,
        first_pool: int = 8,
        n_convs: int = 3,
        kernel_size: int = 7,
        last_pool: int = 4,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        owner = "cnn"
        for name in ("n_channels", "n_times", "embed_dim", "n_filters", "first_kernel", "first_stride",
                     "first_pool", "kernel_size", "last_pool"):
            check_int(owner, name, self.config[name])
        check_int(owner, "n_convs", n_convs, minimum=0)
        check_rate(owner, "dropout", dropout)
        if kernel_size % 2 == 0:
            raise ConfigError(f"cnn: kernel_size must be odd (for 'same' padding), got {kernel_size}; use {kernel_size + 1}")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        minimum = self.min_n_times(first_kernel, first_stride, first_pool, last_pool)
        if n_times < minimum:
            raise ConfigError(
                f"cnn: n_times={n_times} is too short for this conv stack (needs at least {minimum} samples "
                f"with first_kernel={first_kernel}, first_stride={first_stride}, first_pool={first_pool}, "
                f"last_pool={last_pool}); use longer windows or smaller first_kernel/first_stride/pools"
            )
        pad = first_kernel // 2
        layers: list[nn.Module] = [
            nn.Conv1d(n_channels, n_filters, first_kernel, stride=first_stride, padding=pad, bias=False),
            nn.BatchNorm1d(n_filters),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(first_pool),
            nn.Dropout(dropout),
        ]
        for _ in range(n_convs):
            layers += [
                nn.Conv1d(n_filters, n_filters, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm1d(n_filters),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.MaxPool1d(last_pool), nn.Dropout(dropout), nn.Conv1d(n_filters, embed_dim, 1)]
        self.features = nn.Sequential(*layers)
        self.n_tokens = self.tokens_for(n_times)

    def tokens_for(self, n_times: int) -> int:
        """Number of tokens ``N`` produced for a window of ``n_times`` samples."""
        c = self.config
        length = conv_len(n_times, c["first_kernel"], c["first_stride"], c["first_kernel"] // 2)
        return pool_len(pool_len(length, c["first_pool"]), c["last_pool"])

    @staticmethod
    def min_n_times(first_kernel: int = 50, first_stride: int = 6, first_pool: int = 8, last_pool: int = 4) -> int:
        """Shortest window (samples) that still yields one token."""
        need_conv = first_pool * last_pool  # samples needed after the first conv
        return max(1, (need_conv - 1) * first_stride + first_kernel - 2 * (first_kernel // 2))

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "n_filters": 8, "n_convs": 1}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]``."""
        check_input(self, x, self.n_channels)
        return self.features(x).transpose(1, 2)
