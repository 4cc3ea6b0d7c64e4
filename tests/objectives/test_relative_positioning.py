"""relative_positioning and temporal_contrastive: losses against their formulas, inputs, errors."""

from __future__ import annotations

import math

import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.encoders.registry import ENCODERS
from neurorep.errors import ConfigError
from neurorep.objectives import create_objective, nt_xent
from neurorep.objectives.relative_positioning import relative_positioning_loss


def _encoder() -> torch.nn.Module:
    return create_encoder("shallow", **ENCODERS.get("shallow").tiny_kwargs(3, 64))


def test_rp_loss_matches_its_formula() -> None:
    g = torch.Generator().manual_seed(0)
    h1, h2 = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    w, b = torch.randn(4, generator=g), torch.tensor(0.3)
    target = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    expected = 0.0
    for i in range(5):
        gi = sum(w[k].item() * abs(h1[i, k].item() - h2[i, k].item()) for k in range(4)) + 0.3
        s = 2 * target[i].item() - 1
        expected += math.log(1 + math.exp(-s * gi))
    got = relative_positioning_loss(h1, h2, target, w, b)
    assert got.item() == pytest.approx(expected / 5, rel=1e-5)


def test_rp_loss_is_low_when_near_pairs_are_close_and_far_pairs_apart() -> None:
    h1 = torch.zeros(4, 2)
    h2 = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0]])
    target = torch.tensor([1.0, 1.0, 0.0, 0.0])
    w, b = torch.tensor([-2.0, -2.0]), torch.tensor(2.0)  # near when the difference is small
    assert relative_positioning_loss(h1, h2, target, w, b).item() < 0.2
    assert relative_positioning_loss(h1, h2, 1 - target, w, b).item() > 2.0


def test_relative_positioning_objective_trains_the_encoder() -> None:
    enc, obj = _encoder(), create_objective("relative_positioning", tau_pos=1.0, tau_neg=5.0)
    obj.build(enc.embed_dim, 3, 64)
    batch = {"x": torch.randn(6, 3, 64), "x_pair": torch.randn(6, 3, 64), "target": torch.tensor([1.0, 0] * 3)}
    out = obj(enc, batch)
    h1, h2 = enc(torch.cat([batch["x"], batch["x_pair"]])).chunk(2)
    assert out["loss"].item() == pytest.approx(
        relative_positioning_loss(h1, h2, batch["target"], obj.head.weight, obj.head.bias).item(), rel=1e-5)
    out["loss"].backward()
    assert enc.temporal.weight.grad is not None and enc.temporal.weight.grad.abs().sum() > 0
    assert 0 <= out["accuracy"].item() <= 1
    assert obj.pair_sampling == {"tau_pos": 1.0, "tau_neg": 5.0, "batch_from": "any", "negatives": True, "tau_min": 0.0}


def test_temporal_contrastive_is_nt_xent_between_neighbours() -> None:
    enc, obj = _encoder(), create_objective("temporal_contrastive", temperature=0.5, proj_dim=4)
    obj.build(enc.embed_dim, 3, 64)
    enc.eval(), obj.eval()  # fixed batch-norm statistics so both passes see the same function
    x, xp = torch.randn(5, 3, 64), torch.randn(5, 3, 64)
    out = obj(enc, {"x": x, "x_pair": xp})
    z1, z2 = obj.projector(enc(torch.cat([x, xp]))).chunk(2)
    assert out["loss"].item() == pytest.approx(nt_xent(z1, z2, 0.5).item(), rel=1e-5)
    assert obj.pair_sampling["tau_neg"] is None and obj.pair_sampling["batch_from"] == "recording"


def test_pair_objectives_refuse_single_windows_and_bad_settings() -> None:
    enc, obj = _encoder(), create_objective("temporal_contrastive")
    obj.build(enc.embed_dim, 3, 64)
    with pytest.raises(ConfigError, match="x_pair"):
        obj(enc, {"x": torch.randn(4, 3, 64)})
    with pytest.raises(ConfigError, match="tau_neg"):
        create_objective("relative_positioning", tau_pos=5.0, tau_neg=2.0)
    with pytest.raises(ConfigError, match="batch_from"):
        create_objective("temporal_contrastive", batch_from="session")
    with pytest.raises(ConfigError, match="tau_pos"):
        create_objective("temporal_contrastive", tau_pos=0)
