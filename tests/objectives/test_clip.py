"""The CLIP loss against its formula, and the clip objective on a tiny encoder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.errors import ConfigError
from neurorep.objectives import create_objective
from neurorep.objectives.clip import clip_loss


def _reference(a: np.ndarray, b: np.ndarray, t: float) -> float:
    """Symmetric InfoNCE written out with loops (float64)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = a @ b.T / t
    n = len(a)
    rows = -np.mean([s[i, i] - math.log(sum(math.exp(s[i, j]) for j in range(n))) for i in range(n)])
    cols = -np.mean([s[i, i] - math.log(sum(math.exp(s[j, i]) for j in range(n))) for i in range(n)])
    return 0.5 * (rows + cols)


@pytest.mark.parametrize("t", [0.04, 0.5, 1.0])
def test_clip_loss_matches_formula(t: float) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    got = clip_loss(torch.tensor(a), torch.tensor(b), t).item()
    assert got == pytest.approx(_reference(a, b, t), rel=1e-9)


def test_clip_loss_is_asymmetric_in_general_but_symmetric_under_swap() -> None:
    rng = np.random.default_rng(1)
    a, b = torch.tensor(rng.normal(size=(6, 4))), torch.tensor(rng.normal(size=(6, 4)))
    assert clip_loss(a, b, 0.1).item() == pytest.approx(clip_loss(b, a, 0.1).item(), rel=1e-12)


def test_perfect_alignment_low_loss_and_random_near_log_b() -> None:
    x = torch.eye(8, dtype=torch.float64)
    assert clip_loss(x, x, 0.01).item() < 1e-10
    rng = np.random.default_rng(2)
    a, b = torch.tensor(rng.normal(size=(64, 256))), torch.tensor(rng.normal(size=(64, 256)))
    assert clip_loss(a, b, 1.0).item() == pytest.approx(math.log(64), rel=0.01)


def test_ids_generalise_the_formula() -> None:
    rng = np.random.default_rng(3)
    a, b = torch.tensor(rng.normal(size=(5, 3))), torch.tensor(rng.normal(size=(5, 3)))
    distinct = clip_loss(a, b, 0.2, ids=torch.arange(5))
    assert distinct.item() == pytest.approx(clip_loss(a, b, 0.2).item(), rel=1e-12)
    # two rows of the same image: each row's target is uniform over both
    ids = torch.tensor([0, 0, 1, 2, 3])
    s = (torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T / 0.2).numpy()
    soft = (ids[:, None] == ids[None, :]).double().numpy()
    soft /= soft.sum(1, keepdims=True)

    def ce(logits: np.ndarray) -> float:
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        return float(-(soft * logp).sum(1).mean())

    assert clip_loss(a, b, 0.2, ids=ids).item() == pytest.approx(0.5 * (ce(s) + ce(s.T)), rel=1e-9)


def test_objective_trains_encoder_and_projection_only() -> None:
    torch.manual_seed(0)
    enc = create_encoder("cnn", n_channels=2, n_times=3000, embed_dim=16, n_filters=8, n_convs=1)
    obj = create_objective("clip", target_dim=6, temperature=0.1, learnable_temperature=True)
    obj.build(enc.embed_dim, 2, 3000)
    target = torch.randn(4, 6)
    batch = {"x": torch.randn(4, 2, 3000), "target_embedding": target.clone().requires_grad_(True)}
    out = obj(enc, batch)
    assert set(out) == {"loss", "clip", "top1", "temperature"}
    assert out["temperature"].item() == pytest.approx(0.1, rel=1e-5)
    out["loss"].backward()
    assert obj.projector.weight.grad is not None and obj.logit_scale.grad is not None
    assert all(p.grad is not None for p in enc.parameters() if p.requires_grad)
    assert batch["target_embedding"].grad is None  # the image side never trains
    fixed = create_objective("clip", target_dim=6)
    assert "logit_scale" not in dict(fixed.named_parameters()) and "logit_scale" in fixed.state_dict()


def test_bad_batches_and_arguments() -> None:
    enc = create_encoder("cnn", n_channels=2, n_times=3000, embed_dim=16, n_filters=8, n_convs=1)
    obj = create_objective("clip", target_dim=6)
    obj.build(16, 2, 3000)
    with pytest.raises(ConfigError, match="target_embedding"):
        obj(enc, {"x": torch.randn(2, 2, 3000)})
    with pytest.raises(ConfigError, match="target_dim"):
        obj(enc, {"x": torch.randn(2, 2, 3000), "target_embedding": torch.randn(2, 5)})
    with pytest.raises(ConfigError, match="temperature"):
        create_objective("clip", temperature=0)
    with pytest.raises(ConfigError, match="projection"):
        create_objective("clip", projection="mlpp")


def test_flatten_pool_projects_every_token() -> None:
    torch.manual_seed(0)
    enc = create_encoder("resnet1d", n_channels=3, n_times=40, embed_dim=8, widths=[4, 8], blocks=1)
    obj = create_objective("clip", target_dim=5, pool="flatten", n_tokens=enc.n_tokens)
    obj.build(enc.embed_dim, 3, 40)
    assert obj.projector.in_features == 8 * enc.n_tokens == 8 * 20
    z = obj.project(enc.eval(), torch.randn(2, 3, 40))
    assert z.shape == (2, 5)
    with pytest.raises(ConfigError, match="needs n_tokens"):
        create_objective("clip", pool="flatten")
    with pytest.raises(ConfigError, match="built for 160 input features"):
        obj.project(enc, torch.randn(2, 3, 60))
