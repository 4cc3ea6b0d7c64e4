"""``adapted``: an encoder behind a fixed linear input map (channel mapping, resampling).

:class:`AdaptedEncoder` holds an inner registered encoder built for the model's input
(``C_model`` channels x ``T_model`` samples) and two fixed matrices, buffers saved with the
weights: ``channel_matrix[C_model, C_data]`` (selection, reordering, spherical-spline
interpolation) and, when the rates differ, ``time_matrix[T_data, T_model]`` (polyphase
resampling). ``x[B, C_data, T_data] -> inner(channel_matrix @ x @ time_matrix)``. The maps are
plain matrix products, so the wrapped model trains, saves, loads and exports to ONNX like any
encoder. :func:`neurorep.hub.encoder_with_weights` builds it from a checkpoint contract.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from neurorep.checks import check_input
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import create_encoder, register_encoder
from neurorep.errors import ConfigError

__all__ = ["AdaptedEncoder"]


@register_encoder("adapted")
class AdaptedEncoder(Encoder):
    """``inner`` encoder fed through a fixed channel map and optional resampling (see the module docstring)."""

    def __init__(self, n_channels: int, n_times: int, inner: str = "cnn", inner_kwargs: dict[str, Any] | None = None,
                 notes: list[str] | None = None) -> None:
        # by default the inner model takes the data's shape (the maps start as the identity)
        inner_kwargs = {"n_channels": n_channels, "n_times": n_times, **(inner_kwargs or {})}
        super().__init__(n_channels=n_channels, n_times=n_times, inner=inner, inner_kwargs=inner_kwargs,
                         notes=list(notes or []))
        if inner == "adapted":
            raise ConfigError("adapted: the inner encoder cannot itself be 'adapted'")
        self.n_channels, self.n_times = int(n_channels), int(n_times)
        self.encoder = create_encoder(inner, **inner_kwargs)
        self.model_channels, self.model_times = int(inner_kwargs["n_channels"]), int(inner_kwargs["n_times"])
        self.embed_dim = int(self.encoder.embed_dim)
        self.register_buffer("channel_matrix", torch.eye(self.model_channels, self.n_channels))
        if self.model_times != self.n_times:
            self.register_buffer("time_matrix", torch.eye(self.n_times, self.model_times))
        else:
            self.time_matrix = None

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A small CNN behind a channel selection (the first channels)."""
        from neurorep.encoders import ENCODERS

        inner = ENCODERS.get("cnn").tiny_kwargs(max(1, n_channels - 1), n_times)  # type: ignore[attr-defined]
        return {"n_channels": n_channels, "n_times": n_times, "inner": "cnn", "inner_kwargs": inner}

    def set_maps(self, channel_matrix: np.ndarray, time_matrix: np.ndarray | None = None) -> AdaptedEncoder:
        """Install the input maps (shapes must fit the data and the model)."""
        cm = torch.as_tensor(np.asarray(channel_matrix), dtype=torch.float32)
        if tuple(cm.shape) != (self.model_channels, self.n_channels):
            raise ConfigError(f"adapted: channel matrix {tuple(cm.shape)}, expected "
                              f"{(self.model_channels, self.n_channels)}")
        self.channel_matrix.copy_(cm)
        if (time_matrix is None) != (self.time_matrix is None):
            raise ConfigError("adapted: a time matrix is needed exactly when the data and model lengths differ")
        if time_matrix is not None and self.time_matrix is not None:
            tm = torch.as_tensor(np.asarray(time_matrix), dtype=torch.float32)
            if tuple(tm.shape) != tuple(self.time_matrix.shape):
                raise ConfigError(f"adapted: time matrix {tuple(tm.shape)}, expected {tuple(self.time_matrix.shape)}")
            self.time_matrix.copy_(tm)
        return self

    def adapt(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C_data, T_data] -> [B, C_model, T_model]``."""
        check_input(self, x, self.n_channels, self.n_times)
        h = torch.matmul(self.channel_matrix, x)
        return h if self.time_matrix is None else torch.matmul(h, self.time_matrix)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The inner encoder's tokens for the adapted input."""
        return self.encoder.forward_features(self.adapt(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The inner encoder's embedding for the adapted input."""
        return self.encoder(self.adapt(x))

    def layer_groups(self) -> list[nn.Module]:
        """The inner encoder's layer groups (the input maps are fixed)."""
        return list(self.encoder.layer_groups()) if self.encoder.supports("layer_groups") else [self.encoder]
