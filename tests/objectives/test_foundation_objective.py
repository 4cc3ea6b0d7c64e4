"""The foundation objective: patches, the masked-patch loss against its formula, masking, weighting."""

from __future__ import annotations

import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.encoders.foundation_blocks import patch_grid
from neurorep.errors import ConfigError
from neurorep.models import create_model
from neurorep.objectives import create_objective
from neurorep.objectives.contrastive import nt_xent
from neurorep.objectives.foundation import (
    FoundationPretraining,
    masked_patch_mse,
    patchify,
    random_patch_mask,
)

TINY = {"n_channels": 3, "n_times": 400, "d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32, "patch_size": 40,
        "overlap": 20, "scale_factors": [1, 2]}


def test_patchify_matches_slicing() -> None:
    x = torch.randn(2, 3, 410)
    g = patch_grid(410, 40, 20)
    p = patchify(x, g)
    assert p.shape == (2, 3, g.n_patches, 40)
    torch.testing.assert_close(p[:, :, 5], x[:, :, 100:140])
    torch.testing.assert_close(p[:, :, -1, :30], x[:, :, 380:410])
    assert (p[:, :, -1, 30:] == 0).all()  # right padding


def test_masked_patch_mse_formula_and_gradient() -> None:
    pred = torch.randn(2, 3, 5, 4, requires_grad=True)
    target = torch.randn(2, 3, 5, 4)
    mask = torch.zeros(2, 3, 5, dtype=torch.bool)
    mask[0, 1, 2] = mask[1, 0, 4] = True
    expected = ((pred[0, 1, 2] - target[0, 1, 2]) ** 2).sum() + ((pred[1, 0, 4] - target[1, 0, 4]) ** 2).sum()
    loss = masked_patch_mse(pred, target, mask)
    torch.testing.assert_close(loss, expected / 8)
    loss.backward()
    assert pred.grad[~mask].abs().sum() == 0 and pred.grad[mask].abs().sum() > 0  # loss on masked patches only


def test_random_patch_mask_hides_the_ratio_per_channel() -> None:
    m = random_patch_mask(4, 3, 20, 0.3, torch.Generator().manual_seed(0))
    assert m.shape == (4, 3, 20) and (m.sum(-1) == 6).all()
    assert not torch.equal(m[0, 0], m[0, 1])  # channels are masked independently


def _objective(**kw: object) -> tuple[torch.nn.Module, FoundationPretraining]:
    torch.manual_seed(0)
    model = create_model("eeg_foundation", **TINY)
    obj = FoundationPretraining.from_model_config(model.cfg, sfreq=100.0, seed=0, **kw)
    obj.build(model.embed_dim, 3, 400)
    return model, obj


def test_loss_is_the_weighted_sum_and_reaches_every_part() -> None:
    model, obj = _objective(reconstruction_weight=2.0, contrastive_weight=0.5)
    out = obj(model, {"x": torch.randn(6, 3, 400)})
    torch.testing.assert_close(out["loss"], 2.0 * out["masked_mse"] + 0.5 * out["nt_xent"])
    out["loss"].backward()
    assert obj.mask_token.grad.abs().sum() > 0 and obj.recon.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in obj.projector.parameters())
    # one part alone
    model, obj = _objective(contrastive_weight=0.0)
    assert set(obj(model, {"x": torch.randn(4, 3, 400)})) == {"loss", "masked_mse"} and obj.projector is None


def test_contrastive_part_is_nt_xent_of_the_views() -> None:
    model, obj = _objective(reconstruction_weight=0.0)
    model.eval()
    obj.eval()
    x = torch.randn(4, 3, 400)
    gen_state = obj.generator.get_state()
    out = obj(model, {"x": x})
    obj.generator.set_state(gen_state)
    v1, v2 = obj.views(x, generator=obj.generator), obj.views(x, generator=obj.generator)
    z1, z2 = obj.projector(model(torch.cat([v1, v2]))).chunk(2)
    torch.testing.assert_close(out["nt_xent"], nt_xent(z1, z2, 0.1))
    torch.testing.assert_close(out["loss"], 0.5 * nt_xent(z1, z2, 0.1))  # the model config's contrastive_weight


def test_hidden_samples_do_not_reach_the_encoder() -> None:
    """Changing the samples of masked patches does not change the loss inputs (only the target)."""
    model, obj = _objective(contrastive_weight=0.0)
    model.eval()
    x = torch.randn(2, 3, 400)
    seen = []
    orig = model.encode_tokens
    model.encode_tokens = lambda xin, pm, mt: (seen.append((xin.clone(), pm.clone())), orig(xin, pm, mt))[1]
    obj(model, {"x": x})
    xin, pm = seen[0]
    from neurorep.encoders.foundation_blocks import samples_mask

    hidden = samples_mask(pm, obj.grid)
    assert hidden.any() and (xin[hidden] == 0).all() and torch.equal(xin[~hidden], x[~hidden])


def test_generic_encoders_use_the_signal_path() -> None:
    enc = create_encoder("cnn", n_channels=3, n_times=400, n_filters=8, embed_dim=16, first_kernel=10, first_stride=2,
                         first_pool=2, last_pool=2)
    obj = create_objective("foundation", patch_size=40, overlap=20, token_level=False, sfreq=100.0, seed=0)
    obj.build(16, 3, 400)
    out = obj(enc, {"x": torch.randn(4, 3, 400)})
    assert torch.isfinite(out["loss"]) and "masked_mse" in out
    token = create_objective("foundation", patch_size=40, overlap=20, contrastive_weight=0.0)
    token.build(16, 3, 400)
    with pytest.raises(ConfigError, match="token_level: false"):
        token(enc, {"x": torch.randn(4, 3, 400)})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"mask_ratio": 1.0}, "mask_ratio"),
    ({"overlap": 200}, "overlap"),
    ({"reconstruction_weight": 0, "contrastive_weight": 0}, "both 0"),
    ({"temperature": 0}, "temperature"),
])
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        create_objective("foundation", **kwargs)


def test_masked_pretraining_learns() -> None:
    """A few steps on structured signals lower the masked loss well below its starting value."""
    torch.manual_seed(0)
    model, obj = _objective(contrastive_weight=0.0)
    opt = torch.optim.Adam(list(model.parameters()) + list(obj.parameters()), lr=3e-3)
    t = torch.arange(400) / 100.0
    x = torch.sin(2 * torch.pi * 3 * t)[None, None].repeat(8, 3, 1) * torch.rand(8, 3, 1).add(0.5)
    losses = []
    for _ in range(40):
        loss = obj(model, {"x": x})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
