"""Distillation losses against their formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurorep.errors import ConfigError
from neurorep.objectives.distill import (
    Distillation,
    at_loss,
    at_loss_from_map,
    attention_map,
    kd_loss,
    masked_ce,
)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_kd_loss_is_t2_scaled_kl(temperature: float) -> None:
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(3, 5, 4, generator=g), torch.randn(3, 5, 4, generator=g)
    ps, pt = _softmax(s.numpy().reshape(-1, 4) / temperature), _softmax(t.numpy().reshape(-1, 4) / temperature)
    expected = temperature**2 * np.mean(np.sum(pt * (np.log(pt) - np.log(ps)), axis=1))
    got = kd_loss(s, t, temperature)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # gradient w.r.t. the student logits is T * (p_s - p_t) / rows
    s.requires_grad_(True)
    kd_loss(s, t, temperature).backward()
    grad = temperature * (ps - pt) / ps.shape[0]
    np.testing.assert_allclose(s.grad.numpy().reshape(-1, 4), grad, rtol=1e-4, atol=1e-6)
    assert kd_loss(t, t, temperature).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ConfigError):
        kd_loss(s, t, 0.0)


def test_attention_map_is_normalised_channel_pooled_activation() -> None:
    f = torch.randn(2, 6, 20, generator=torch.Generator().manual_seed(1))
    a = attention_map(f, p=2.0)
    ref = (f.numpy() ** 2).mean(1)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(a.numpy(), ref, rtol=1e-5)
    a1 = attention_map(f, p=1.0)
    ref1 = np.abs(f.numpy()).mean(1)
    np.testing.assert_allclose(a1.numpy(), ref1 / np.linalg.norm(ref1, axis=1, keepdims=True), rtol=1e-5)
    # resampling keeps unit norm and a constant map stays constant
    const = attention_map(torch.ones(1, 3, 7), size=14)
    assert const.shape == (1, 14)
    np.testing.assert_allclose(const.numpy(), np.full((1, 14), 1 / np.sqrt(14)), rtol=1e-5)


def test_at_loss_formula_and_scale_invariance() -> None:
    g = torch.Generator().manual_seed(2)
    fs, ft = torch.randn(4, 8, 10, generator=g), torch.randn(4, 16, 10, generator=g)
    a_s, a_t = attention_map(fs).numpy(), attention_map(ft).numpy()
    expected = np.linalg.norm(a_s - a_t, axis=1).mean()
    assert at_loss(fs, ft).item() == pytest.approx(expected, rel=1e-5)
    assert at_loss(fs, 3.0 * fs).item() == pytest.approx(0.0, abs=1e-5)  # maps are normalised
    assert at_loss(fs, torch.randn(4, 8, 20, generator=g)).shape == ()  # teacher length resampled


def test_masked_and_weighted_ce() -> None:
    g = torch.Generator().manual_seed(3)
    logits, y = torch.randn(2, 5, 3, generator=g), torch.tensor([[0, 1, -1, 2, 2], [-1, -1, 0, 1, 0]])
    w = torch.tensor([0.5, 1.0, 2.0])
    logp = F.log_softmax(logits.reshape(-1, 3), -1).numpy()
    yy = y.reshape(-1).numpy()
    keep = yy >= 0
    nll = -logp[keep, yy[keep]]
    assert masked_ce(logits, y).item() == pytest.approx(nll.mean(), rel=1e-5)
    ww = w.numpy()[yy[keep]]
    assert masked_ce(logits, y, w).item() == pytest.approx((ww * nll).sum() / ww.sum(), rel=1e-5)
    assert masked_ce(logits, torch.full_like(y, -1)).item() == 0.0


def test_distillation_objective_sums_weighted_terms() -> None:
    g = torch.Generator().manual_seed(4)
    feats_s, feats_t = torch.randn(2, 4, 6, generator=g), torch.randn(2, 4, 6, generator=g)
    ls, lt = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    y = torch.tensor([[0, 1, 2], [3, -1, 0]])
    student = lambda x: (ls, {"bottleneck": feats_s})
    teacher = lambda x: (lt, {"bottleneck": feats_t})
    obj = Distillation(ce_weight=0.5, kd_weight=2.0, at_weight=3.0, temperature=2.0)
    out = obj(student, {"x": torch.zeros(1), "ecg": torch.zeros(1), "y": y}, teacher)
    expected = 0.5 * masked_ce(ls, y) + 2.0 * kd_loss(ls, lt, 2.0) + 3.0 * at_loss(feats_s, feats_t)
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ConfigError, match="needs a teacher"):
        obj(student, {"ecg": torch.zeros(1), "y": y})
    with pytest.raises(ConfigError, match="unknown at_layers"):
        Distillation(at_weight=1.0, at_layers=["enc9"])(student, {"x": 0, "ecg": 0, "y": y}, teacher)
    with pytest.raises(ConfigError, match="kd_weight"):
        Distillation(kd_weight=-1)


def test_precomputed_teacher_outputs_give_the_same_loss() -> None:
    """Training reads the frozen teacher's logits and attention maps from the batch (computed once);
    the loss must equal the one with the teacher run in the step, for maps of other lengths too."""
    g = torch.Generator().manual_seed(5)
    fs = {"bottleneck": torch.randn(2, 4, 6, generator=g), "enc0": torch.randn(2, 3, 12, generator=g)}
    ft = {"bottleneck": torch.randn(2, 8, 15, generator=g), "enc0": torch.randn(2, 5, 40, generator=g)}
    ls, lt = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    y = torch.tensor([[0, 1, 2], [3, -1, 0]])
    student = lambda x: (ls, fs)
    teacher = lambda x: (lt, ft)
    obj = Distillation(ce_weight=1.0, kd_weight=1.5, at_weight=2.0, temperature=3.0, at_layers=["bottleneck", "enc0"])
    batch = {"x": torch.zeros(1), "ecg": torch.zeros(1), "y": y}
    live = obj(student, batch, teacher)
    cached = obj.teacher_outputs(teacher, batch["x"])
    assert set(cached) == {"teacher_logits", "teacher_at_bottleneck", "teacher_at_enc0"}
    torch.testing.assert_close(cached["teacher_at_enc0"], attention_map(ft["enc0"]))
    out = obj(student, {**batch, **cached}, None)  # no teacher needed any more
    for key in ("loss", "sd", "at"):
        assert out[key].item() == pytest.approx(live[key].item(), rel=1e-5)
    assert at_loss_from_map(fs["enc0"], attention_map(ft["enc0"])).item() == pytest.approx(
        at_loss(fs["enc0"], ft["enc0"]).item(), rel=1e-5)
