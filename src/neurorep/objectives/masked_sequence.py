"""``masked_sequence``: hide time steps of the feature sequence and reconstruct them (the sequence model).

With an encoder that has ``spatial_features`` and ``sequence_features`` (``meg_cnn_transformer``):
the spatial part turns the window into a sequence of ``N`` feature vectors ``[B, N, D]``; for each
window ``k = max(1, round(mask_ratio * N))`` steps are replaced by a learned mask vector; the
sequence model (transformer) runs over the sequence, a light decoder maps its tokens back to the
signal ``[B, C, T]``, and the loss is the mean squared error over the samples of the hidden steps
(step ``j`` covers samples ``t`` with ``floor(t * N / T) = j``), against the window standardised
per sample and channel. The spatial part is typically frozen (the recipe freezes it), so this
trains the transformer to model the sequence.

Any other encoder: the window is cut into ``n_steps`` steps, hidden steps are zeroed in the input,
and ``forward_features`` is used. The decoder and the mask vector are dropped after pretraining.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.checks import check_fraction, check_int
from neurorep.encoders.base import Encoder
from neurorep.objectives.base import Objective
from neurorep.objectives.denoising import (
    check_built,
)
from neurorep.objectives.masked import (
    SignalDecoder,
    batch_input,
    make_generator,
    masked_mse,
    standardize,
)
from neurorep.objectives.registry import register_objective

__all__ = ["MaskedSequence", "masked_steps_mse", "step_mask", "steps_to_samples"]


def step_mask(batch: int, n_steps: int, ratio: float, generator: torch.Generator | None = None,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """Bool ``[B, N]``: exactly ``max(1, round(ratio * N))`` (at most ``N - 1`` when ``N > 1``) True per row."""
    k = max(1, round(ratio * n_steps))
    if n_steps > 1:
        k = min(k, n_steps - 1)
    order = torch.rand(batch, n_steps, generator=generator).argsort(dim=1)
    mask = torch.zeros(batch, n_steps, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask.to(device)


def steps_to_samples(mask: torch.Tensor, n_times: int) -> torch.Tensor:
    """Step mask ``[B, N]`` -> sample mask ``[B, T]``: sample ``t`` belongs to step ``floor(t * N / T)``."""
    n = mask.shape[1]
    step_of = (torch.arange(n_times, device=mask.device) * n) // n_times
    return mask[:, step_of]


def masked_steps_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred - target)^2`` over all channels of the hidden steps.

    ``pred, target [B, C, T]``; ``mask [B, N]`` bool (step mask).
    """
    samples = steps_to_samples(mask, pred.shape[-1])
    return masked_mse(pred, target, samples[:, None, :].expand_as(pred))


@register_objective("masked_sequence")
class MaskedSequence(Objective):
    """Masked sequence reconstruction: ``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "masked_sequence_mse"}``.

    Args:
        mask_ratio: fraction of sequence steps hidden per window.
        n_steps: steps per window for encoders without ``sequence_features``.
        normalize_target: standardise the target per sample and channel.
        decoder_upsample, decoder_hidden: decoder size (see ``SignalDecoder``).
        seed: seed of this objective's generator; ``None`` uses the global RNG.
    """

    part = "sequence"

    def __init__(self, mask_ratio: float = 0.3, n_steps: int = 10, normalize_target: bool = True,
                 decoder_upsample: int = 10, decoder_hidden: int = 64, seed: int | None = None) -> None:
        super().__init__(mask_ratio=mask_ratio, n_steps=n_steps, normalize_target=normalize_target,
                         decoder_upsample=decoder_upsample, decoder_hidden=decoder_hidden, seed=seed)
        self.mask_ratio = check_fraction("masked_sequence", "mask_ratio", mask_ratio)
        self.n_steps = check_int("masked_sequence", "n_steps", n_steps)
        self.normalize_target = bool(normalize_target)
        self.decoder_upsample = check_int("masked_sequence", "decoder_upsample", decoder_upsample)
        self.decoder_hidden = check_int("masked_sequence", "decoder_hidden", decoder_hidden)
        self.generator = make_generator(seed)
        self.decoder: SignalDecoder | None = None
        self.mask_token: nn.Parameter | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the decoder ``tokens[B, N, D] -> [B, C, T]`` and the learned mask vector ``[D]``."""
        self.decoder = SignalDecoder(embed_dim, n_channels, n_times, self.decoder_upsample, self.decoder_hidden)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss": scalar, "masked_sequence_mse": scalar (detached)}``."""
        x = batch_input(batch, "masked_sequence")
        decoder = check_built("masked_sequence", self.decoder, x)
        b, _, t = x.shape
        if encoder.supports("spatial_sequence"):
            feats = encoder.spatial_features(x)
            mask = step_mask(b, feats.shape[1], self.mask_ratio, self.generator, x.device)
            assert self.mask_token is not None
            feats = torch.where(mask[:, :, None], self.mask_token.to(feats.dtype).expand_as(feats), feats)
            tokens = encoder.sequence_features(feats)
        else:
            mask = step_mask(b, min(self.n_steps, t), self.mask_ratio, self.generator, x.device)
            hidden = steps_to_samples(mask, t)[:, None, :].expand_as(x)
            tokens = encoder.forward_features(torch.where(hidden, torch.zeros_like(x), x))
        pred = decoder(tokens)
        target = standardize(x) if self.normalize_target else x
        loss = masked_steps_mse(pred, target.detach(), mask)
        return {"loss": loss, "masked_sequence_mse": loss.detach()}
