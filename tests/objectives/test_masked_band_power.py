"""masked_band_power: the target against scipy's periodogram, the loss against its formula, masks, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import periodogram

from neurorep.encoders import create_encoder
from neurorep.encoders.registry import ENCODERS
from neurorep.errors import ConfigError
from neurorep.objectives import create_objective, list_objectives
from neurorep.objectives.masked import standardize
from neurorep.objectives.masked_band_power import log_band_power, masked_band_power_loss, patch_mask


def _encoder(n_channels: int = 3, n_times: int = 128) -> torch.nn.Module:
    return create_encoder("shallow", **ENCODERS.get("shallow").tiny_kwargs(n_channels, n_times))


@pytest.mark.parametrize("patch", [32, 33])
def test_log_band_power_is_the_log_mean_of_scipys_hann_periodogram(patch: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3 * patch + 5))
    sfreq, bands = 64.0, [(4.0, 8.0), (8.0, 13.0), (13.0, 30.0)]
    got = log_band_power(torch.from_numpy(x), sfreq, bands, patch).numpy()
    assert got.shape == (2, 3, 3, 3)
    for p in range(3):
        freqs, pxx = periodogram(x[..., p * patch:(p + 1) * patch], fs=sfreq, window="hann", detrend=False)
        for k, (low, high) in enumerate(bands):
            sel = (freqs >= low) & (freqs <= high)
            np.testing.assert_allclose(got[:, :, p, k], np.log(pxx[..., sel].mean(axis=-1) + 1e-6), rtol=1e-10)


def test_log_band_power_finds_a_sinusoid_in_its_band() -> None:
    sfreq, patch = 128.0, 128
    t = torch.arange(2 * patch, dtype=torch.float64) / sfreq
    x = torch.sin(2 * torch.pi * 10.0 * t).view(1, 1, -1)  # 10 Hz: the mu band
    power = log_band_power(x, sfreq, [(4.0, 8.0), (8.0, 13.0), (13.0, 30.0)], patch)[0, 0]
    assert (power[:, 1] > power[:, 0] + 5).all() and (power[:, 1] > power[:, 2] + 5).all()


def test_loss_is_the_mean_squared_error_over_hidden_cells_only() -> None:
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(2, 3, 4, 2, generator=g), torch.randn(2, 3, 4, 2, generator=g)
    patches = torch.tensor([[True, False, False, True], [False, True, False, False]])
    expected = sum(((pred[b, :, p] - target[b, :, p]) ** 2).sum().item()
                   for b in range(2) for p in range(4) if patches[b, p]) / (3 * 3 * 2)
    assert masked_band_power_loss(pred, target, patches[:, None, :]).item() == pytest.approx(expected, rel=1e-6)
    target_off_mask = torch.where(patches[:, None, :, None], target, torch.full_like(target, float("nan")))
    got = masked_band_power_loss(pred, target_off_mask, patches[:, None, :])
    assert got.item() == pytest.approx(expected, rel=1e-6)
    channels = torch.tensor([[False, True, False], [True, False, True]])
    expected = sum(((pred[b, c] - target[b, c]) ** 2).sum().item()
                   for b in range(2) for c in range(3) if channels[b, c]) / (3 * 4 * 2)
    assert masked_band_power_loss(pred, target, channels[:, :, None]).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="mask"):
        masked_band_power_loss(pred, target, patches[:, None, :3])


def test_patch_mask_hides_a_fixed_number_of_patches_and_never_all() -> None:
    m = patch_mask(50, 8, 0.5, torch.Generator().manual_seed(0))
    assert m.shape == (50, 8) and (m.sum(dim=1) == 4).all()
    assert (patch_mask(10, 4, 0.99).sum(dim=1) == 3).all()
    assert (patch_mask(10, 4, 0.01).sum(dim=1) == 1).all()


def test_objective_is_registered_and_hides_the_patches_it_scores() -> None:
    assert "masked_band_power" in list_objectives()
    enc = _encoder()
    obj = create_objective("masked_band_power", sfreq=64.0, patch_seconds=0.5, seed=0)
    obj.build(enc.embed_dim, 3, 128)
    x = torch.randn(4, 3, 128)
    seen: list[torch.Tensor] = []
    forward = enc.forward_features
    enc.forward_features = lambda inp: (seen.append(inp), forward(inp))[1]  # type: ignore[method-assign]
    out = obj(enc, {"x": x})
    # the masks are drawn from the seeded generator: re-draw them to check the zeroed samples
    mask = patch_mask(4, 4, 0.5, torch.Generator().manual_seed(0))
    zeroed = (seen[0] == 0).all(dim=1)  # [B, T]
    assert torch.equal(zeroed, mask.repeat_interleave(32, dim=1))
    raw = log_band_power(standardize(x), 64.0, [(4.0, 8.0), (8.0, 13.0), (13.0, 30.0)], 32)
    target = (raw - raw.mean(dim=(0, 2), keepdim=True)) / raw.std(dim=(0, 2), keepdim=True, unbiased=False)
    pred = obj.decoder(forward(seen[0]))
    assert out["loss"].item() == pytest.approx(masked_band_power_loss(pred, target, mask[:, None, :]).item(), rel=1e-5)
    out["loss"].backward()
    assert enc.temporal.weight.grad is not None and enc.temporal.weight.grad.abs().sum() > 0


def test_training_lowers_the_loss_below_predicting_the_mean() -> None:
    torch.manual_seed(0)
    sfreq, n = 64.0, 256
    t = torch.arange(n) / sfreq
    amp = torch.rand(64, 1, 1) * 3  # a 10 Hz rhythm whose amplitude is constant over each window
    x = amp * torch.sin(2 * torch.pi * 10 * t + torch.rand(64, 3, 1) * 6) + torch.randn(64, 3, n)
    enc = _encoder(3, n)
    obj = create_objective("masked_band_power", sfreq=sfreq, patch_seconds=0.5, bands=[[8, 13]], seed=0)
    obj.build(enc.embed_dim, 3, n)
    opt = torch.optim.Adam(list(enc.parameters()) + list(obj.parameters()), lr=1e-2)
    first = obj(enc, {"x": x})["explained"].item()
    for _ in range(150):
        out = obj(enc, {"x": x})
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert out["explained"].item() > max(0.2, first + 0.3)


def test_channel_mask_hides_whole_channels_and_scores_them() -> None:
    enc, x = _encoder(), torch.randn(4, 3, 128)
    obj = create_objective("masked_band_power", sfreq=64.0, mask="channels", mask_ratio=0.3, patch_seconds=1.0,
                           seed=0)
    obj.build(enc.embed_dim, 3, 128)
    seen: list[torch.Tensor] = []
    forward = enc.forward_features
    enc.forward_features = lambda inp: (seen.append(inp), forward(inp))[1]  # type: ignore[method-assign]
    out = obj(enc, {"x": x})
    channels = (seen[0] == 0).all(dim=2)  # [B, C]
    assert (channels.sum(dim=1) == 1).all()
    assert torch.equal(seen[0][~channels], x[~channels])
    raw = log_band_power(standardize(x), 64.0, [(4.0, 8.0), (8.0, 13.0), (13.0, 30.0)], 64)
    target = (raw - raw.mean(dim=(0, 2), keepdim=True)) / raw.std(dim=(0, 2), keepdim=True, unbiased=False)
    expected = masked_band_power_loss(obj.decoder(forward(seen[0])), target, channels[:, :, None])
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def _time_masked(enc: torch.nn.Module, x: torch.Tensor, target_norm: str) -> tuple:
    """The objective with ``target_norm`` run on ``x`` (half of 4 patches hidden, seed 0), its output, the raw
    log band power of ``x``, and the loss its decoder's prediction of the hidden input would have for a target."""
    obj = create_objective("masked_band_power", sfreq=64.0, target_norm=target_norm, seed=0)
    obj.build(enc.embed_dim, 3, 128)
    out = obj(enc, {"x": x})
    mask = patch_mask(4, 4, 0.5, torch.Generator().manual_seed(0))
    hidden = torch.where(mask.repeat_interleave(32, dim=1)[:, None, :], torch.zeros_like(x), x)
    raw = log_band_power(standardize(x), 64.0, [(4.0, 8.0), (8.0, 13.0), (13.0, 30.0)], 32)
    pred = obj.decoder(enc.forward_features(hidden))
    return obj, out, raw, lambda target: masked_band_power_loss(pred, target, mask[:, None, :]).item()


