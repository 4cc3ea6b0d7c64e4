"""Temporal-context objectives on pairs of windows from the same recording.

``relative_positioning``: a pair ``(x, x_pair)`` is labelled 1 when the two windows start within
``tau_pos`` seconds of each other and 0 when they are ``tau_neg`` seconds or more apart (pairs in
between are never drawn). Both windows go through the encoder, and a linear layer on the absolute
difference of their embeddings predicts the label (binary cross-entropy), the relative-positioning
task of Banville et al. (2021). A window close in time to another shares its slowly varying
state (sleep stage, the stimulus a subject attends to, a movement period), so telling near from
far pairs needs features of that state.

``temporal_contrastive``: the partner of each window is a temporal neighbour (within ``tau_pos``)
and the NT-Xent loss pulls the two together against the other pairs of the batch. Drawn with
``batch_from: recording`` every window of a batch comes from one recording, so the negatives share
the subject and session and subject identity cannot solve the task.

Both read ``batch["x"]``, ``batch["x_pair"]`` (``[B, C, T]``) and, for relative positioning,
``batch["target"]`` (``[B]``, 1 near / 0 far). The pairs are drawn by the recipe's pair sampler
from the cache's per-window recording and onset (see :attr:`pair_sampling`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.heads.projection import ProjectionHead
from neurorep.objectives.base import Objective
from neurorep.objectives.contrastive import pair_nt_xent
from neurorep.objectives.masked import make_generator
from neurorep.objectives.registry import register_objective
from neurorep.transforms.augment import Compose, default_views, resolve_augmentations

__all__ = ["RelativePositioning", "TemporalContrastive", "relative_positioning_loss"]

BATCH_FROM = ("any", "recording", "subject")


def relative_positioning_loss(h1: torch.Tensor, h2: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                              bias: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of ``g = weight . |h1 - h2| + bias`` against ``target`` (1 near, 0 far):
    ``mean(log(1 + exp(-s * g)))`` with ``s = 2 * target - 1``."""
    if h1.shape != h2.shape or h1.dim() != 2 or target.shape != h1.shape[:1]:
        raise ValueError(f"relative_positioning_loss: expected h1, h2 [N, D] and target [N], got "
                         f"{tuple(h1.shape)}, {tuple(h2.shape)}, {tuple(target.shape)}")
    g = (h1 - h2).abs() @ weight.reshape(-1) + bias.reshape(())
    return F.binary_cross_entropy_with_logits(g, target.to(g.dtype))


