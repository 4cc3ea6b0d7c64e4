"""``foundation``: masked patch modelling + contrastive learning, weighted (EEG foundation pretraining).

Masked part: a share ``mask_ratio`` of each channel's patches is hidden: their samples are zeroed in
the input (so overlapping neighbours cannot see them) and, for encoders with a token API
(``encode_tokens(x, patch_mask, mask_token)``, e.g. ``eeg_foundation``), their tokens are replaced
by a learned mask token. A linear head maps each token back to its ``patch_size`` samples; the
loss is the mean squared error on the hidden patches only, against the window standardised per
sample and channel. Encoders without the token API use ``token_level=False``: the masked window
goes through ``forward_features`` and a :class:`~neurorep.objectives.masked.SignalDecoder`.

Contrastive part: two augmented views per window, a projection head, NT-Xent at ``temperature``.

``loss = reconstruction_weight * masked_mse + contrastive_weight * nt_xent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.encoders.base import Encoder
from neurorep.encoders.foundation_blocks import PatchGrid, patch_grid, samples_mask
from neurorep.errors import ConfigError
from neurorep.heads.projection import ProjectionHead
from neurorep.objectives.base import Objective
from neurorep.objectives.contrastive import nt_xent
from neurorep.objectives.hybrid import weighted_sum
from neurorep.objectives.masked import (
    SignalDecoder,
    batch_input,
    make_generator,
    masked_mse,
    standardize,
)
from neurorep.objectives.registry import register_objective
from neurorep.transforms.augment import Compose, default_views

__all__ = ["FoundationPretraining", "masked_patch_mse", "patchify", "random_patch_mask"]


def patchify(x: torch.Tensor, grid: PatchGrid) -> torch.Tensor:
    """``x[B, C, T] -> patches[B, C, N, P]`` on ``grid`` (right-padded with zeros)."""
    if grid.pad:
        x = F.pad(x, (0, grid.pad))
    return x.unfold(-1, grid.patch_size, grid.stride)


def masked_patch_mse(pred: torch.Tensor, target: torch.Tensor, patch_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred - target)^2`` over the samples of masked patches only.

    ``pred``, ``target``: ``[B, C, N, P]``; ``patch_mask``: bool ``[B, C, N]`` (True = hidden).
    Equals ``sum_{masked (b,c,n), p} (pred - target)^2 / (n_masked * P)``.
    """
    return masked_mse(pred, target, patch_mask.unsqueeze(-1).expand_as(pred))


