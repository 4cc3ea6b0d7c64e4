"""``spectrogram_cnn``: log-power spectrogram (STFT) of every channel, then a 2-D CNN.

The STFT is a ``Conv1d`` with fixed Hann-windowed cosine and sine kernels (``n_fft`` taps, stride
``hop``, no centring), which exports to ONNX unlike ``torch.stft``. The log power
``log(re^2 + im^2 + eps)`` of each channel is one input plane of a 2-D CNN over (frequency,
time); after the conv stages the remaining frequency rows are stacked into the feature axis (so
the token keeps *which* band a feature came from, which 3x3 convolutions alone cannot tell) and a
1x1 convolution gives one token per remaining time frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["SpectrogramCNNEncoder", "fourier_kernels"]


def fourier_kernels(n_fft: int) -> torch.Tensor:
    """Hann-windowed DFT kernels ``[2F, 1, n_fft]``, ``F = n_fft // 2 + 1``: cosines then sines.

    Convolving a signal with them gives the real and (negated) imaginary STFT parts of
    ``torch.stft(x, n_fft, window=torch.hann_window(n_fft), center=False)``.
    """
    n_freq = n_fft // 2 + 1
    t = torch.arange(n_fft, dtype=torch.float64)
    f = torch.arange(n_freq, dtype=torch.float64)[:, None]
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    phase = 2 * math.pi * f * t / n_fft
    kernels = torch.cat([torch.cos(phase) * window, torch.sin(phase) * window])
    return kernels[:, None, :].float()


@register_encoder("spectrogram_cnn")
class SpectrogramCNNEncoder(Encoder):
    """STFT -> 2-D CNN: ``x[B, C, T] -> tokens[B, N, D]``.

    Layout: per channel ``|STFT|^2`` (``n_fft``, ``hop``) -> ``log(. + eps)`` -> ``BatchNorm2d(C)`` ->
    stages ``[Conv2d(3x3) -> BN -> ReLU -> MaxPool2d(2)]`` of widths ``widths`` -> frequency rows
    stacked into features (``widths[-1] * F'`` with ``F' = F // 2^len(widths)``) -> Dropout ->
    ``Conv1d(widths[-1] * F', D, 1)``. With ``frames = (T - n_fft) // hop + 1``,
    ``N = frames // 2^len(widths)``; for ``T = 3000`` and the defaults (2 s windows, 0.5 s hop at
    100 Hz), ``N = 7``.

    Args:
        n_channels: input channels ``C``.
        n_times: samples per window ``T`` (at least ``n_fft + hop * (2^len(widths) - 1)``).
        embed_dim: token / embedding size ``D``.
        n_fft: STFT window length in samples.
        hop: STFT hop in samples.
        widths: channels of each 2-D conv stage.
        dropout: dropout before the last 1x1 convolution.
    """

    def __init__(self, *, n_channels: int, n_times: int, embed_dim: int = 128, n_fft: int = 200, hop: int = 50,
                 widths: Sequence[int] = (32, 64, 128), dropout: float = 0.1) -> None:
        widths = [int(w) if isinstance(w, (int, float)) and not isinstance(w, bool) else w for w in widths]
        super().__init__(n_channels=n_channels, n_times=n_times, embed_dim=embed_dim, n_fft=n_fft, hop=hop,
                         widths=list(widths), dropout=dropout)
        owner = "spectrogram_cnn"
        for name in ("n_channels", "n_times", "embed_dim", "hop"):
            check_int(owner, name, self.config[name])
        check_int(owner, "n_fft", n_fft, minimum=2)
        check_rate(owner, "dropout", dropout)
        if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ConfigError(f"{owner}: widths must be a non-empty list of positive integers, got {widths!r}")
        shrink = 2 ** len(widths)
        if n_fft // 2 + 1 < shrink:
            raise ConfigError(f"{owner}: n_fft={n_fft} gives {n_fft // 2 + 1} frequency bins, fewer than the "
                              f"{shrink} that {len(widths)} pooling stages need; raise n_fft or use fewer widths")
        minimum = n_fft + hop * (shrink - 1)
        if n_times < minimum:
            raise ConfigError(f"{owner}: n_times={n_times} is too short for n_fft={n_fft}, hop={hop} and "
                              f"{len(widths)} stages (needs at least {minimum} samples); use longer windows or "
                              f"a smaller n_fft/hop")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        self.register_buffer("kernels", fourier_kernels(n_fft), persistent=False)
        self.n_freq = n_fft // 2 + 1
        self.input_norm = nn.BatchNorm2d(n_channels)
        layers: list[nn.Module] = []
        c_in = n_channels
        for w in widths:
            layers += [nn.Conv2d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = w
        self.stages = nn.Sequential(*layers)
        self.n_freq_out = self.n_freq // shrink
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Conv1d(c_in * self.n_freq_out, embed_dim, 1))
        self.n_tokens = self.tokens_for(n_times)

    def tokens_for(self, n_times: int) -> int:
        """Number of tokens ``N`` for a window of ``n_times`` samples."""
        frames = (n_times - self.config["n_fft"]) // self.config["hop"] + 1
        return frames // 2 ** len(self.config["widths"])

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests and quick runs."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "n_fft": 64, "hop": 32,
                "widths": [8, 16]}

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> log power [B, C, F, frames]`` (``F = n_fft // 2 + 1``)."""
        b, c, t = x.shape
        parts = nn.functional.conv1d(x.reshape(b * c, 1, t), self.kernels, stride=self.config["hop"])
        power = parts[:, : self.n_freq] ** 2 + parts[:, self.n_freq:] ** 2
        return torch.log(power + 1e-6).reshape(b, c, self.n_freq, -1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]``."""
        check_input(self, x, self.n_channels)
        h = self.stages(self.input_norm(self.spectrogram(x)))  # [B, widths[-1], F', N]
        return self.head(h.flatten(1, 2)).transpose(1, 2)