def _pair_input(batch: Mapping[str, Any], owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    if "x" not in batch or "x_pair" not in batch:
        raise ConfigError(f"{owner}: batches need 'x' and 'x_pair' (window pairs drawn by the ssl recipe's pair "
                          "sampler from one recording); this objective cannot train on single windows")
    x, xp = batch["x"], batch["x_pair"]
    if x.shape != xp.shape or x.dim() != 3:
        raise ConfigError(f"{owner}: x and x_pair must both be [B, C, T], got {tuple(x.shape)} and {tuple(xp.shape)}")
    return x, xp


def _check_taus(owner: str, tau_pos: float, tau_neg: float | None, tau_min: float = 0.0) -> None:
    if not isinstance(tau_pos, (int, float)) or tau_pos <= 0:
        raise ConfigError(f"{owner}: tau_pos must be a positive number of seconds, got {tau_pos!r}")
    if not isinstance(tau_min, (int, float)) or not 0 <= tau_min <= tau_pos:
        raise ConfigError(f"{owner}: tau_min must be a number of seconds in [0, tau_pos={tau_pos}], got {tau_min!r}")
    if tau_neg is not None and (not isinstance(tau_neg, (int, float)) or tau_neg < tau_pos):
        raise ConfigError(f"{owner}: tau_neg must be a number of seconds >= tau_pos ({tau_pos}), got {tau_neg!r}")


def _check_batch_from(owner: str, batch_from: str) -> None:
    if batch_from not in BATCH_FROM:
        raise ConfigError(f"{owner}: batch_from must be one of {', '.join(BATCH_FROM)}, got {batch_from!r}")


@register_objective("relative_positioning")
class RelativePositioning(Objective):
    """``objective(encoder, {"x", "x_pair", "target"}) -> {"loss", "accuracy"}``.

    Args:
        tau_pos: a pair starting within this many seconds is "near" (label 1).
        tau_neg: a pair starting this many seconds or more apart is "far" (label 0).
        batch_from: where a batch's anchors come from: ``any`` window, one ``recording``, one ``subject``.
        tau_min: near pairs start at least this many seconds apart (the window length: no shared samples).
    """

    def __init__(self, tau_pos: float = 2.0, tau_neg: float = 10.0, batch_from: str = "any",
                 tau_min: float = 0.0) -> None:
        owner = "relative_positioning"
        _check_taus(owner, tau_pos, tau_neg, tau_min)
        _check_batch_from(owner, batch_from)
        super().__init__(tau_pos=tau_pos, tau_neg=tau_neg, batch_from=batch_from, tau_min=tau_min)
        self.pair_sampling = {"tau_pos": float(tau_pos), "tau_neg": float(tau_neg), "batch_from": batch_from,
                              "negatives": True, "tau_min": float(tau_min)}
        self.head: nn.Linear | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        self.head = nn.Linear(embed_dim, 1)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x, xp = _pair_input(batch, "relative_positioning")
        if self.head is None:
            raise ConfigError("relative_positioning: call build(embed_dim, n_channels, n_times) before training")
        if "target" not in batch:
            raise ConfigError("relative_positioning: batches need 'target' (1 near, 0 far)")
        h1, h2 = encoder(torch.cat([x, xp], dim=0)).chunk(2, dim=0)
        target = batch["target"].to(h1.dtype)
        loss = relative_positioning_loss(h1, h2, target, self.head.weight, self.head.bias)
        with torch.no_grad():
            acc = ((self.head((h1 - h2).abs()).squeeze(1) > 0).to(h1.dtype) == target).to(h1.dtype).mean()
        return {"loss": loss, "accuracy": acc}


@register_objective("temporal_contrastive")
class TemporalContrastive(Objective):
    """``objective(encoder, {"x", "x_pair"}) -> {"loss", "nt_xent", "pos_sim"}``: temporal neighbours as positives.

    Args:
        tau_pos: a neighbour starts within this many seconds of its window (same recording).
        temperature: NT-Xent temperature.
        proj_dim, proj_hidden: projection head sizes (hidden default: the encoder's ``embed_dim``).
        batch_from: where a batch's windows come from (``recording``: negatives from the same session).
        augmentations: optional view pipeline applied to both windows (a preset name or a list), none by default.
        sfreq: sampling rate for frequency-domain augmentations.
        seed: seed of the augmentations' generator.
        tau_min: a neighbour starts at least this many seconds away (the window length: no shared samples).
    """

    def __init__(self, tau_pos: float = 1.0, temperature: float = 0.2, proj_dim: int = 64,
                 proj_hidden: int | None = None, batch_from: str = "recording",
                 augmentations: str | Sequence[Mapping[str, Any]] | None = None, sfreq: float = 100.0,
                 seed: int | None = None, tau_min: float = 0.0) -> None:
        owner = "temporal_contrastive"
        _check_taus(owner, tau_pos, None, tau_min)
        _check_batch_from(owner, batch_from)
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ConfigError(f"{owner}: temperature must be a positive number, got {temperature!r}")
        if not isinstance(proj_dim, int) or proj_dim < 1:
            raise ConfigError(f"{owner}: proj_dim must be a positive integer, got {proj_dim!r}")
        aug_list = resolve_augmentations(augmentations) if augmentations is not None else None
        super().__init__(tau_pos=tau_pos, temperature=temperature, proj_dim=proj_dim, proj_hidden=proj_hidden,
                         batch_from=batch_from, augmentations=aug_list, sfreq=sfreq, seed=seed, tau_min=tau_min)
        self.pair_sampling = {"tau_pos": float(tau_pos), "tau_neg": None, "batch_from": batch_from,
                              "negatives": False, "tau_min": float(tau_min)}
        self.temperature, self.sfreq, self.aug_spec = float(temperature), float(sfreq), aug_list
        self.views: Compose | None = default_views(aug_list, sfreq=self.sfreq) if aug_list is not None else None
        self.generator = make_generator(seed)
        self.projector: ProjectionHead | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        self.projector = ProjectionHead(embed_dim, int(self.config["proj_dim"]),
                                        self.config["proj_hidden"] or embed_dim)
        if self.aug_spec is not None:
            self.views = default_views(self.aug_spec, sfreq=self.sfreq, n_channels=n_channels)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x, xp = _pair_input(batch, "temporal_contrastive")
        if self.projector is None:
            raise ConfigError("temporal_contrastive: call build(embed_dim, n_channels, n_times) before training")
        if x.shape[0] < 2:
            raise ConfigError(f"temporal_contrastive: needs a batch of at least 2 pairs, got {x.shape[0]}")
        if self.views is not None:
            x, xp = self.views(x, generator=self.generator), self.views(xp, generator=self.generator)
        return pair_nt_xent(encoder, self.projector, x, xp, self.temperature)
