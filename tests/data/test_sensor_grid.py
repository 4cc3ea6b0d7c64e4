"""Sensor images: coverage, no shared cells, orientation, and the encoder's images match the grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorep.data.sensor_grid import (
    grid_for,
    magnes_names,
    magnes_positions,
    nearest_cell_grid,
    square_grid,
)
from neurorep.errors import ConfigError, DataError


def test_magnes_layout_read_through_mne_has_248_named_sensors() -> None:
    import mne

    layout = mne.channels.read_layout("magnesWH3600")
    assert len(layout.names) == 248 and layout.names[0] == "MEG 001" and layout.names[-1] == "MEG 248"
    pos = magnes_positions()
    assert pos.shape == (248, 2) and np.isfinite(pos).all()
    assert magnes_names()[:2] == ["A1", "A2"] and magnes_names()[-1] == "A248"
    # A1 sits at the centre of the helmet (vertex) in the 4D/BTi numbering
    centre = (pos.min(0) + pos.max(0)) / 2
    assert np.linalg.norm(pos[0] - centre) < 0.15 * np.ptp(pos, axis=0).max()


@pytest.mark.parametrize("side", [16, 20])
def test_every_sensor_gets_its_own_cell(side: int) -> None:
    g = grid_for(248, size=side)
    assert g.kind == "nearest_cell" and g.n_channels == 248
    assert ((g.rows >= 0) & (g.rows < side) & (g.cols >= 0) & (g.cols < side)).all()
    cells = set(zip(g.rows.tolist(), g.cols.tolist(), strict=True))
    assert len(cells) == 248  # coverage and no sharing
    im = g.index_map
    assert sorted(im[im < 248].tolist()) == list(range(248)) and (im == 248).sum() == side * side - 248


def test_orientation_front_back_and_left_right_preserved() -> None:
    pos = magnes_positions()
    g = grid_for(248, size=20)
    dy = pos[:, 1][:, None] - pos[:, 1][None, :]
    dx = pos[:, 0][:, None] - pos[:, 0][None, :]
    # a sensor clearly further front (larger y) is never on a lower row; same for right / column
    far = 0.06  # about 1.3 cells
    assert ((dy > far) & (g.rows[:, None] < g.rows[None, :])).sum() == 0
    assert ((dx > far) & (g.cols[:, None] < g.cols[None, :])).sum() == 0
    assert np.corrcoef(pos[:, 1], g.rows)[0, 1] > 0.99 and np.corrcoef(pos[:, 0], g.cols)[0, 1] > 0.99
    # the most frontal sensor is in the top rows, the most posterior in the bottom rows
    assert g.rows[np.argmax(pos[:, 1])] >= 17 and g.rows[np.argmin(pos[:, 1])] <= 2


def test_nearest_cell_is_exact_on_a_regular_layout() -> None:
    rows, cols = np.mgrid[0:4, 0:5]
    xy = np.stack([cols.ravel(), rows.ravel()], 1).astype(float)  # x right, y front
    g = nearest_cell_grid(xy, 4, 5)
    np.testing.assert_array_equal(g.rows, rows.ravel())
    np.testing.assert_array_equal(g.cols, cols.ravel())
    flipped = nearest_cell_grid(xy * [1, -1], 4, 5)  # y mirrored -> rows mirrored
    np.testing.assert_array_equal(flipped.rows, 3 - rows.ravel())


def test_to_images_places_each_channel_in_its_cell() -> None:
    g = grid_for(248, size=18)
    x = np.arange(248, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32) + 1  # channel c holds c + 1
    img = g.to_images(x)
    assert img.shape == (3, 18, 18)
    np.testing.assert_array_equal(img[0, g.rows, g.cols], np.arange(248) + 1)
    assert (img[0] == 0).sum() == 18 * 18 - 248
    torch_img = g.to_images(torch.from_numpy(x))
    np.testing.assert_array_equal(torch_img.numpy(), img)


def test_encoder_images_agree_with_grid() -> None:
    from neurorep.encoders import create_encoder

    enc = create_encoder("meg_cnn_transformer", n_channels=248, n_times=20, frame=10, grid_size=18,
                         cnn_channels=[4], embed_dim=8, n_layers=1, n_heads=2)
    x = torch.randn(2, 248, 20)
    img = enc.images(x)  # [B, N, frame, H, W]
    g = enc.sensor_grid
    ref = g.to_images(x)  # [B, T, H, W]
    torch.testing.assert_close(img.reshape(2, 20, 18, 18), ref)


def test_square_grid_and_errors() -> None:
    g = square_grid(3)
    assert (g.height, g.width) == (2, 2) and g.rows.tolist() == [0, 0, 1] and g.cols.tolist() == [0, 1, 0]
    assert grid_for(2).kind == "square"
    with pytest.raises(ConfigError, match="needs 248 channels"):
        grid_for(10, "magnes")
    with pytest.raises(ConfigError, match="cells for 248 sensors"):
        grid_for(248, size=15)
    with pytest.raises(DataError, match="expected 248 channels"):
        grid_for(248, size=16).to_images(np.zeros((3, 5)))
