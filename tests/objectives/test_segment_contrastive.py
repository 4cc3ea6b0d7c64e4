"""segment_contrastive: adjacent non-overlapping segments, NT-Xent between them, errors."""

from __future__ import annotations

import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.encoders.registry import ENCODERS
from neurorep.errors import ConfigError
from neurorep.objectives import create_objective, list_objectives, nt_xent
from neurorep.objectives.segment_contrastive import adjacent_segments


def _encoder(n_channels: int = 3, n_times: int = 128) -> torch.nn.Module:
    return create_encoder("shallow", **ENCODERS.get("shallow").tiny_kwargs(n_channels, n_times))


def test_adjacent_segments_are_consecutive_and_share_no_sample() -> None:
    x = torch.arange(4 * 2 * 50, dtype=torch.float32).view(4, 2, 50)
    a, b, starts = adjacent_segments(x, 20, torch.Generator().manual_seed(0))
    assert a.shape == b.shape == (4, 2, 20)
    for i in range(4):
        s = int(starts[i])
        assert 0 <= s <= 10
        assert torch.equal(a[i], x[i, :, s:s + 20]) and torch.equal(b[i], x[i, :, s + 20:s + 40])
    assert len(set(starts.tolist())) > 1  # starts are drawn per window, not fixed
    half_a, half_b, zero = adjacent_segments(x, 25)
    assert torch.equal(half_a, x[..., :25]) and torch.equal(half_b, x[..., 25:]) and (zero == 0).all()
    with pytest.raises(ValueError, match="do not fit"):
        adjacent_segments(x, 26)


def test_objective_is_nt_xent_between_the_two_segments() -> None:
    assert "segment_contrastive" in list_objectives()
    enc = _encoder()
    obj = create_objective("segment_contrastive", sfreq=64.0, segment_seconds=0.75, temperature=0.5, proj_dim=4,
                           seed=3)
    obj.build(enc.embed_dim, 3, 128)
    assert obj.length == 48
    x = torch.randn(6, 3, 128)
    enc.eval(), obj.eval()  # batch norm in eval mode: the same forward twice gives the same numbers
    out = obj(enc, {"x": x})
    a, b, _ = adjacent_segments(x, 48, torch.Generator().manual_seed(3))
    z1, z2 = obj.projector(enc(torch.cat([a, b]))).chunk(2)
    assert out["loss"].item() == pytest.approx(nt_xent(z1, z2, 0.5).item(), rel=1e-5)
    enc.train(), obj.train()
    obj(enc, {"x": x})["loss"].backward()
    assert enc.temporal.weight.grad is not None and enc.temporal.weight.grad.abs().sum() > 0


def test_default_segments_are_the_two_halves() -> None:
    obj = create_objective("segment_contrastive", sfreq=64.0)
    obj.build(8, 3, 101)
    assert obj.length == 50


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="segment_seconds"):
        create_objective("segment_contrastive", segment_seconds=-1.0)
    with pytest.raises(ConfigError, match="temperature"):
        create_objective("segment_contrastive", temperature=0)
    obj = create_objective("segment_contrastive", sfreq=64.0, segment_seconds=1.5)
    with pytest.raises(ConfigError, match="do not fit"):
        obj.build(8, 3, 128)
    obj = create_objective("segment_contrastive", sfreq=64.0)
    with pytest.raises(ConfigError, match="build"):
        obj(_encoder(), {"x": torch.randn(4, 3, 128)})
    obj.build(8, 3, 128)
    with pytest.raises(ConfigError, match="at least 2"):
        obj(_encoder(), {"x": torch.randn(1, 3, 128)})
