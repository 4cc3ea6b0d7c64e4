"""``masked_prediction``: hide contiguous spans of the signal and reconstruct them from the tokens.

The input ``x[B, C, T]`` is masked with :func:`~neurorep.transforms.functional.span_mask` (True =
hidden), the hidden samples are replaced by zero or by a learned per-channel value, the encoder
turns the masked window into tokens ``[B, N, D]``, a light decoder maps the tokens back to
``[B, C, T]``, and the loss is the mean squared error on the hidden samples only, against the
window standardised per sample and channel (so the loss scale does not depend on signal units).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.registry import register_objective
from neurorep.transforms.functional import span_mask

__all__ = ["MaskedPrediction", "SignalDecoder", "batch_input", "make_generator", "masked_mse", "standardize"]


# --------------------------------------------------------------------------- loss terms


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred - target)^2`` over entries where ``mask`` is True.

    ``pred``, ``target``: ``[B, C, T]`` (any equal shapes); ``mask``: bool, same shape.
    Returns a scalar; ``0`` (still attached to ``pred``) when nothing is masked. Unmasked entries
    do not affect the value or the gradient, even when they are not finite.
    """
    if pred.shape != target.shape or pred.shape != mask.shape:
        raise ValueError(f"masked_mse: shapes differ: pred {tuple(pred.shape)}, target {tuple(target.shape)}, "
                         f"mask {tuple(mask.shape)}")
    mask = mask.bool()
    diff = torch.where(mask, pred - target, torch.zeros_like(pred))
    return (diff**2).sum() / mask.sum().clamp(min=1)


