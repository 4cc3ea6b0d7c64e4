"""``masked_sensor``: hide whole sensors ("nodes") and reconstruct them, for the spatial (CNN) part.

For each window a fixed number ``k = max(1, round(mask_ratio * C))`` of channels is drawn at random
and set to zero for the whole window; the encoder's spatial features of the masked window
``[B, N, D]`` are decoded back to ``[B, C, T]`` and the loss is the mean squared error over the
hidden sensors only (against the window standardised per sample and channel):

    loss = sum_{b, c in M_b, t} (pred - target)^2 / (|M| * T)

The model must infer a sensor from its neighbours on the sensor image, which is what the CNN
is for. The decoder is dropped after pretraining.
"""

from __future__ import annotations

from typing import Any

import torch

from neurorep.checks import check_fraction, check_int
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.denoising import (
    check_built,
    part_features,
)
from neurorep.objectives.masked import (
    SignalDecoder,
    batch_input,
    make_generator,
    masked_mse,
    standardize,
)
from neurorep.objectives.registry import register_objective

__all__ = ["MaskedSensor", "masked_sensor_mse", "sensor_mask"]


def sensor_mask(batch: int, n_channels: int, ratio: float, generator: torch.Generator | None = None,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """Bool ``[B, C]``: exactly ``max(1, round(ratio * C))`` (at most ``C - 1``) True entries per row."""
    if n_channels < 2:
        raise ConfigError(f"masked_sensor: needs at least 2 channels to hide one; got {n_channels}")
    k = min(max(1, round(ratio * n_channels)), n_channels - 1)
    order = torch.rand(batch, n_channels, generator=generator).argsort(dim=1)
    mask = torch.zeros(batch, n_channels, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask.to(device)


def masked_sensor_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred - target)^2`` over hidden sensors: ``pred, target [B, C, T]``, ``mask [B, C]`` bool."""
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"masked_sensor_mse: mask {tuple(mask.shape)} does not fit pred {tuple(pred.shape)}")
    return masked_mse(pred, target, mask[:, :, None].expand_as(pred))


@register_objective("masked_sensor")
class MaskedSensor(Objective):
    """Masked sensor reconstruction: ``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "masked_sensor_mse"}``.

    Args:
        mask_ratio: fraction of sensors hidden per window.
        normalize_target: standardise the target per sample and channel.
        decoder_upsample, decoder_hidden: decoder size (see ``SignalDecoder``).
        seed: seed of this objective's generator; ``None`` uses the global RNG.
    """

    part = "spatial"

    def __init__(self, mask_ratio: float = 0.25, normalize_target: bool = True, decoder_upsample: int = 10,
                 decoder_hidden: int = 64, seed: int | None = None) -> None:
        super().__init__(mask_ratio=mask_ratio, normalize_target=normalize_target, decoder_upsample=decoder_upsample,
                         decoder_hidden=decoder_hidden, seed=seed)
        self.mask_ratio = check_fraction("masked_sensor", "mask_ratio", mask_ratio)
        self.normalize_target = bool(normalize_target)
        self.decoder_upsample = check_int("masked_sensor", "decoder_upsample", decoder_upsample)
        self.decoder_hidden = check_int("masked_sensor", "decoder_hidden", decoder_hidden)
        self.generator = make_generator(seed)
        self.decoder: SignalDecoder | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the decoder ``tokens[B, N, D] -> [B, C, T]``."""
        self.decoder = SignalDecoder(embed_dim, n_channels, n_times, self.decoder_upsample, self.decoder_hidden)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss": scalar, "masked_sensor_mse": scalar (detached)}``."""
        x = batch_input(batch, "masked_sensor")
        decoder = check_built("masked_sensor", self.decoder, x)
        mask = sensor_mask(x.shape[0], x.shape[1], self.mask_ratio, self.generator, x.device)
        hidden = torch.where(mask[:, :, None], torch.zeros_like(x), x)
        pred = decoder(part_features(encoder, hidden, self.part))
        target = standardize(x) if self.normalize_target else x
        loss = masked_sensor_mse(pred, target.detach(), mask)
        return {"loss": loss, "masked_sensor_mse": loss.detach()}