def random_patch_mask(b: int, c: int, n: int, ratio: float, generator: torch.Generator | None,
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """Bool ``[B, C, N]`` with exactly ``max(1, round(ratio * N))`` hidden patches per channel."""
    k = min(n, max(1, round(ratio * n)))
    scores = torch.rand(b, c, n, generator=generator)
    idx = scores.argsort(dim=-1)[..., :k]
    mask = torch.zeros(b, c, n, dtype=torch.bool)
    mask.scatter_(-1, idx, True)
    return mask.to(device)


@register_objective("foundation")
class FoundationPretraining(Objective):
    """Masked patch reconstruction + NT-Xent: ``objective(encoder, {"x": x[B, C, T]}) -> dict``.

    Returns ``{"loss", "masked_mse", "nt_xent", "pos_sim"}`` (parts with weight 0 are left out).

    Args:
        mask_ratio: share of patches hidden per channel.
        patch_size, overlap: the patch grid (take them from the model: ``from_model_config``).
        temperature: NT-Xent temperature.
        reconstruction_weight, contrastive_weight: weights of the two losses.
        proj_dim: projection output size of the contrastive head.
        augmentations: view pipeline (list of ``{name, p, params}``); ``None`` uses the default.
        sfreq: sampling rate (Hz) given to frequency-domain augmentations.
        token_level: use the encoder's token API (mask tokens, per-token head); ``False`` works
            with any encoder through ``forward_features`` and a signal decoder.
        seed: seed of this objective's own generator; ``None`` uses the global RNG.
    """

    def __init__(self, mask_ratio: float = 0.5, patch_size: int = 200, overlap: int = 100, temperature: float = 0.1,
                 reconstruction_weight: float = 1.0, contrastive_weight: float = 0.5, proj_dim: int = 128,
                 augmentations: Sequence[Mapping[str, Any]] | None = None, sfreq: float = 200.0,
                 token_level: bool = True, seed: int | None = None) -> None:
        aug_list = None if augmentations is None else [dict(a) for a in augmentations]
        super().__init__(mask_ratio=mask_ratio, patch_size=patch_size, overlap=overlap, temperature=temperature,
                         reconstruction_weight=reconstruction_weight, contrastive_weight=contrastive_weight,
                         proj_dim=proj_dim, augmentations=aug_list, sfreq=sfreq, token_level=token_level, seed=seed)
        owner = "foundation"
        if not isinstance(mask_ratio, (int, float)) or not 0 < mask_ratio < 1:
            raise ConfigError(f"{owner}: mask_ratio must be a fraction in (0, 1), got {mask_ratio!r}")
        if not isinstance(patch_size, int) or patch_size < 1 or not isinstance(overlap, int) or not 0 <= overlap < patch_size:
            raise ConfigError(f"{owner}: need integers patch_size >= 1 and 0 <= overlap < patch_size, "
                              f"got patch_size={patch_size!r}, overlap={overlap!r}")
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ConfigError(f"{owner}: temperature must be a positive number, got {temperature!r}")
        for name, value in (("reconstruction_weight", reconstruction_weight), ("contrastive_weight", contrastive_weight)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{owner}: {name} must be a number >= 0, got {value!r}")
        if reconstruction_weight == 0 and contrastive_weight == 0:
            raise ConfigError(f"{owner}: reconstruction_weight and contrastive_weight are both 0; set one > 0")
        self.mask_ratio, self.temperature = float(mask_ratio), float(temperature)
        self.patch_size, self.overlap = patch_size, overlap
        self.w_rec, self.w_con = float(reconstruction_weight), float(contrastive_weight)
        self.proj_dim, self.sfreq, self.token_level = proj_dim, float(sfreq), bool(token_level)
        self.aug_spec = aug_list
        self.views: Compose = default_views(aug_list, sfreq=self.sfreq)  # fails early on a bad spec
        self.generator = make_generator(seed)
        self.grid: PatchGrid | None = None
        self.recon: nn.Module | None = None
        self.mask_token: nn.Parameter | None = None
        self.projector: ProjectionHead | None = None

    @classmethod
    def from_model_config(cls, cfg: Any, **kwargs: Any) -> FoundationPretraining:
        """Objective with the mask ratio, patch grid, temperature and weights of an ``EEGFoundationConfig``."""
        base = {"mask_ratio": cfg.mask_ratio, "patch_size": cfg.patch_size, "overlap": cfg.overlap,
                "temperature": cfg.contrastive_temperature, "reconstruction_weight": cfg.reconstruction_weight,
                "contrastive_weight": cfg.contrastive_weight}
        return cls(**{**base, **kwargs})

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the reconstruction head, mask token, projection head and views for this shape."""
        self.grid = patch_grid(n_times, self.patch_size, self.overlap)
        if self.w_rec > 0:
            if self.token_level:
                self.recon = nn.Linear(embed_dim, self.patch_size)
                self.mask_token = nn.Parameter(torch.zeros(embed_dim))
                nn.init.trunc_normal_(self.mask_token, std=0.02)
            else:
                self.recon = SignalDecoder(embed_dim, n_channels, n_times, upsample=max(1, self.patch_size // 10))
        if self.w_con > 0:
            self.projector = ProjectionHead(embed_dim, self.proj_dim, embed_dim)
            self.views = default_views(self.aug_spec, sfreq=self.sfreq, n_channels=n_channels)

    def masked_loss(self, encoder: Encoder, x: torch.Tensor) -> torch.Tensor:
        """Masked patch reconstruction loss of ``x[B, C, T]`` (scalar)."""
        grid = self.grid
        assert grid is not None and self.recon is not None
        b, c, _ = x.shape
        patch_mask = random_patch_mask(b, c, grid.n_patches, self.mask_ratio, self.generator, x.device)
        hidden = samples_mask(patch_mask, grid)
        x_in = x.masked_fill(hidden, 0.0)
        target = patchify(standardize(x), grid).detach()
        if self.token_level:
            if not encoder.supports("patch_tokens"):
                raise ConfigError(f"foundation: encoder {type(encoder).__name__} has no token API (encode_tokens); "
                                  "set objective kwargs token_level: false to use it with this encoder")
            tokens = encoder.encode_tokens(x_in, patch_mask, self.mask_token)
            if tokens.shape[2] != grid.n_patches:
                raise ConfigError(f"foundation: the encoder makes {tokens.shape[2]} patches per channel, the "
                                  f"objective expects {grid.n_patches}; give it the model's patch_size and overlap")
            pred = self.recon(tokens)  # [B, C, N, P]
        else:
            pred = patchify(self.recon(encoder.forward_features(x_in)), grid)
        return masked_patch_mse(pred, target, patch_mask)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss", "masked_mse", "nt_xent", "pos_sim"}`` (scalars; parts detached)."""
        x = batch_input(batch, "foundation")
        if self.grid is None:
            raise ConfigError("foundation: call build(embed_dim, n_channels, n_times) before training")
        if x.shape[-1] != self.grid.n_times:
            raise ConfigError(f"foundation: built for windows of {self.grid.n_times} samples, got batch['x'] of "
                              f"shape {tuple(x.shape)}; call build() again")
        losses: dict[str, torch.Tensor] = {}
        weights: dict[str, float] = {}
        out: dict[str, torch.Tensor] = {}
        if self.w_rec > 0:
            losses["masked_mse"], weights["masked_mse"] = self.masked_loss(encoder, x), self.w_rec
            out["masked_mse"] = losses["masked_mse"].detach()
        if self.w_con > 0:
            assert self.projector is not None
            if x.shape[0] < 2:
                raise ConfigError(f"foundation: the contrastive part needs a batch of at least 2 windows, got {x.shape[0]}")
            v1, v2 = self.views(x, generator=self.generator), self.views(x, generator=self.generator)
            z1, z2 = self.projector(encoder(torch.cat([v1, v2], dim=0))).chunk(2, dim=0)
            losses["nt_xent"], weights["nt_xent"] = nt_xent(z1, z2, self.temperature), self.w_con
            out["nt_xent"] = losses["nt_xent"].detach()
            out["pos_sim"] = F.cosine_similarity(z1.detach(), z2.detach(), dim=1).mean()
        return {"loss": weighted_sum(losses, weights), **out}
