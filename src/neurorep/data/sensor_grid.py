"""MEG sensors laid out as 2-D "sensor images".

The 248 magnetometers of the 4D Neuroimaging / BTi Magnes 3600 WH system (HCP MEG) are placed on
an ``H x W`` grid from the 2-D sensor layout that MNE ships (``mne.channels.read_layout
("magnesWH3600")``, channels ``MEG 001 .. MEG 248`` = HCP's ``A1 .. A248``). The mapping is
*nearest-cell without sharing*: sensor positions are scaled into the grid box and each sensor gets
exactly one cell, chosen by a minimum-cost assignment (Hungarian algorithm, squared distance from
the sensor to the cell centre), so no two sensors share a cell and empty cells stay zero. No
interpolation is done: every pixel is one sensor's signal or zero.

Orientation: the layout's ``y`` axis points to the front (nose) and ``x`` to the right, so
**row 0 is the back of the head and row H-1 the front; column 0 is the left, W-1 the right**.
Any other channel count (e.g. a few EEG channels in the encoder contract tests) uses
:func:`square_grid`: channels in their given order, row by row, on the smallest square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from neurorep.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

N_MAGNES = 248
MAGNES_LAYOUT = "magnesWH3600"

__all__ = ["MAGNES_LAYOUT", "N_MAGNES", "SensorGrid", "grid_for", "magnes_names", "magnes_positions",
           "nearest_cell_grid", "square_grid"]


def magnes_names() -> list[str]:
    """HCP channel names ``A1 .. A248`` in file order."""
    return [f"A{i}" for i in range(1, N_MAGNES + 1)]


@lru_cache(maxsize=1)
def magnes_positions() -> np.ndarray:
    """2-D positions ``[248, 2]`` (x to the right, y to the front) of ``A1 .. A248``, from MNE's layout.

    The centre of each layout box is used; row ``i`` is sensor ``A{i+1}`` (MNE name ``MEG {i+1:03d}``).
    """
    import mne

    layout = mne.channels.read_layout(MAGNES_LAYOUT)
    index = {name: i for i, name in enumerate(layout.names)}
    wanted = [f"MEG {i:03d}" for i in range(1, N_MAGNES + 1)]
    missing = [w for w in wanted if w not in index]
    if missing:
        raise DataError(f"MNE layout {MAGNES_LAYOUT}: expected channels MEG 001..MEG 248; missing {missing[:3]}")
    pos = np.asarray(layout.pos, dtype=np.float64)[[index[w] for w in wanted]]
    return pos[:, :2] + pos[:, 2:4] / 2


@dataclass(frozen=True)
class SensorGrid:
    """Where each channel sits on an ``height x width`` image.

    ``rows[c]``, ``cols[c]``: the cell of channel ``c``. ``index_map`` is the flat ``[H * W]``
    lookup used to build images: the channel shown in each cell, or ``n_channels`` (a zero
    channel) for empty cells.
    """

    height: int
    width: int
    rows: np.ndarray
    cols: np.ndarray
    kind: str

    @property
    def n_channels(self) -> int:
        return len(self.rows)

    @property
    def index_map(self) -> np.ndarray:
        out = np.full(self.height * self.width, self.n_channels, dtype=np.int64)
        out[self.rows * self.width + self.cols] = np.arange(self.n_channels)
        return out

    def to_images(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``x[..., C, T] -> images[..., T, H, W]`` (empty cells are zero)."""
        if x.shape[-2] != self.n_channels:
            raise DataError(f"sensor grid: expected {self.n_channels} channels, got array of shape {tuple(x.shape)}")
        if not isinstance(x, np.ndarray):  # a torch tensor (torch is imported only when one is passed)
            import torch

            pad = torch.cat([x, torch.zeros_like(x[..., :1, :])], dim=-2)
            img = pad.index_select(-2, torch.as_tensor(self.index_map, device=x.device))
            return img.transpose(-1, -2).reshape(*x.shape[:-2], x.shape[-1], self.height, self.width)
        pad = np.concatenate([x, np.zeros_like(x[..., :1, :])], axis=-2)
        img = np.take(pad, self.index_map, axis=-2)
        return np.swapaxes(img, -1, -2).reshape(*x.shape[:-2], x.shape[-1], self.height, self.width)


def nearest_cell_grid(xy: np.ndarray, height: int, width: int) -> SensorGrid:
    """One distinct cell per sensor, as close as possible to its scaled position.

    ``xy[C, 2]`` (x right, y front) is scaled into the ``[0, W] x [0, H]`` box keeping the aspect
    ratio of the sensor cloud (centred along the shorter side), then the assignment of sensors to
    cells minimising the total squared distance to cell centres is solved exactly.
    """
    from scipy.optimize import linear_sum_assignment

    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise DataError(f"sensor positions must have shape (n_sensors, 2); got {xy.shape}")
    if height * width < len(xy):
        raise ConfigError(f"grid {height}x{width} has {height * width} cells for {len(xy)} sensors; "
                          f"use at least {math.ceil(math.sqrt(len(xy)))}x{math.ceil(math.sqrt(len(xy)))}")
    lo, span = xy.min(0), np.ptp(xy, axis=0)
    span = np.where(span > 0, span, 1.0)
    scale = min(width / span[0], height / span[1])
    p = (xy - lo) * scale
    p += (np.array([width, height]) - span * scale) / 2  # centre the cloud in the box
    cy, cx = np.mgrid[0:height, 0:width]
    centres = np.stack([cx.ravel() + 0.5, cy.ravel() + 0.5], axis=1)
    cost = ((p[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    sensors, cells = linear_sum_assignment(cost)
    cell_of = np.empty(len(xy), dtype=np.int64)
    cell_of[sensors] = cells
    return SensorGrid(height, width, cell_of // width, cell_of % width, "nearest_cell")


def square_grid(n_channels: int) -> SensorGrid:
    """Channels in order, row by row, on the smallest ``S x S`` grid (``S = ceil(sqrt(C))``)."""
    if n_channels < 1:
        raise ConfigError(f"n_channels must be at least 1, got {n_channels}")
    side = math.ceil(math.sqrt(n_channels))
    c = np.arange(n_channels)
    return SensorGrid(side, side, c // side, c % side, "square")


def grid_for(n_channels: int, layout: str = "auto", size: int | None = None) -> SensorGrid:
    """The grid an encoder uses: Magnes layout for 248 channels (``auto``/``magnes``), else square.

    ``size`` is the side of the Magnes grid (default 20); it is ignored by the square grid.
    """
    if layout not in ("auto", "magnes", "square"):
        raise ConfigError(f"grid layout must be 'auto', 'magnes' or 'square'; got {layout!r}")
    if layout == "magnes" or (layout == "auto" and n_channels == N_MAGNES):
        if n_channels != N_MAGNES:
            raise ConfigError(f"grid layout 'magnes' needs {N_MAGNES} channels; got n_channels={n_channels}")
        side = size or 20
        return _magnes_grid(side)
    return square_grid(n_channels)


@lru_cache(maxsize=8)
def _magnes_grid(side: int) -> SensorGrid:
    return nearest_cell_grid(magnes_positions(), side, side)
