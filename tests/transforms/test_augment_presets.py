"""Per-task augmentation presets: they build, and they keep the bands their task is decided on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorep.errors import ConfigError
from neurorep.objectives import create_objective
from neurorep.transforms.augment import AUGMENT_PRESETS, default_views, resolve_augmentations

SFREQ = 100.0


def _band_share(x: torch.Tensor, lo: float, hi: float) -> np.ndarray:
    """Share of each sample-channel's power in [lo, hi] Hz, ``[B, C]`` (NaN for a zeroed channel)."""
    spec = np.abs(np.fft.rfft(x.double().numpy(), axis=-1)) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / SFREQ)
    total = spec.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, spec[..., (f >= lo) & (f <= hi)].sum(-1) / total, np.nan)


def _rhythm(freqs: tuple[float, ...], batch: int = 64, channels: int = 4) -> torch.Tensor:
    t = torch.arange(int(4 * SFREQ)) / SFREQ
    g = torch.Generator().manual_seed(0)
    x = sum(torch.sin(2 * torch.pi * f * t + 6.28 * torch.rand(batch, channels, 1, generator=g)) for f in freqs)
    return x + 0.05 * torch.randn(batch, channels, len(t), generator=g)


@pytest.mark.parametrize(("preset", "freqs", "band"), [("motor", (10.0, 20.0), (8.0, 30.0)),
                                                       ("ssvep", (13.0, 26.0), (12.0, 27.0)),
                                                       ("sleep", (13.0,), (11.0, 16.0)),
                                                       ("clinical", (6.0,), (4.0, 8.0))])
def test_presets_keep_the_task_band(preset: str, freqs: tuple[float, ...], band: tuple[float, float]) -> None:
    entries = [{**e, "p": 1.0} for e in resolve_augmentations(preset)]  # every transform, every time
    views = default_views(entries, sfreq=SFREQ, n_channels=4)
    x = _rhythm(freqs)
    before, after = _band_share(x, *band), _band_share(views(x, generator=torch.Generator().manual_seed(1)), *band)
    kept = after[np.isfinite(after)]
    assert kept.size > 0.5 * after.size
    assert kept.min() > 0.75 * before.min()  # the band still holds most of the power in every view


def test_a_band_stop_view_can_erase_the_band() -> None:
    """The check above can fail: the default views' notch, aimed at the rhythm, removes it."""
    notch = [{"name": "band_stop", "p": 1.0, "params": {"min_freq": 8.0, "max_freq": 12.0, "bandwidth": 4.0}}]
    x = _rhythm((10.0,))
    after = _band_share(default_views(notch, sfreq=SFREQ)(x, generator=torch.Generator().manual_seed(1)), 8.0, 12.0)
    assert np.nanmedian(after) < 0.5 * np.nanmedian(_band_share(x, 8.0, 12.0))


def test_no_preset_band_stops_and_names_resolve() -> None:
    for name, entries in AUGMENT_PRESETS.items():
        assert "band_stop" not in {e["name"] for e in entries}, name
        assert resolve_augmentations(name) == entries and resolve_augmentations(name) is not entries
    assert resolve_augmentations(None) is None
    with pytest.raises(ConfigError, match="did you mean 'motor'"):
        resolve_augmentations("motr")
    with pytest.raises(ConfigError, match="preset name"):
        resolve_augmentations({"name": "time_mask"})  # type: ignore[arg-type]
    # single-channel data: channel dropout is left out of any pipeline
    assert "channel_dropout" not in [a.name for a in default_views(resolve_augmentations("sleep"),
                                                                    n_channels=1).augments]


def test_objectives_take_a_preset_name() -> None:
    crl = create_objective("contrastive", augmentations="motor", sfreq=SFREQ)
    assert [a.name for a in crl.views.augments] == [e["name"] for e in AUGMENT_PRESETS["motor"]]
    hybrid = create_objective("hybrid", augmentations="ssvep", sfreq=SFREQ)
    assert [a.name for a in hybrid.contrastive.views.augments] == [e["name"] for e in AUGMENT_PRESETS["ssvep"]]
