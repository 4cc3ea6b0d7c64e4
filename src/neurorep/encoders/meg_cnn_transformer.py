"""``meg_cnn_transformer``: a CNN over 2-D sensor images, then a transformer over the image sequence.

The window ``x[B, C, T]`` is cut into ``N = T / frame`` frames of ``frame`` samples. Each frame
becomes a sensor image ``[frame, H, W]`` (the ``frame`` consecutive samples are the image's input
channels; each sensor sits in its cell of the grid, see :mod:`neurorep.data.sensor_grid`). A small
CNN maps every image to a spatial feature vector ``[D]`` (the *spatial encoder*); learnable
positions are added and a pre-norm transformer runs over the ``N`` vectors (the *sequence model*).

Grid: with 248 channels the Magnes 3600 layout (``grid_size x grid_size``, nearest cell, no two
sensors in one cell); any other channel count uses a generic square grid (channels row by row),
or force one with ``grid="magnes"`` / ``grid="square"``.

The two parts are exposed for part-wise pretraining: :meth:`spatial_features`,
:meth:`sequence_features`, and :data:`PARTS` (parameter-name prefixes of each part).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.data.sensor_grid import grid_for
from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["PARTS", "MegCNNTransformer", "part_state", "set_part_trainable"]

#: parameter-name prefixes of the two parts (for copying or freezing one part).
PARTS: dict[str, tuple[str, ...]] = {"spatial": ("cnn.", "proj."), "sequence": ("pos_embed", "transformer.")}


@register_encoder("meg_cnn_transformer")
class MegCNNTransformer(Encoder):
    """Sensor-image CNN + transformer: ``x[B, C, T] -> tokens[B, T / frame, D]``.

    Args:
        n_channels: input channels ``C`` (248 = HCP magnetometers, placed by the Magnes layout).
        n_times: samples per window ``T``; must be divisible by ``frame``.
        frame: samples per sensor image (the images' input channels).
        grid: ``auto`` (Magnes layout for 248 channels, else square), ``magnes`` or ``square``.
        grid_size: side of the Magnes grid (at least 16 for 248 sensors).
        cnn_channels: output channels of the CNN's 3x3 conv layers; every layer after the first
            has stride 2.
        embed_dim: feature size ``D`` (divisible by ``n_heads``).
        n_layers, n_heads, mlp_ratio: transformer size.
        dropout: dropout in the CNN projection and the transformer.
    """

    def __init__(self, *, n_channels: int, n_times: int, frame: int = 10, grid: str = "auto", grid_size: int = 20,
                 cnn_channels: list[int] | tuple[int, ...] = (16, 32, 64), embed_dim: int = 128, n_layers: int = 2,
                 n_heads: int = 4, mlp_ratio: float = 2.0, dropout: float = 0.1) -> None:
        cnn_channels = [int(c) for c in cnn_channels] if isinstance(cnn_channels, (list, tuple)) else cnn_channels
        super().__init__(n_channels=n_channels, n_times=n_times, frame=frame, grid=grid, grid_size=grid_size,
                         cnn_channels=cnn_channels, embed_dim=embed_dim, n_layers=n_layers, n_heads=n_heads,
                         mlp_ratio=mlp_ratio, dropout=dropout)
        owner = "meg_cnn_transformer"
        for name in ("n_channels", "n_times", "frame", "grid_size", "embed_dim", "n_heads"):
            check_int(owner, name, self.config[name])
        check_int(owner, "n_layers", n_layers, minimum=0)
        check_rate(owner, "dropout", dropout)
        if not isinstance(cnn_channels, list) or not cnn_channels or any(c < 1 for c in cnn_channels):
            raise ConfigError(f"{owner}: cnn_channels must be a non-empty list of positive integers, got {cnn_channels!r}")
        if n_times % frame:
            raise ConfigError(f"{owner}: n_times={n_times} is not divisible by frame={frame}; choose a frame that "
                              f"divides n_times or crop windows to {n_times - n_times % frame} samples")
        if embed_dim % n_heads:
            raise ConfigError(f"{owner}: embed_dim={embed_dim} must be divisible by n_heads={n_heads}")
        if not isinstance(mlp_ratio, (int, float)) or mlp_ratio <= 0:
            raise ConfigError(f"{owner}: mlp_ratio must be a positive number, got {mlp_ratio!r}")
        self.sensor_grid = grid_for(n_channels, grid, grid_size)
        self.register_buffer("index_map", torch.as_tensor(self.sensor_grid.index_map), persistent=False)
        self.n_channels, self.n_times, self.frame, self.embed_dim = n_channels, n_times, frame, embed_dim
        self.n_tokens = n_times // frame
        layers: list[nn.Module] = []
        h, w, c_in = self.sensor_grid.height, self.sensor_grid.width, frame
        for i, c_out in enumerate(cnn_channels):
            stride = 1 if i == 0 else 2
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm2d(c_out), nn.GELU()]
            h, w, c_in = (h - 1) // stride + 1, (w - 1) // stride + 1, c_out
        self.cnn = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in * h * w, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.n_tokens, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(embed_dim, n_heads, dim_feedforward=int(round(mlp_ratio * embed_dim)),
                                           dropout=dropout, activation="gelu", batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(embed_dim),
                                                 enable_nested_tensor=False)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests (frames of ``T / 10`` samples when that divides)."""
        frame = n_times // 10 if n_times % 10 == 0 and n_times >= 10 else n_times
        return {"n_channels": n_channels, "n_times": n_times, "frame": frame, "grid_size": 16,
                "cnn_channels": [4, 8], "embed_dim": 16, "n_layers": 1, "n_heads": 2}

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> images[B, N, frame, H, W]`` (empty cells are zero)."""
        b = x.shape[0]
        g = self.sensor_grid
        pad = torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)             # [B, C + 1, T]
        cells = pad.index_select(1, self.index_map)                          # [B, H * W, T]
        cells = cells.reshape(b, g.height * g.width, self.n_tokens, self.frame)
        return cells.permute(0, 2, 3, 1).reshape(b, self.n_tokens, self.frame, g.height, g.width)

    def spatial_features(self, x: torch.Tensor) -> torch.Tensor:
        """The CNN part: ``x[B, C, T] -> features[B, N, D]``, one vector per sensor image."""
        check_input(self, x, self.n_channels, self.n_times)
        img = self.images(x)
        b, n = img.shape[:2]
        feats = self.proj(self.cnn(img.reshape(b * n, *img.shape[2:])))
        return feats.reshape(b, n, self.embed_dim)

    def sequence_features(self, feats: torch.Tensor) -> torch.Tensor:
        """The transformer part: ``features[B, N, D] -> tokens[B, N, D]`` (positions added here)."""
        return self.transformer(self.drop(feats + self.pos_embed))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, T / frame, D]``."""
        return self.sequence_features(self.spatial_features(x))


def part_state(encoder: nn.Module, part: str) -> dict[str, torch.Tensor]:
    """Copies of the parameters and buffers of one part (``spatial`` or ``sequence``) of ``encoder``."""
    if part not in PARTS:
        raise ConfigError(f"unknown encoder part {part!r}; known parts are: {', '.join(PARTS)}")
    return {k: v.detach().clone() for k, v in encoder.state_dict().items() if k.startswith(PARTS[part])}


def set_part_trainable(encoder: nn.Module, part: str, trainable: bool) -> None:
    """Freeze (``trainable=False``) or unfreeze the parameters of one part of ``encoder``."""
    if part not in PARTS:
        raise ConfigError(f"unknown encoder part {part!r}; known parts are: {', '.join(PARTS)}")
    for name, p in encoder.named_parameters():
        if name.startswith(PARTS[part]):
            p.requires_grad_(trainable)
