"""Base class shared by every training objective."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neurorep.encoders.base import Encoder


class Objective(nn.Module):
    """A training objective: ``objective(encoder, batch) -> {"loss": tensor, <parts>...}``.

    Objectives hold hyper-parameters and, where the method needs them, small heads that sit on top
    of any encoder (a projection head, a reconstruction decoder). Those heads are made by
    :meth:`build`, called once with the encoder's ``embed_dim`` and the input shape before training
    starts; :attr:`built_for` records that shape, and the training module builds an objective only
    when it was not already built for it (so heads built, or loaded, beforehand are kept). The loss terms themselves are plain functions in the same
    module, tested against their formulas.
    """

    registry_name: str = ""
    #: Pair-sampling settings (``tau_pos``, ``tau_neg``, ``batch_from``, ``tau_min``) of objectives trained
    #: on pairs of windows of one recording (the temporal-context ones); ``None``: plain window batches.
    pair_sampling: dict[str, Any] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _recording_build(cls.__dict__["build"])  # type: ignore[method-assign]

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(config)
        #: ``(embed_dim, n_channels, n_times)`` of the last :meth:`build` (``None`` before any)
        self.built_for: tuple[int, int, int] | None = None

    def ensure_built(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """:meth:`build` unless already built for this shape (heads and their weights are kept then)."""
        shape = (int(embed_dim), int(n_channels), int(n_times))
        if self.built_for != shape:
            self.build(*shape)

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the heads this objective needs (default: none)."""

    def forward(self, encoder: Encoder, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError


def _recording_build(build: Callable[..., None]) -> Callable[..., None]:
    """Wrap a ``build`` so that it records the shape it built for in ``built_for``."""

    @functools.wraps(build)
    def wrapper(self: Objective, embed_dim: int, n_channels: int, n_times: int) -> None:
        build(self, embed_dim, n_channels, n_times)
        self.built_for = (int(embed_dim), int(n_channels), int(n_times))

    return wrapper
