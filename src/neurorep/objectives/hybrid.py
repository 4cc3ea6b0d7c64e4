"""``hybrid``: masked prediction and contrastive learning on one shared encoder.

``loss = mask_weight * masked_mse + contrastive_weight * nt_xent`` where each part is computed as
by :class:`~neurorep.objectives.masked.MaskedPrediction` and
:class:`~neurorep.objectives.contrastive.Contrastive` (each with its own forward pass through the
encoder). A part whose weight is 0 is skipped and not reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.contrastive import Contrastive
from neurorep.objectives.masked import MaskedPrediction
from neurorep.objectives.registry import register_objective
from neurorep.transforms.augment import resolve_augmentations

__all__ = ["Hybrid", "weighted_sum"]


def weighted_sum(parts: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """``sum_k weights[k] * parts[k]`` over the keys of ``weights`` (scalars)."""
    missing = [k for k in weights if k not in parts]
    if missing:
        raise KeyError(f"weighted_sum: no part named {missing}")
    terms = [float(w) * parts[k] for k, w in weights.items()]
    if not terms:
        raise ValueError("weighted_sum: no weights given")
    return torch.stack(terms).sum()


@register_objective("hybrid")
class Hybrid(Objective):
    """Weighted masked prediction + contrastive: ``objective(encoder, batch) -> dict``.

    Returns ``{"loss", "masked_mse", "nt_xent", "pos_sim"}`` (parts with weight 0 are left out).

    Args:
        mask_weight: weight of the masked-prediction loss.
        contrastive_weight: weight of the NT-Xent loss.
        mask_ratio, span, channel_ratio, mask_value, normalize_target, decoder_upsample,
            decoder_hidden: as for ``masked_prediction``.
        temperature, proj_dim, proj_hidden, augmentations, sfreq: as for ``contrastive``.
        seed: seeds the two parts' generators (``seed`` and ``seed + 1``); ``None`` uses the
            global RNG.
    """

    def __init__(
        self,
        mask_weight: float = 1.0,
        contrastive_weight: float = 1.0,
        mask_ratio: float = 0.5,
        span: int = 50,
        channel_ratio: float = 0.0,
        mask_value: str = "zero",
        normalize_target: bool = True,
        decoder_upsample: int = 10,
        decoder_hidden: int = 64,
        temperature: float = 0.1,
        proj_dim: int = 128,
        proj_hidden: int | None = None,
        augmentations: str | Sequence[Mapping[str, Any]] | None = None,
        sfreq: float = 100.0,
        seed: int | None = None,
    ) -> None:
        aug_list = resolve_augmentations(augmentations)
        super().__init__(
            mask_weight=mask_weight, contrastive_weight=contrastive_weight, mask_ratio=mask_ratio, span=span,
            channel_ratio=channel_ratio, mask_value=mask_value, normalize_target=normalize_target,
            decoder_upsample=decoder_upsample, decoder_hidden=decoder_hidden, temperature=temperature,
            proj_dim=proj_dim, proj_hidden=proj_hidden, augmentations=aug_list, sfreq=sfreq, seed=seed,
        )
        for name, value in (("mask_weight", mask_weight), ("contrastive_weight", contrastive_weight)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"hybrid: {name} must be a number >= 0, got {value!r}")
        if mask_weight == 0 and contrastive_weight == 0:
            raise ConfigError("hybrid: mask_weight and contrastive_weight are both 0; set at least one > 0")
        self.mask_weight, self.contrastive_weight = float(mask_weight), float(contrastive_weight)
        self.masked = MaskedPrediction(
            mask_ratio=mask_ratio, span=span, channel_ratio=channel_ratio, mask_value=mask_value,
            normalize_target=normalize_target, decoder_upsample=decoder_upsample, decoder_hidden=decoder_hidden,
            seed=seed,
        )
        self.contrastive = Contrastive(
            temperature=temperature, proj_dim=proj_dim, proj_hidden=proj_hidden, augmentations=aug_list,
            sfreq=sfreq, seed=None if seed is None else seed + 1,
        )

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Build both parts' heads."""
        self.masked.build(embed_dim, n_channels, n_times)
        self.contrastive.build(embed_dim, n_channels, n_times)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss", "masked_mse", "nt_xent", "pos_sim"}`` (scalars; parts detached)."""
        out: dict[str, torch.Tensor] = {}
        losses: dict[str, torch.Tensor] = {}
        weights: dict[str, float] = {}
        if self.mask_weight > 0:
            part = self.masked(encoder, batch)
            losses["masked_mse"], weights["masked_mse"] = part["loss"], self.mask_weight
            out["masked_mse"] = part["masked_mse"]
        if self.contrastive_weight > 0:
            part = self.contrastive(encoder, batch)
            losses["nt_xent"], weights["nt_xent"] = part["loss"], self.contrastive_weight
            out["nt_xent"], out["pos_sim"] = part["nt_xent"], part["pos_sim"]
        return {"loss": weighted_sum(losses, weights), **out}