def test_target_norm_none_scores_the_raw_log_power() -> None:
    enc, x = _encoder(), torch.randn(4, 3, 128)
    obj, out, raw, expected_loss = _time_masked(enc, x, "none")
    assert out["loss"].item() == pytest.approx(expected_loss(raw), rel=1e-5)


def test_target_norm_spatial_scores_the_topography_of_the_log_power() -> None:
    enc, x = _encoder(), torch.randn(4, 3, 128)
    x[:, 0] *= 1 + torch.sin(torch.arange(128) * 0.8)  # a channel whose spectrum differs from the others'
    obj, out, raw, expected_loss = _time_masked(enc, x, "spatial")
    contrast = raw - raw.mean(dim=1, keepdim=True)  # each cell minus the mean over channels
    assert torch.allclose(contrast.sum(dim=1), torch.zeros(()), atol=1e-5)
    target = (contrast - contrast.mean(dim=(0, 2), keepdim=True)) / contrast.std(dim=(0, 2), keepdim=True,
                                                                                  unbiased=False)
    assert out["loss"].item() == pytest.approx(expected_loss(target), rel=1e-5)
    batch = create_objective("masked_band_power", sfreq=64.0, seed=0)
    batch.build(enc.embed_dim, 3, 128)
    batch.decoder.load_state_dict(obj.decoder.state_dict())
    assert batch(enc, {"x": x})["loss"].item() != pytest.approx(out["loss"].item(), rel=1e-3)


def test_bad_settings_are_config_errors_naming_the_option() -> None:
    with pytest.raises(ConfigError, match="bands"):
        create_objective("masked_band_power", sfreq=128.0, bands=[[8, 100]])
    with pytest.raises(ConfigError, match="bands"):
        create_objective("masked_band_power", sfreq=128.0, bands="mu")
    with pytest.raises(ConfigError, match="no frequency bin"):
        create_objective("masked_band_power", sfreq=128.0, patch_seconds=0.1, bands=[[8.5, 9.0]])
    with pytest.raises(ConfigError, match="target_norm"):
        create_objective("masked_band_power", target_norm="window")
    with pytest.raises(ConfigError, match="mask"):
        create_objective("masked_band_power", mask="sensors")
    with pytest.raises(ConfigError, match="mask_ratio"):
        create_objective("masked_band_power", mask_ratio=1.0)
    with pytest.raises(ConfigError, match="patch_seconds"):
        create_objective("masked_band_power", sfreq=128.0, patch_seconds=0.01)
    obj = create_objective("masked_band_power", sfreq=128.0, patch_seconds=1.0)
    with pytest.raises(ConfigError, match="at least 2"):
        obj.build(8, 3, 150)
    with pytest.raises(ConfigError, match="build"):
        obj(_encoder(), {"x": torch.randn(2, 3, 128)})
