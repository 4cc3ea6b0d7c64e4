"""Loss terms against their formulas, and every objective with every (tiny) encoder."""

from __future__ import annotations

import math

import pytest
import torch

from neurorep.encoders import ENCODERS, list_encoders
from neurorep.errors import ConfigError
from neurorep.heads import ClassificationHead, ProjectionHead
from neurorep.objectives import create_objective, list_objectives
from neurorep.objectives.contrastive import Contrastive, nt_xent
from neurorep.objectives.hybrid import Hybrid, weighted_sum
from neurorep.objectives.masked import MaskedPrediction, SignalDecoder, masked_mse, standardize

C, T = 2, 1000
SSL = ["masked_prediction", "contrastive", "hybrid"]


def tiny_encoder(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    cls = ENCODERS.get(name)
    return cls(**cls.tiny_kwargs(C, T))


def batch(b: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    return {"x": torch.randn(b, C, T, generator=torch.Generator().manual_seed(seed)), "y": torch.zeros(b)}


# --------------------------------------------------------------------------- nt_xent


def nt_xent_reference(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """Explicit per-row SimCLR formula."""
    z = torch.cat([z1, z2]).double()
    n2 = z.shape[0]
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        def cos(a: int, b: int) -> float:
            return float(z[a] @ z[b] / (z[a].norm() * z[b].norm()))
        denom = sum(math.exp(cos(i, k) / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(cos(i, j) / tau) / denom)
    return total / n2


@pytest.mark.parametrize(("n", "d", "tau"), [(4, 3, 0.1), (5, 8, 0.5), (2, 2, 1.0)])
def test_nt_xent_matches_formula(n: int, d: int, tau: float) -> None:
    g = torch.Generator().manual_seed(n * d)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    assert nt_xent(z1, z2, tau).item() == pytest.approx(nt_xent_reference(z1, z2, tau), rel=1e-5)


def test_nt_xent_properties() -> None:
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    aligned = nt_xent(z, z * 3.0, 0.1)  # scale-invariant: same as identical views
    torch.testing.assert_close(aligned, nt_xent(z, z, 0.1))
    assert aligned < nt_xent(z, torch.randn(8, 16), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(z, z, 0.0)


# --------------------------------------------------------------------------- masked_mse


def test_masked_mse_matches_formula_and_ignores_unmasked() -> None:
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(3, 2, 20, generator=g), torch.randn(3, 2, 20, generator=g)
    mask = torch.rand(3, 2, 20, generator=g) < 0.4
    ref, count = 0.0, 0
    for idx in torch.nonzero(mask):
        ref += float(pred[tuple(idx)] - target[tuple(idx)]) ** 2
        count += 1
    assert masked_mse(pred, target, mask).item() == pytest.approx(ref / count, rel=1e-6)
    other = torch.where(mask, pred, torch.full_like(pred, float("nan")))  # unmasked entries changed
    p = other.clone().requires_grad_(True)
    loss = masked_mse(p, target, mask)
    assert loss.item() == pytest.approx(ref / count, rel=1e-6)
    loss.backward()
    assert torch.isfinite(p.grad).all() and (p.grad[~mask] == 0).all()
    empty = masked_mse(pred.requires_grad_(True), target, torch.zeros_like(mask))
    assert empty.item() == 0.0 and empty.requires_grad


def test_standardize() -> None:
    x = torch.randn(4, 2, 300) * 1e-5 + 3e-5
    z = standardize(x)
    torch.testing.assert_close(z.mean(-1), torch.zeros(4, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(-1, unbiased=False), torch.ones(4, 2), atol=1e-3, rtol=0)
    assert (standardize(torch.full((1, 1, 10), 2.0)) == 0).all()


def test_signal_decoder_any_token_count() -> None:
    dec = SignalDecoder(embed_dim=8, n_channels=3, n_times=1003, upsample=10, hidden=4)
    for n in (1, 7, 40):
        assert dec(torch.randn(2, n, 8)).shape == (2, 3, 1003)


# --------------------------------------------------------------------------- objectives x encoders


@pytest.mark.parametrize("encoder_name", list_encoders())
@pytest.mark.parametrize("objective_name", SSL)
def test_objective_runs_with_encoder(objective_name: str, encoder_name: str) -> None:
    enc = tiny_encoder(encoder_name)
    obj = create_objective(objective_name, seed=0)
    obj.build(enc.embed_dim, C, T)
    out = obj(enc, batch())
    assert torch.isfinite(out["loss"]) and out["loss"].dim() == 0
    out["loss"].backward()
    grads = [p.grad for p in enc.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    head_params = list(obj.parameters())
    assert head_params and all(p.grad is not None for p in head_params)
    expected = {"masked_prediction": {"loss", "masked_mse"}, "contrastive": {"loss", "nt_xent", "pos_sim"},
                "hybrid": {"loss", "masked_mse", "nt_xent", "pos_sim"}}[objective_name]
    assert set(out) == expected
    assert all(not v.requires_grad for k, v in out.items() if k != "loss")


def test_hybrid_is_weighted_sum_of_parts() -> None:
    enc = tiny_encoder("cnn").eval()  # eval: no dropout, so parts can be recomputed exactly
    hyb = Hybrid(mask_weight=0.3, contrastive_weight=2.0, seed=5)
    hyb.build(enc.embed_dim, C, T)
    out = hyb(enc, batch())
    torch.testing.assert_close(out["loss"], 0.3 * out["masked_mse"] + 2.0 * out["nt_xent"])
    masked, contrastive = MaskedPrediction(seed=5), Contrastive(seed=6)
    masked.build(enc.embed_dim, C, T)
    contrastive.build(enc.embed_dim, C, T)
    masked.load_state_dict(hyb.masked.state_dict())
    contrastive.load_state_dict(hyb.contrastive.state_dict())
    torch.testing.assert_close(out["masked_mse"], masked(enc, batch())["masked_mse"])
    torch.testing.assert_close(out["nt_xent"], contrastive(enc, batch())["nt_xent"])
    only_mask = Hybrid(contrastive_weight=0.0, seed=5)
    only_mask.build(enc.embed_dim, C, T)
    assert set(only_mask(enc, batch())) == {"loss", "masked_mse"}
    assert weighted_sum({"a": torch.tensor(2.0), "b": torch.tensor(3.0)}, {"a": 0.5, "b": 2.0}).item() == 7.0
    with pytest.raises(ConfigError, match="both 0"):
        Hybrid(mask_weight=0, contrastive_weight=0)


def test_masked_loss_counts_only_hidden_samples() -> None:
    enc = tiny_encoder("cnn").eval()
    obj = MaskedPrediction(mask_ratio=0.4, span=20, seed=1)
    obj.build(enc.embed_dim, C, T)
    x = batch()["x"]
    mask = obj.make_mask(x)
    assert abs(mask.float().mean().item() - 0.4) < 0.05
    masked_x = obj.apply_mask(x, mask)
    assert (masked_x[mask] == 0).all() and torch.equal(masked_x[~mask], x[~mask])
    obj.generator = torch.Generator().manual_seed(1)
    out = obj(enc, {"x": x})
    pred = obj.decoder(enc.forward_features(masked_x))
    torch.testing.assert_close(out["loss"], masked_mse(pred, standardize(x), mask))


def test_learned_mask_value_gets_gradient() -> None:
    enc = tiny_encoder("transformer")
    obj = MaskedPrediction(mask_value="learned", channel_ratio=0.5, seed=0)
    obj.build(enc.embed_dim, C, T)
    obj(enc, batch())["loss"].backward()
    assert obj.mask_token is not None and obj.mask_token.grad.abs().sum() > 0


@pytest.mark.parametrize("objective_name", SSL)
def test_objectives_are_deterministic(objective_name: str) -> None:
    losses = []
    for _ in range(2):
        enc = tiny_encoder("cnn", seed=3)
        torch.manual_seed(3)
        obj = create_objective(objective_name)  # seed=None: global RNG
        obj.build(enc.embed_dim, C, T)
        losses.append([obj(enc, batch(seed=s))["loss"].item() for s in range(2)])
    assert losses[0] == losses[1]


def test_contrastive_optimisation_decreases_loss() -> None:
    torch.manual_seed(0)
    cls = ENCODERS.get("cnn")
    enc = cls(**cls.tiny_kwargs(C, T), dropout=0.0)  # no dropout: a cleaner loss curve
    obj = Contrastive(temperature=0.2, proj_dim=16, seed=0,
                      augmentations=[{"name": "additive_noise", "p": 1.0, "params": {"sigma": 0.2}},
                                     {"name": "amplitude_scale", "p": 1.0, "params": {"low": 0.8, "high": 1.25}}])
    obj.build(enc.embed_dim, C, T)
    opt = torch.optim.Adam([*enc.parameters(), *obj.parameters()], lr=3e-3)
    data = batch(b=16, seed=1)
    losses = []
    for _ in range(12):
        loss = obj(enc, data)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3, losses


def test_objective_config_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean 'contrastive'"):
        create_objective("contrastiv")
    assert set(SSL) <= set(list_objectives())
    with pytest.raises(ConfigError, match="mask_ratio"):
        MaskedPrediction(mask_ratio=1.2)
    with pytest.raises(ConfigError, match="temperature"):
        Contrastive(temperature=-1)
    with pytest.raises(ConfigError, match="did you mean 'time_mask'"):
        Contrastive(augmentations=[{"name": "time_masking", "p": 0.5}])
    obj = MaskedPrediction()
    with pytest.raises(ConfigError, match="build"):
        obj(tiny_encoder("cnn"), batch())
    with pytest.raises(ConfigError, match="'x'"):
        obj({}, {"y": torch.zeros(2)})  # type: ignore[arg-type]


def test_heads() -> None:
    proj = ProjectionHead(16, out_dim=8)
    assert proj(torch.randn(4, 16)).shape == (4, 8)
    assert isinstance(proj.net[1], torch.nn.BatchNorm1d)
    clf = ClassificationHead(16, n_classes=5, dropout=0.2).eval()
    h = torch.randn(4, 16)
    assert clf(h).shape == (4, 5)
    torch.testing.assert_close(clf(h.unsqueeze(1).expand(4, 3, 16)), clf(h))
    with pytest.raises(ConfigError, match="n_classes"):
        ClassificationHead(16, n_classes=0)
