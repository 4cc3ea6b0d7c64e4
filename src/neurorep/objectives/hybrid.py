"""``hybrid``: masked prediction and contrastive learning on one shared encoder.

A registered preset of :class:`~neurorep.objectives.composite.SumObjective`:
``loss = mask_weight * masked_mse + contrastive_weight * nt_xent`` where each part is computed as
by :class:`~neurorep.objectives.masked.MaskedPrediction` (part ``masked``) and
:class:`~neurorep.objectives.contrastive.Contrastive` (part ``contrastive``), each with its own
forward pass through the encoder. A part whose weight is 0 is skipped and not reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neurorep.errors import ConfigError
from neurorep.objectives.composite import SumObjective, weighted_sum
from neurorep.objectives.contrastive import Contrastive
from neurorep.objectives.masked import MaskedPrediction
from neurorep.objectives.registry import register_objective
from neurorep.transforms.augment import resolve_augmentations

__all__ = ["Hybrid", "weighted_sum"]


@register_objective("hybrid")
class Hybrid(SumObjective):
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
        for name, value in (("mask_weight", mask_weight), ("contrastive_weight", contrastive_weight)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"hybrid: {name} must be a number >= 0, got {value!r}")
        if mask_weight == 0 and contrastive_weight == 0:
            raise ConfigError("hybrid: mask_weight and contrastive_weight are both 0; set at least one > 0")
        masked = MaskedPrediction(
            mask_ratio=mask_ratio, span=span, channel_ratio=channel_ratio, mask_value=mask_value,
            normalize_target=normalize_target, decoder_upsample=decoder_upsample, decoder_hidden=decoder_hidden,
            seed=seed,
        )
        contrastive = Contrastive(
            temperature=temperature, proj_dim=proj_dim, proj_hidden=proj_hidden, augmentations=aug_list,
            sfreq=sfreq, seed=None if seed is None else seed + 1,
        )
        super().__init__({"masked": masked, "contrastive": contrastive},
                         {"masked": mask_weight, "contrastive": contrastive_weight}, report="parts")
        self.config = dict(  # the preset's own arguments (what config files give)
            mask_weight=mask_weight, contrastive_weight=contrastive_weight, mask_ratio=mask_ratio, span=span,
            channel_ratio=channel_ratio, mask_value=mask_value, normalize_target=normalize_target,
            decoder_upsample=decoder_upsample, decoder_hidden=decoder_hidden, temperature=temperature,
            proj_dim=proj_dim, proj_hidden=proj_hidden, augmentations=aug_list, sfreq=sfreq, seed=seed,
        )
        self.mask_weight, self.contrastive_weight = float(mask_weight), float(contrastive_weight)
