"""``segment_contrastive``: two adjacent, non-overlapping segments of one window are a positive pair.

From each window ``x[B, C, T]`` two consecutive segments of ``L = round(segment_seconds * sfreq)``
samples are cut at a random start ``s`` (``0 <= s <= T - 2L``): ``x[..., s:s+L]`` and
``x[..., s+L:s+2L]``. They share no sample, so matching them needs what stays the same for a few
seconds (a movement or rest period, a sleep stage, the attended stimulus) rather than shared samples.
Both segments go through the encoder (which must accept ``L``-sample inputs: mean-pooled token
encoders such as ``shallow`` and ``eegnet`` do), a projection head maps the embeddings to ``z``,
and the NT-Xent loss contrasts each pair against the other segments of the batch. Optional
``augmentations`` (a preset name or list) are applied to both segments.

It needs no pair sampler and no continuous cache: the pairs come from inside each window, so
event-locked windows (one trial each) give pairs that share their trial's state exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from neurorep.checks import check_int, check_positive
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.heads.projection import ProjectionHead
from neurorep.objectives.base import Objective
from neurorep.objectives.contrastive import pair_nt_xent
from neurorep.objectives.masked import batch_input, make_generator
from neurorep.objectives.registry import register_objective
from neurorep.transforms.augment import Compose, default_views, resolve_augmentations

__all__ = ["SegmentContrastive", "adjacent_segments"]


def adjacent_segments(x: torch.Tensor, length: int, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two consecutive ``length``-sample segments of each window: ``x[B, C, T] -> (a, b, starts)``,
    ``a[i] = x[i, :, s_i:s_i+length]``, ``b[i] = x[i, :, s_i+length:s_i+2*length]``, with ``s_i`` drawn
    uniformly from ``0..T - 2*length`` (``starts[B]``)."""
    if x.dim() != 3:
        raise ValueError(f"adjacent_segments: expected x of shape [B, C, T], got {tuple(x.shape)}")
    n, t = x.shape[0], x.shape[-1]
    if 2 * length > t:
        raise ValueError(f"adjacent_segments: two {length}-sample segments do not fit a {t}-sample window")
    starts = torch.randint(0, t - 2 * length + 1, (n,), generator=generator)
    idx = starts[:, None] + torch.arange(2 * length)[None, :]  # [B, 2L]
    both = torch.gather(x, 2, idx[:, None, :].expand(n, x.shape[1], 2 * length).to(x.device))
    return both[..., :length], both[..., length:], starts


@register_objective("segment_contrastive")
class SegmentContrastive(Objective):
    """``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "nt_xent", "pos_sim"}``.

    Args:
        sfreq: sampling rate in Hz (the ssl recipe passes the cache's).
        segment_seconds: segment length in seconds; ``null``: half the window.
        temperature: NT-Xent temperature.
        proj_dim, proj_hidden: projection head sizes (hidden default: the encoder's ``embed_dim``).
        augmentations: optional view pipeline applied to both segments (a preset name or a list), none by default.
        seed: seed of this objective's generator (segment starts, augmentations).
    """

    def __init__(self, sfreq: float = 100.0, segment_seconds: float | None = None, temperature: float = 0.2,
                 proj_dim: int = 64, proj_hidden: int | None = None,
                 augmentations: str | Sequence[Mapping[str, Any]] | None = None, seed: int | None = None) -> None:
        owner = "segment_contrastive"
        sfreq = check_positive(owner, "sfreq", sfreq)
        if segment_seconds is not None:
            check_positive(owner, "segment_seconds", segment_seconds)
        temperature = check_positive(owner, "temperature", temperature)
        check_int(owner, "proj_dim", proj_dim)
        aug_list = resolve_augmentations(augmentations) if augmentations is not None else None
        super().__init__(sfreq=sfreq, segment_seconds=segment_seconds, temperature=temperature, proj_dim=proj_dim,
                         proj_hidden=proj_hidden, augmentations=aug_list, seed=seed)
        self.sfreq, self.temperature, self.aug_spec = sfreq, temperature, aug_list
        self.views: Compose | None = default_views(aug_list, sfreq=sfreq) if aug_list is not None else None
        self.generator = make_generator(seed)
        self.projector: ProjectionHead | None = None
        self.length: int | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        seconds = self.config["segment_seconds"]
        length = n_times // 2 if seconds is None else int(round(seconds * self.sfreq))
        if length < 1 or 2 * length > n_times:
            raise ConfigError(f"segment_contrastive: two segments of {seconds:g} s ({length} samples at "
                              f"{self.sfreq:g} Hz) do not fit a window of {n_times} samples; shorten segment_seconds")
        self.length = length
        self.projector = ProjectionHead(embed_dim, int(self.config["proj_dim"]),
                                        self.config["proj_hidden"] or embed_dim)
        if self.aug_spec is not None:
            self.views = default_views(self.aug_spec, sfreq=self.sfreq, n_channels=n_channels)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x = batch_input(batch, "segment_contrastive")
        if self.projector is None or self.length is None:
            raise ConfigError("segment_contrastive: call build(embed_dim, n_channels, n_times) before training")
        if x.shape[0] < 2:
            raise ConfigError(f"segment_contrastive: needs a batch of at least 2 windows, got {x.shape[0]}")
        if 2 * self.length > x.shape[-1]:
            raise ConfigError(f"segment_contrastive: built for two {self.length}-sample segments, got windows of "
                              f"{x.shape[-1]} samples")
        a, b, _ = adjacent_segments(x, self.length, self.generator)
        if self.views is not None:
            a, b = self.views(a, generator=self.generator), self.views(b, generator=self.generator)
        return pair_nt_xent(encoder, self.projector, a, b, self.temperature)
