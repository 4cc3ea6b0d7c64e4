"""``resnet1d``: a 1-D residual network over time (channels as input features).

A stem convolution mixes the input channels, then stages of basic residual blocks (two
convolutions with batch norm, identity or 1x1 shortcut) halve the time axis at the start of every
stage after the first, and a 1x1 convolution maps the last stage's width to ``embed_dim``. Works for
short evoked windows (17 channels x 100 samples in Things-EEG-2) as well as long ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["BasicBlock1d", "ResNet1dEncoder"]


class BasicBlock1d(nn.Module):
    """``[B, c_in, T] -> [B, c_out, ceil(T / stride)]``: conv-BN-ReLU-conv-BN plus shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.act = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(h)) + self.shortcut(x))


def residual_stages(widths: Sequence[int], blocks: int, kernel_size: int) -> tuple[nn.Sequential, int]:
    """``blocks`` :class:`BasicBlock1d` per width, from ``widths[0]`` input channels; the first block of
    every stage after the first halves the length. Returns the stages and their output channels."""
    layers: list[nn.Module] = []
    c_in = int(widths[0])
    for s, w in enumerate(widths):
        for b in range(blocks):
            layers.append(BasicBlock1d(c_in, int(w), kernel_size, stride=2 if (s > 0 and b == 0) else 1))
            c_in = int(w)
    return nn.Sequential(*layers), c_in


def check_resnet_config(owner: str, config: dict, ints: tuple[str, ...]) -> None:
    """Shared argument checks of the ResNet-1D family: positive integers, a dropout rate, a non-empty
    list of positive ``widths`` and odd kernel sizes (for 'same' padding)."""
    for name in ints:
        check_int(owner, name, config[name])
    check_rate(owner, "dropout", config["dropout"])
    widths = config["widths"]
    if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
        raise ConfigError(f"{owner}: widths must be a non-empty list of positive integers, got {widths!r}")
    for name in ("kernel_size", "stem_kernel"):
        if config[name] % 2 == 0:
            raise ConfigError(f"{owner}: {name} must be odd (for 'same' padding), got {config[name]}")


@register_encoder("resnet1d")
class ResNet1dEncoder(Encoder):
    """ResNet-1D: ``x[B, C, T] -> tokens[B, N, D]`` with ``N = ceil(T / 2^(len(widths) - 1))``.

    Layout: ``Conv1d(C, widths[0], stem_kernel) -> BN -> ReLU -> stage_1 ... stage_S -> Dropout ->
    Conv1d(widths[-1], D, 1)``; stage ``s`` holds ``blocks`` :class:`BasicBlock1d` of width
    ``widths[s]``, the first with stride 2 for ``s > 1``. For ``T = 100`` and the defaults,
    ``N = 25`` tokens.

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T`` (kept for export and reporting; any ``T`` works).
        embed_dim: token / embedding size ``D``.
        widths: channel width of each stage.
        blocks: residual blocks per stage.
        kernel_size: kernel of the block convolutions (odd).
        stem_kernel: kernel of the stem convolution (odd).
        dropout: dropout before the last 1x1 convolution.
    """

    def __init__(self, *, n_channels: int, n_times: int, embed_dim: int = 128,
                 widths: Sequence[int] = (64, 128, 256), blocks: int = 2, kernel_size: int = 7,
                 stem_kernel: int = 7, dropout: float = 0.1) -> None:
        widths = [int(w) if isinstance(w, (int, float)) and not isinstance(w, bool) else w for w in widths]
        super().__init__(n_channels=n_channels, n_times=n_times, embed_dim=embed_dim, widths=list(widths),
                         blocks=blocks, kernel_size=kernel_size, stem_kernel=stem_kernel, dropout=dropout)
        check_resnet_config("resnet1d", self.config, ("n_channels", "n_times", "embed_dim", "blocks",
                                                      "kernel_size", "stem_kernel"))
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        self.stem = nn.Sequential(nn.Conv1d(n_channels, widths[0], stem_kernel, padding=stem_kernel // 2, bias=False),
                                  nn.BatchNorm1d(widths[0]), nn.ReLU())
        self.stages, c_in = residual_stages(widths, blocks, kernel_size)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Conv1d(c_in, embed_dim, 1))
        self.n_tokens = self.tokens_for(n_times)

    def tokens_for(self, n_times: int) -> int:
        """Number of tokens ``N`` for a window of ``n_times`` samples."""
        n = n_times
        for _ in range(len(self.config["widths"]) - 1):
            n = (n - 1) // 2 + 1
        return n

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "widths": [8, 16], "blocks": 1}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]``."""
        check_input(self, x, self.n_channels)
        return self.head(self.stages(self.stem(x))).transpose(1, 2)
