"""Denoising, masked-sensor and masked-sequence objectives: losses against their formulas, masks, parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.errors import ConfigError
from neurorep.objectives import create_objective
from neurorep.objectives.denoising import add_noise, denoising_mse
from neurorep.objectives.masked_sensor import masked_sensor_mse, sensor_mask
from neurorep.objectives.masked_sequence import (
    masked_steps_mse,
    step_mask,
    steps_to_samples,
)


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def tiny_meg(n_channels: int = 6, n_times: int = 40) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_encoder("meg_cnn_transformer", n_channels=n_channels, n_times=n_times, frame=10,
                          cnn_channels=[4], embed_dim=8, n_layers=1, n_heads=2)


def test_denoising_mse_is_mean_squared_error() -> None:
    pred, clean = _rand(2, 3, 50, seed=1), _rand(2, 3, 50, seed=2)
    expected = np.mean((pred.numpy() - clean.numpy()) ** 2)
    assert denoising_mse(pred, clean).item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(denoising_mse(pred, clean), torch.nn.functional.mse_loss(pred, clean))
    with pytest.raises(ValueError, match="shapes differ"):
        denoising_mse(pred, clean[:, :2])


def test_add_noise_scales_with_channel_sd() -> None:
    x = torch.cat([_rand(1, 1, 20000, seed=3) * 5.0, _rand(1, 1, 20000, seed=4) * 0.1], dim=1)
    noise = add_noise(x, 0.5, torch.Generator().manual_seed(0)) - x
    sd = noise.std(dim=-1).squeeze()
    assert sd[0].item() == pytest.approx(2.5, rel=0.03) and sd[1].item() == pytest.approx(0.05, rel=0.03)


def test_sensor_mask_counts_and_masked_sensor_loss_formula() -> None:
    m = sensor_mask(5, 20, 0.25, torch.Generator().manual_seed(0))
    assert m.shape == (5, 20) and (m.sum(1) == 5).all()
    assert not torch.equal(m[0], m[1])  # drawn per window
    assert (sensor_mask(2, 4, 0.99).sum(1) == 3).all() and (sensor_mask(2, 10, 0.01).sum(1) == 1).all()
    pred, target = _rand(5, 20, 30, seed=5), _rand(5, 20, 30, seed=6)
    p, t, mm = pred.numpy(), target.numpy(), m.numpy()
    expected = sum(((p[b, c] - t[b, c]) ** 2).sum() for b in range(5) for c in range(20) if mm[b, c]) / (mm.sum() * 30)
    assert masked_sensor_mse(pred, target, m).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ConfigError, match="at least 2 channels"):
        sensor_mask(1, 1, 0.5)


def test_step_mask_and_masked_steps_loss_formula() -> None:
    m = step_mask(4, 10, 0.3, torch.Generator().manual_seed(1))
    assert (m.sum(1) == 3).all()
    samples = steps_to_samples(m, 40)
    assert samples.shape == (4, 40)
    np.testing.assert_array_equal(samples.numpy(), np.repeat(m.numpy(), 4, axis=1))
    pred, target = _rand(4, 3, 40, seed=7), _rand(4, 3, 40, seed=8)
    sq = (pred.numpy() - target.numpy()) ** 2
    sel = np.repeat(m.numpy(), 4, axis=1)[:, None, :].repeat(3, axis=1)
    assert masked_steps_mse(pred, target, m).item() == pytest.approx(sq[sel].mean(), rel=1e-5)
    # steps that do not divide T: sample t belongs to step floor(t * N / T)
    uneven = steps_to_samples(torch.tensor([[True, False, False]]), 10)
    assert uneven[0].tolist() == [True] * 4 + [False] * 6


def test_masked_sensor_loss_ignores_visible_sensors() -> None:
    enc = tiny_meg().eval()  # no dropout: the recomputation below sees the same network
    obj = create_objective("masked_sensor", mask_ratio=0.5, seed=0)
    obj.build(8, 6, 40)
    x = _rand(3, 6, 40, seed=9)
    out = obj(enc, {"x": x})
    # recompute with the same mask: hidden sensors zeroed, loss on hidden sensors only
    m = sensor_mask(3, 6, 0.5, torch.Generator().manual_seed(0))
    from neurorep.objectives.masked import standardize

    pred = obj.decoder(enc.spatial_features(torch.where(m[:, :, None], torch.zeros_like(x), x)))
    torch.testing.assert_close(out["loss"], masked_sensor_mse(pred, standardize(x), m))


@pytest.mark.parametrize("name", ["denoising", "masked_sensor"])
def test_spatial_objectives_train_only_the_cnn(name: str) -> None:
    enc = tiny_meg()
    obj = create_objective(name, seed=0)
    obj.build(8, 6, 40)
    obj(enc, {"x": _rand(2, 6, 40)})["loss"].backward()
    grads = {n: p.grad for n, p in enc.named_parameters()}
    assert all(grads[n] is not None for n in grads if n.startswith(("cnn.", "proj.")))
    assert all(grads[n] is None for n in grads if n.startswith(("transformer.", "pos_embed")))


def test_masked_sequence_trains_transformer_and_works_on_any_encoder() -> None:
    enc = tiny_meg()
    for p in enc.cnn.parameters():
        p.requires_grad_(False)
    obj = create_objective("masked_sequence", mask_ratio=0.5, seed=0)
    obj.build(8, 6, 40)
    out = obj(enc, {"x": _rand(2, 6, 40)})
    out["loss"].backward()
    assert enc.transformer.layers[0].linear1.weight.grad is not None and obj.mask_token.grad is not None
    assert torch.isfinite(out["loss"]) and out["masked_sequence_mse"].requires_grad is False
    from neurorep.encoders import ENCODERS

    cnn = create_encoder("cnn", **ENCODERS.get("cnn").tiny_kwargs(2, 3000))
    gen = create_objective("masked_sequence", n_steps=10, seed=0)
    gen.build(cnn.embed_dim, 2, 3000)
    assert torch.isfinite(gen(cnn, {"x": _rand(2, 2, 3000)})["loss"])


def test_bad_arguments_and_unbuilt_objective() -> None:
    with pytest.raises(ConfigError, match="noise_std"):
        create_objective("denoising", noise_std=0)
    with pytest.raises(ConfigError, match="mask_ratio"):
        create_objective("masked_sensor", mask_ratio=1.5)
    with pytest.raises(ConfigError, match="n_steps"):
        create_objective("masked_sequence", n_steps=0)
    with pytest.raises(ConfigError, match="call build"):
        create_objective("denoising")(tiny_meg(), {"x": _rand(1, 6, 40)})
    obj = create_objective("denoising")
    obj.build(8, 6, 40)
    with pytest.raises(ConfigError, match="built for windows of 6 channels x 40"):
        obj(tiny_meg(), {"x": _rand(1, 6, 50)})