def standardize(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Standardise ``x[B, C, T]`` per sample and channel over time (zero mean, unit std).

    The std is floored at ``eps`` (not added to it), so signals in volts (std ~1e-5) are
    standardised exactly and a flat channel maps to zeros.
    """
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / std.clamp(min=eps)


# --------------------------------------------------------------------------- shared helpers


def make_generator(seed: int | None) -> torch.Generator | None:
    """A CPU generator seeded with ``seed``, or ``None`` (use the global RNG) when ``seed`` is None."""
    if seed is None:
        return None
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an integer or null, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def batch_input(batch: dict[str, torch.Tensor] | torch.Tensor, owner: str) -> torch.Tensor:
    """The window tensor ``x[B, C, T]`` of a batch dict (a bare tensor is accepted too)."""
    x = batch if isinstance(batch, torch.Tensor) else batch.get("x") if isinstance(batch, dict) else None
    if x is None:
        raise ConfigError(f"{owner}: batch must be a dict with an 'x' entry of shape [B, C, T]")
    if x.dim() != 3:
        raise ConfigError(f"{owner}: batch['x'] must have shape [B, C, T], got {tuple(x.shape)}")
    return x


# --------------------------------------------------------------------------- decoder


class SignalDecoder(nn.Module):
    """Tokens ``[B, N, D]`` (any ``N``) -> signal ``[B, C, T]``.

    The tokens are linearly interpolated along time to ``L = ceil(T / upsample)`` points, two
    convolutions (kernel 3) map ``D -> hidden -> C * upsample`` features per point, and each
    point's features are unfolded into ``upsample`` consecutive samples per channel ("pixel
    shuffle"), then cropped to ``T``. So the output can vary within ``upsample`` samples rather
    than only at token resolution.
    """

    def __init__(self, embed_dim: int, n_channels: int, n_times: int, upsample: int = 10, hidden: int = 64) -> None:
        super().__init__()
        self.n_channels, self.n_times, self.upsample = n_channels, n_times, upsample
        self.n_points = math.ceil(n_times / upsample)
        self.net = nn.Sequential(
            nn.Conv1d(embed_dim, hidden, 3, padding=1),
            nn.GELU(),
            nn.Conv1d(hidden, n_channels * upsample, 3, padding=1),
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens[B, N, D] -> [B, C, T]``."""
        b = tokens.shape[0]
        h = F.interpolate(tokens.transpose(1, 2), size=self.n_points, mode="linear", align_corners=False)
        out = self.net(h)  # [B, C * r, L]
        out = out.view(b, self.n_channels, self.upsample, self.n_points).transpose(2, 3)
        return out.reshape(b, self.n_channels, self.n_points * self.upsample)[..., : self.n_times]


# --------------------------------------------------------------------------- objective


@register_objective("masked_prediction")
class MaskedPrediction(Objective):
    """Masked span reconstruction: ``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "masked_mse"}``.

    Args:
        mask_ratio: fraction of time samples hidden per window.
        span: samples per masked span (about 0.5 s at 100 Hz by default).
        channel_ratio: fraction of channels additionally hidden entirely (0 = none).
        mask_value: ``"zero"`` or ``"learned"`` (a learned value per channel).
        normalize_target: standardise the target per sample and channel.
        decoder_upsample: samples produced per decoder point (see :class:`SignalDecoder`).
        decoder_hidden: decoder width.
        seed: seed of this objective's own random generator; ``None`` uses the global RNG.
    """

    def __init__(
        self,
        mask_ratio: float = 0.5,
        span: int = 50,
        channel_ratio: float = 0.0,
        mask_value: str = "zero",
        normalize_target: bool = True,
        decoder_upsample: int = 10,
        decoder_hidden: int = 64,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            mask_ratio=mask_ratio, span=span, channel_ratio=channel_ratio, mask_value=mask_value,
            normalize_target=normalize_target, decoder_upsample=decoder_upsample,
            decoder_hidden=decoder_hidden, seed=seed,
        )
        owner = "masked_prediction"
        if not isinstance(mask_ratio, (int, float)) or not 0.0 < mask_ratio < 1.0:
            raise ConfigError(f"{owner}: mask_ratio must be a fraction in (0, 1), got {mask_ratio!r}")
        if not isinstance(channel_ratio, (int, float)) or not 0.0 <= channel_ratio < 1.0:
            raise ConfigError(f"{owner}: channel_ratio must be in [0, 1), got {channel_ratio!r}")
        for name, value in (("span", span), ("decoder_upsample", decoder_upsample), ("decoder_hidden", decoder_hidden)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{owner}: {name} must be a positive integer, got {value!r}")
        if mask_value not in ("zero", "learned"):
            raise ConfigError(f"{owner}: mask_value must be 'zero' or 'learned', got {mask_value!r}")
        self.mask_ratio, self.span, self.channel_ratio = float(mask_ratio), span, float(channel_ratio)
        self.mask_value, self.normalize_target = mask_value, bool(normalize_target)
        self.decoder_upsample, self.decoder_hidden = decoder_upsample, decoder_hidden
        self.generator = make_generator(seed)
        self.decoder: SignalDecoder | None = None
        self.mask_token: nn.Parameter | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the decoder (and the learned mask value) for ``embed_dim``, ``C``, ``T``."""
        self.decoder = SignalDecoder(embed_dim, n_channels, n_times, self.decoder_upsample, self.decoder_hidden)
        if self.mask_value == "learned":
            self.mask_token = nn.Parameter(torch.zeros(1, n_channels, 1))

    def make_mask(self, x: torch.Tensor) -> torch.Tensor:
        """Bool mask ``[B, C, T]`` (True = hidden) for the window batch ``x[B, C, T]``."""
        b, c, t = x.shape
        return span_mask(b, c, t, self.mask_ratio, self.span, self.channel_ratio, self.generator, x.device)

    def apply_mask(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T]`` with hidden entries replaced by zero or the learned per-channel value."""
        fill = self.mask_token.to(x.dtype).expand_as(x) if self.mask_token is not None else torch.zeros_like(x)
        return torch.where(mask, fill, x)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss": scalar, "masked_mse": scalar (detached)}``."""
        x = batch_input(batch, "masked_prediction")
        if self.decoder is None:
            raise ConfigError("masked_prediction: call build(embed_dim, n_channels, n_times) before training")
        if (x.shape[1], x.shape[2]) != (self.decoder.n_channels, self.decoder.n_times):
            raise ConfigError(
                f"masked_prediction: built for windows of {self.decoder.n_channels} channels x "
                f"{self.decoder.n_times} samples, got batch['x'] of shape {tuple(x.shape)}; call build() again"
            )
        mask = self.make_mask(x)
        pred = self.decoder(encoder.forward_features(self.apply_mask(x, mask)))
        target = standardize(x) if self.normalize_target else x
        loss = masked_mse(pred, target.detach(), mask)
        return {"loss": loss, "masked_mse": loss.detach()}
