"""Tests of the augmentation ops, their module wrappers and the span mask."""

from __future__ import annotations

import math

import pytest
import torch

from neurorep.errors import ConfigError
from neurorep.transforms import AUGMENTATIONS, Augment, Compose, build_augment, default_views
from neurorep.transforms import functional as F
from neurorep.transforms.functional import span_mask

OPS = sorted(AUGMENTATIONS)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def signal(b: int = 6, c: int = 3, t: int = 500, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, c, t, generator=gen(seed)) * 2.0 + 0.5


@pytest.mark.parametrize("name", OPS)
def test_p0_is_identity(name: str) -> None:
    x = signal()
    out = AUGMENTATIONS[name](x, p=0.0, generator=gen(1))
    assert torch.equal(out, x)


@pytest.mark.parametrize("name", OPS)
def test_p1_changes_every_sample_and_keeps_shape(name: str) -> None:
    x = signal()
    before = x.clone()
    out = AUGMENTATIONS[name](x, p=1.0, generator=gen(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(x, before), "input modified in place"
    for i in range(x.shape[0]):
        assert not torch.allclose(out[i], x[i]), f"{name} left sample {i} unchanged"


@pytest.mark.parametrize("name", OPS)
def test_same_seed_same_output(name: str) -> None:
    x = signal()
    a = AUGMENTATIONS[name](x, p=0.5, generator=gen(7))
    b = AUGMENTATIONS[name](x, p=0.5, generator=gen(7))
    assert torch.equal(a, b)
    torch.manual_seed(3)
    c = AUGMENTATIONS[name](x, p=0.5, generator=None)
    torch.manual_seed(3)
    assert torch.equal(c, AUGMENTATIONS[name](x, p=0.5, generator=None))


def test_p_selects_about_p_of_samples() -> None:
    x = signal(b=400, c=1, t=20)
    out = F.sign_flip(x, p=0.3, generator=gen(2))
    frac = (out[:, 0, 0] != x[:, 0, 0]).float().mean().item()
    assert 0.22 < frac < 0.38


def test_band_stop_removes_energy_in_band() -> None:
    sfreq, t = 100.0, 1000
    time = torch.arange(t) / sfreq
    x = (torch.sin(2 * math.pi * 5.0 * time) + torch.sin(2 * math.pi * 20.0 * time)).repeat(4, 2, 1)
    out = F.band_stop(x, p=1.0, sfreq=sfreq, min_freq=3.0, max_freq=7.0, bandwidth=4.0, generator=gen(0))
    spec_in = torch.fft.rfft(x, dim=-1).abs() ** 2
    spec_out = torch.fft.rfft(out, dim=-1).abs() ** 2
    freqs = torch.fft.rfftfreq(t, 1 / sfreq)
    b5, b20 = int(torch.argmin((freqs - 5).abs())), int(torch.argmin((freqs - 20).abs()))
    assert (spec_out[..., b5] < 1e-6 * spec_in[..., b5]).all()
    torch.testing.assert_close(spec_out[..., b20], spec_in[..., b20], rtol=1e-3, atol=1e-3)


def test_time_shift_modes() -> None:
    x = signal(b=4, c=2, t=200)
    circ = F.time_shift(x, p=1.0, max_shift=0.2, mode="circular", generator=gen(0))
    torch.testing.assert_close(circ.sort(dim=-1).values, x.sort(dim=-1).values)
    zero = F.time_shift(x, p=1.0, max_shift=0.2, mode="zero", generator=gen(0))
    for i in range(4):
        n_zero = int((zero[i, 0] == 0).sum())
        assert 1 <= n_zero <= 40
        shift = n_zero if zero[i, 0, 0] == 0 else -n_zero
        torch.testing.assert_close(circ[i], torch.roll(x[i], shift, dims=-1))


def test_time_mask_zeroes_one_contiguous_span_on_all_channels() -> None:
    x = signal(b=5, c=3, t=300)
    out = F.time_mask(x, p=1.0, max_len=0.2, generator=gen(0))
    for i in range(5):
        zeroed = (out[i] == 0).all(dim=0)
        idx = torch.nonzero(zeroed).flatten()
        assert 1 <= len(idx) <= 60
        assert int(idx[-1] - idx[0]) + 1 == len(idx)
        assert torch.equal(out[i][:, ~zeroed], x[i][:, ~zeroed])


def test_channel_dropout_keeps_a_channel() -> None:
    x = signal(b=50, c=2, t=10)
    out = F.channel_dropout(x, p=1.0, drop_prob=1.0, generator=gen(0))
    dropped = (out == 0).all(dim=-1)
    assert (dropped.sum(dim=1) == 1).all()
    single = F.channel_dropout(signal(b=3, c=1, t=10), p=1.0, generator=gen(0))
    assert (single == 0).all()


def test_additive_noise_is_relative_to_std() -> None:
    x = signal(b=2, c=1, t=20000) * 1e-5
    out = F.additive_noise(x, p=1.0, sigma=0.1, generator=gen(0))
    ratio = ((out - x).std(dim=-1) / x.std(dim=-1)).flatten()
    torch.testing.assert_close(ratio, torch.full_like(ratio, 0.1), rtol=0.05, atol=0)


def test_amplitude_scale_range() -> None:
    x = torch.ones(200, 1, 4)
    out = F.amplitude_scale(x, p=1.0, low=0.5, high=2.0, generator=gen(0))
    f = out[:, 0, 0]
    assert (f >= 0.5).all() and (f <= 2.0).all() and (out == f.view(-1, 1, 1)).all()


def test_bad_op_arguments_raise_config_error() -> None:
    x = signal()
    with pytest.raises(ConfigError, match="p must be"):
        F.sign_flip(x, p=1.5)
    with pytest.raises(ConfigError, match="mode"):
        F.time_shift(x, mode="wrap")
    with pytest.raises(ConfigError, match="max_freq"):
        F.band_stop(x, sfreq=50.0, max_freq=40.0)
    with pytest.raises(ConfigError, match=r"\[B, C, T\]"):
        F.sign_flip(x[0])


# --------------------------------------------------------------------------- span_mask


@pytest.mark.parametrize(("ratio", "span"), [(0.5, 50), (0.3, 25), (0.75, 100)])
def test_span_mask_ratio_and_contiguity(ratio: float, span: int) -> None:
    b, c, t = 32, 2, 3000
    mask = span_mask(b, c, t, mask_ratio=ratio, span=span, generator=gen(0))
    assert mask.shape == (b, c, t) and mask.dtype == torch.bool
    assert torch.equal(mask[:, 0], mask[:, 1])  # same times on every channel
    assert abs(mask.float().mean().item() - ratio) < 0.03
    for i in range(b):
        row = mask[i, 0].int()
        edges = torch.diff(torch.cat([torch.zeros(1, dtype=torch.int32), row, torch.zeros(1, dtype=torch.int32)]))
        starts, ends = torch.nonzero(edges == 1).flatten(), torch.nonzero(edges == -1).flatten()
        lengths = ends - starts
        inner = (starts > 0) & (ends < t)  # runs touching the window edge may be cut
        assert (lengths[inner] >= span).all()
        assert (lengths[inner] % span == 0).all()


def test_span_mask_seeded_and_channels() -> None:
    a = span_mask(4, 3, 500, 0.5, 25, generator=gen(1))
    assert torch.equal(a, span_mask(4, 3, 500, 0.5, 25, generator=gen(1)))
    assert not torch.equal(a, span_mask(4, 3, 500, 0.5, 25, generator=gen(2)))
    m = span_mask(8, 4, 500, mask_ratio=0.2, span=25, channel_ratio=0.5, generator=gen(0))
    whole = m.all(dim=-1)
    assert (whole.sum(dim=1) >= 2).all()
    assert not m.all(dim=-1).all(dim=1).any()
    assert span_mask(2, 1, 100, 0.0, 10).sum() == 0
    assert span_mask(2, 1, 100, 1.0, 10).all()
    with pytest.raises(ConfigError, match="mask_ratio"):
        span_mask(2, 1, 100, 1.5, 10)


# --------------------------------------------------------------------------- modules


def test_augment_unknown_name_suggests() -> None:
    with pytest.raises(ConfigError) as info:
        Augment("time_shfit", p=0.5)
    msg = str(info.value)
    assert "did you mean 'time_shift'" in msg and "band_stop" in msg


def test_augment_unknown_param_lists_allowed() -> None:
    with pytest.raises(ConfigError, match="allowed parameters are: max_shift, mode"):
        Augment("time_shift", p=0.5, max_shfit=0.2)
    with pytest.raises(ConfigError, match="unknown key"):
        build_augment({"name": "sign_flip", "prob": 0.5})


def test_compose_from_spec_is_reproducible() -> None:
    spec = [{"name": "amplitude_scale", "p": 1.0, "params": {"low": 0.9, "high": 1.1}},
            {"name": "time_mask", "p": 1.0, "params": {"max_len": 0.05}}]
    pipe = Compose(spec)
    assert pipe.spec() == spec and len(pipe) == 2
    x = signal()
    assert torch.equal(pipe(x, gen(3)), pipe(x, gen(3)))
    expected = F.time_mask(F.amplitude_scale(x, 1.0, 0.9, 1.1, generator=(g := gen(3))), 1.0, 0.05, generator=g)
    assert torch.equal(pipe(x, gen(3)), expected)


def test_default_views() -> None:
    views = default_views(sfreq=100.0)
    names = [a.name for a in views.augments]
    assert {"amplitude_scale", "time_shift", "band_stop", "channel_dropout"} <= set(names)
    assert "channel_dropout" not in [a.name for a in default_views(n_channels=1).augments]
    low = default_views(sfreq=50.0)
    assert next(a for a in low.augments if a.name == "band_stop").params["max_freq"] <= 25.0
    x = signal(b=4, c=2, t=3000)
    v1, v2 = views(x, gen(0)), views(x, gen(1))
    assert v1.shape == x.shape and not torch.equal(v1, v2) and torch.isfinite(v1).all()
    custom = default_views([{"name": "sign_flip", "p": 1.0}])
    assert torch.equal(custom(x), -x)
    with pytest.raises(ConfigError):
        default_views({"name": "sign_flip"})  # type: ignore[arg-type]
