"""The eeg_foundation model: patch grid, multi-scale and channel attention, presets, head, saving."""

from __future__ import annotations

import pytest
import torch

from neurorep.encoders.eeg_foundation import (
    PRESETS,
    EEGFoundationConfig,
    EEGFoundationModel,
)
from neurorep.encoders.foundation_blocks import patch_grid, samples_mask
from neurorep.errors import ConfigError, DataError
from neurorep.models import create_model, model_presets

TINY = {"n_channels": 3, "n_times": 400, "d_model": 16, "n_heads": 2, "n_layers": 2, "d_ff": 32,
        "patch_size": 40, "overlap": 20, "dropout": 0.0}


def _model(**kw: object) -> EEGFoundationModel:
    torch.manual_seed(0)
    m = create_model("eeg_foundation", **{**TINY, **kw})
    assert isinstance(m, EEGFoundationModel)
    return m.eval()


def test_patch_grid_covers_every_sample() -> None:
    g = patch_grid(400, 40, 20)
    assert (g.stride, g.n_patches, g.pad) == (20, 19, 0)
    g = patch_grid(410, 40, 20)  # 10 samples left over: one more patch, padded by 10
    assert (g.n_patches, g.pad) == (20, 10)
    assert (g.n_patches - 1) * g.stride + g.patch_size == 410 + g.pad
    assert patch_grid(10000, 200, 100).n_patches == 99  # 50 s at 200 Hz, 1-s patches, 50 % overlap
    mask = torch.zeros(1, 1, 19, dtype=torch.bool)
    mask[0, 0, 3] = True
    hidden = samples_mask(mask, patch_grid(400, 40, 20))
    assert hidden.shape == (1, 1, 400)
    assert hidden[0, 0].nonzero().flatten().tolist() == list(range(60, 100))


def test_shapes_and_embeddings() -> None:
    m = _model()
    x = torch.randn(2, 3, 400)
    tokens = m.encode_tokens(x)
    assert tokens.shape == (2, 3, 19, 16)
    assert m.forward_features(x).shape == (2, 19, 16)
    torch.testing.assert_close(m.get_embeddings(x), tokens.mean(dim=(1, 2)))


def test_channel_attention_mixes_electrodes_and_can_be_turned_off() -> None:
    x = torch.randn(1, 3, 400)
    y = x.clone()
    y[0, 2] += torch.randn(400)  # change only electrode 2
    with_ca, without = _model(), _model(use_channel_attention=False)
    with torch.no_grad():
        # electrode 0's tokens depend on electrode 2 only through cross-channel attention
        d_with = (with_ca.encode_tokens(x)[0, 0] - with_ca.encode_tokens(y)[0, 0]).abs().max()
        d_without = (without.encode_tokens(x)[0, 0] - without.encode_tokens(y)[0, 0]).abs().max()
    assert d_with > 1e-4 and d_without == 0
    assert sum(p.numel() for p in without.parameters()) < sum(p.numel() for p in with_ca.parameters())


def test_multi_scale_sees_longer_context() -> None:
    single, multi = _model(use_multi_scale=False), _model(scale_factors=[1, 2, 4, 8])
    assert len(single.embed.patches.embeds) == 1 and len(multi.embed.patches.embeds) == 4
    x = torch.randn(1, 3, 400)
    y = x.clone()
    y[..., 100:170] += 1.0  # outside patch 0 (samples 0-39) at scale 1, inside its scale-8 context
    with torch.no_grad():
        d_single = (single.embed(x, single.grid) - single.embed(y, single.grid))[0, :, 0].abs().max()
        d_multi = (multi.embed(x, multi.grid) - multi.embed(y, multi.grid))[0, :, 0].abs().max()
    assert d_single == 0 and d_multi > 0


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"overlap": 40}, "overlap=40 must be smaller than patch_size=40"),
    ({"d_model": 30, "n_heads": 4}, "d_model=30 must be divisible by n_heads=4"),
    ({"scale_factors": [2, 4]}, "including 1"),
    ({"max_seq_length": 10}, "max_seq_length=10"),
    ({"dropout": 1.5}, "dropout"),
    ({"n_head": 2}, "n_head"),
])
def test_bad_config_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        _model(**kwargs)


def test_input_longer_than_position_table_is_data_error() -> None:
    m = _model(max_seq_length=19)
    with pytest.raises(DataError, match="max_seq_length=19"):
        m(torch.randn(1, 3, 800))


def test_head_is_saved_and_loaded(tmp_path) -> None:
    m = _model()
    head = m.add_classification_head(6, dropout=0.1)
    assert m.config["n_classes"] == 6 and isinstance(head, torch.nn.Module)
    x = torch.randn(2, 3, 400)
    logits = m.eval().classify(x)
    assert logits.shape == (2, 6)
    m.save_pretrained(tmp_path / "clf")
    loaded = EEGFoundationModel.from_pretrained(tmp_path / "clf")
    torch.testing.assert_close(loaded.classify(x), logits, rtol=0, atol=0)
    m.remove_classification_head()
    with pytest.raises(ConfigError, match="add_classification_head"):
        m.classify(x)


def test_presets_have_the_advertised_sizes() -> None:
    assert set(model_presets("eeg_foundation")) == set(PRESETS) >= {"small", "medium", "large"}
    sizes = {}
    for name in ("small", "medium", "large"):
        with torch.device("meta"):  # no memory, no compute
            m = create_model("eeg_foundation", preset=name, n_channels=19, n_times=10000)
        sizes[name] = sum(p.numel() for p in m.parameters()) / 1e6
    assert 20 < sizes["small"] < 30 and 85 < sizes["medium"] < 115 and 320 < sizes["large"] < 380, sizes
    with pytest.raises(ConfigError, match="did you mean 'small'"):
        create_model("eeg_foundation", preset="smal")


def test_config_defaults_are_hms_shaped() -> None:
    cfg = EEGFoundationConfig()
    assert (cfg.n_channels, cfg.n_times, cfg.scale_factors) == (19, 10000, [1, 2, 4, 8])
    m = EEGFoundationModel.from_config(cfg.model_copy(update={"n_layers": 1, "d_model": 16, "n_heads": 2, "d_ff": 16}))
    assert m.n_tokens == 99 and len(m.layer_groups()) == 3


def test_base_preset_is_cbramod_sized_without_overlap() -> None:
    with torch.device("meta"):
        m = create_model("eeg_foundation", preset="base", n_channels=19, n_times=2000)
    assert 4.5 < sum(p.numel() for p in m.parameters()) / 1e6 < 5.1
    assert m.cfg.overlap == 0 and m.n_tokens == 10  # half the 19 tokens of 50 % overlap


def test_attention_dropout_defaults_to_dropout_and_can_be_zero(tmp_path) -> None:
    def attn_drops(m: EEGFoundationModel) -> list[float]:
        return [b.attn_t.dropout for b in m.blocks] + [b.attn_c.dropout for b in m.blocks]

    assert attn_drops(_model(dropout=0.2)) == [0.2] * 4
    m = _model(dropout=0.2, attention_dropout=0.0)
    assert attn_drops(m) == [0.0] * 4 and m.blocks[0].drop.p == 0.2
    m.save_pretrained(tmp_path / "m")
    assert attn_drops(EEGFoundationModel.from_pretrained(tmp_path / "m")) == [0.0] * 4
    x = torch.randn(2, 3, 400)
    m.train()
    assert torch.equal(m(x), m(x)) is False  # residual dropout still active
    m2 = _model(dropout=0.0, attention_dropout=0.0).train()
    assert torch.equal(m2(x), m2(x))
