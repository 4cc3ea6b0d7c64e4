"""``contrastive``: SimCLR-style learning from two augmented views of each window.

Each window ``x[B, C, T]`` is augmented twice by the view pipeline
(:func:`~neurorep.transforms.augment.default_views` or a configured list), both views go through
the encoder in one batch of ``2B``, a :class:`~neurorep.heads.ProjectionHead` maps the embeddings
to ``z``, and the NT-Xent loss pulls the two views of a window together against the other
``2B - 2`` views in the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.heads.projection import ProjectionHead
from neurorep.objectives.base import Objective
from neurorep.objectives.masked import batch_input, make_generator
from neurorep.objectives.registry import register_objective
from neurorep.transforms.augment import Compose, default_views, resolve_augmentations

__all__ = ["Contrastive", "nt_xent", "pair_nt_xent"]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Normalised-temperature cross-entropy (SimCLR) for paired projections ``z1, z2: [N, d]``.

    With ``z = [z1; z2]`` (``2N`` rows, L2-normalised) and ``s_ij = z_i . z_j / temperature``,
    the loss for row ``i`` with positive ``j(i)`` (``i +/- N``) is
    ``-s_ij + log(sum_{k != i} exp(s_ik))``; the result is the mean over the ``2N`` rows.
    """
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(f"nt_xent: expected z1, z2 of equal shape [N, d], got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if temperature <= 0:
        raise ValueError(f"nt_xent: temperature must be > 0, got {temperature}")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = (z @ z.t()) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, targets)


def pair_nt_xent(encoder: Encoder, projector: torch.nn.Module, a: torch.Tensor, b: torch.Tensor,
                 temperature: float) -> dict[str, torch.Tensor]:
    """NT-Xent of positive pairs ``(a[i], b[i])`` (windows ``[B, C, T]``), encoded in one pass and projected.

    Returns ``{"loss", "nt_xent" (detached), "pos_sim"}``, ``pos_sim`` being the mean cosine similarity
    of the pairs' projections (detached).
    """
    z1, z2 = projector(encoder(torch.cat([a, b], dim=0))).chunk(2, dim=0)
    loss = nt_xent(z1, z2, temperature)
    pos_sim = F.cosine_similarity(z1.detach(), z2.detach(), dim=1).mean()
    return {"loss": loss, "nt_xent": loss.detach(), "pos_sim": pos_sim}


@register_objective("contrastive")
class Contrastive(Objective):
    """SimCLR on EEG windows: ``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "nt_xent", "pos_sim"}``.

    ``pos_sim`` is the mean cosine similarity between the two views' projections (detached).
    Needs ``B >= 2`` (the projection head has BatchNorm and the loss needs negatives).

    Args:
        temperature: NT-Xent temperature.
        proj_dim: projection output size.
        proj_hidden: projection hidden size (default: the encoder's ``embed_dim``).
        augmentations: view pipeline: a list of ``{name, p, params}``, a per-task preset name
            (``sleep``, ``motor``, ``ssvep``, ``clinical``; see ``AUGMENT_PRESETS``), or ``None`` for the default.
        sfreq: sampling rate (Hz) given to frequency-domain augmentations.
        seed: seed of this objective's own random generator; ``None`` uses the global RNG.
    """

    def __init__(
        self,
        temperature: float = 0.1,
        proj_dim: int = 128,
        proj_hidden: int | None = None,
        augmentations: str | Sequence[Mapping[str, Any]] | None = None,
        sfreq: float = 100.0,
        seed: int | None = None,
    ) -> None:
        aug_list = resolve_augmentations(augmentations)
        super().__init__(
            temperature=temperature, proj_dim=proj_dim, proj_hidden=proj_hidden, augmentations=aug_list,
            sfreq=sfreq, seed=seed,
        )
        owner = "contrastive"
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ConfigError(f"{owner}: temperature must be a positive number (typically 0.1-0.5), got {temperature!r}")
        if not isinstance(proj_dim, int) or proj_dim < 1:
            raise ConfigError(f"{owner}: proj_dim must be a positive integer, got {proj_dim!r}")
        if proj_hidden is not None and (not isinstance(proj_hidden, int) or proj_hidden < 1):
            raise ConfigError(f"{owner}: proj_hidden must be a positive integer or null, got {proj_hidden!r}")
        if not isinstance(sfreq, (int, float)) or sfreq <= 0:
            raise ConfigError(f"{owner}: sfreq must be a positive number (Hz), got {sfreq!r}")
        self.temperature, self.proj_dim, self.proj_hidden = float(temperature), proj_dim, proj_hidden
        self.sfreq = float(sfreq)
        self.aug_spec = aug_list
        # Built now so that a bad augmentation config fails at construction, rebuilt in build().
        self.views: Compose = default_views(aug_list, sfreq=self.sfreq)
        self.generator = make_generator(seed)
        self.projector: ProjectionHead | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the projection head and the view pipeline for this input shape."""
        self.projector = ProjectionHead(embed_dim, self.proj_dim, self.proj_hidden or embed_dim)
        self.views = default_views(self.aug_spec, sfreq=self.sfreq, n_channels=n_channels)

    def make_views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independently augmented copies of ``x[B, C, T]``."""
        return self.views(x, generator=self.generator), self.views(x, generator=self.generator)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss": scalar, "nt_xent": scalar (detached), "pos_sim": scalar (detached)}``."""
        x = batch_input(batch, "contrastive")
        if self.projector is None:
            raise ConfigError("contrastive: call build(embed_dim, n_channels, n_times) before training")
        if x.shape[0] < 2:
            raise ConfigError(f"contrastive: needs a batch of at least 2 windows, got {x.shape[0]}")
        v1, v2 = self.make_views(x)
        return pair_nt_xent(encoder, self.projector, v1, v2, self.temperature)
