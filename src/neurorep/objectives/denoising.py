"""``denoising``: a denoising autoencoder for the spatial (CNN) part of an encoder.

Gaussian noise is added to the window, ``noisy = x + noise_std * sd_c(x) * e`` with ``e ~ N(0, 1)``
and ``sd_c(x)`` the standard deviation of each sample's channel over time (so the noise level is
relative to the signal), the encoder's spatial features of the noisy window ``[B, N, D]`` go
through a light decoder back to ``[B, C, T]``, and the loss is the mean squared error against
the *clean* window (standardised per sample and channel). After pretraining the decoder is
dropped; only the encoder is kept.

With an encoder that has ``spatial_features`` (``meg_cnn_transformer``) only its CNN is used and
trained; any other encoder is trained through ``forward_features``.
"""

from __future__ import annotations

from typing import Any

import torch

from neurorep.checks import check_int
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.masked import (
    SignalDecoder,
    batch_input,
    make_generator,
    standardize,
)
from neurorep.objectives.registry import register_objective

__all__ = ["Denoising", "add_noise", "check_built", "denoising_mse", "part_features"]


def denoising_mse(pred: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """``mean((pred - clean)^2)`` over every entry of ``[B, C, T]``; a scalar."""
    if pred.shape != clean.shape:
        raise ValueError(f"denoising_mse: shapes differ: pred {tuple(pred.shape)}, clean {tuple(clean.shape)}")
    return ((pred - clean) ** 2).mean()


def add_noise(x: torch.Tensor, noise_std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x[B, C, T] + noise_std * sd_c(x) * N(0, 1)`` with ``sd_c`` per sample and channel (over time)."""
    sd = x.std(dim=-1, keepdim=True, unbiased=False)
    e = torch.randn(x.shape, generator=generator, dtype=x.dtype, device="cpu").to(x.device)
    return x + noise_std * sd * e


def part_features(encoder: Encoder, x: torch.Tensor, part: str) -> torch.Tensor:
    """Tokens ``[B, N, D]`` of ``x[B, C, T]`` from one part: ``spatial`` uses ``encoder.spatial_features``
    when the encoder offers the ``spatial_sequence`` capability; otherwise (or for ``all``)
    ``encoder.forward_features``."""
    if part == "spatial" and encoder.supports("spatial_sequence"):
        return encoder.spatial_features(x)
    return encoder.forward_features(x)


def check_built(owner: str, decoder: SignalDecoder | None, x: torch.Tensor) -> SignalDecoder:
    """The objective's decoder, after checking it was built for windows shaped like ``x[B, C, T]``."""
    if decoder is None:
        raise ConfigError(f"{owner}: call build(embed_dim, n_channels, n_times) before training")
    if (x.shape[1], x.shape[2]) != (decoder.n_channels, decoder.n_times):
        raise ConfigError(f"{owner}: built for windows of {decoder.n_channels} channels x {decoder.n_times} samples, "
                          f"got batch['x'] of shape {tuple(x.shape)}; call build() again")
    return decoder


@register_objective("denoising")
class Denoising(Objective):
    """Denoising autoencoder: ``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "denoising_mse"}``.

    Args:
        noise_std: noise standard deviation relative to each channel's standard deviation.
        normalize_target: standardise the clean target per sample and channel.
        decoder_upsample: samples produced per decoder point (see ``SignalDecoder``).
        decoder_hidden: decoder width.
        seed: seed of this objective's generator; ``None`` uses the global RNG.
    """

    part = "spatial"

    def __init__(self, noise_std: float = 0.5, normalize_target: bool = True, decoder_upsample: int = 10,
                 decoder_hidden: int = 64, seed: int | None = None) -> None:
        super().__init__(noise_std=noise_std, normalize_target=normalize_target, decoder_upsample=decoder_upsample,
                         decoder_hidden=decoder_hidden, seed=seed)
        if not isinstance(noise_std, (int, float)) or isinstance(noise_std, bool) or noise_std <= 0:
            raise ConfigError(f"denoising: noise_std must be a positive number, got {noise_std!r}")
        self.noise_std, self.normalize_target = float(noise_std), bool(normalize_target)
        self.decoder_upsample = check_int("denoising", "decoder_upsample", decoder_upsample)
        self.decoder_hidden = check_int("denoising", "decoder_hidden", decoder_hidden)
        self.generator = make_generator(seed)
        self.decoder: SignalDecoder | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the decoder ``tokens[B, N, D] -> [B, C, T]``."""
        self.decoder = SignalDecoder(embed_dim, n_channels, n_times, self.decoder_upsample, self.decoder_hidden)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss": scalar, "denoising_mse": scalar (detached)}``."""
        x = batch_input(batch, "denoising")
        decoder = check_built("denoising", self.decoder, x)
        noisy = add_noise(x, self.noise_std, self.generator)
        pred = decoder(part_features(encoder, noisy, self.part))
        target = standardize(x) if self.normalize_target else x
        loss = denoising_mse(pred, target.detach())
        return {"loss": loss, "denoising_mse": loss.detach()}
