"""Published-model encoders reproduce the reference implementation (braindecode 1.8.1) on fixtures.

The fixtures under ``tests/fixtures/published/`` were made by ``make_fixtures.py`` there, in a
scratch environment holding the reference; each holds the reference's state dict, an input and
the reference's outputs and features.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from neurorep.encoders import ENCODERS, create_encoder
from neurorep.encoders.published import PublishedModel
from neurorep.errors import ConfigError, DataError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.safetensors"))
TOLERANCE = 1e-4


def rel_max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """``max |a - b| / max |b|``."""
    return float((a - b).abs().max() / b.abs().max())


def fixture(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    path = FIXTURES / f"{name}.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    config = json.loads(meta["config"])
    config.update(json.loads(meta.get("forward_kwargs", "{}")))  # LaBraM's ch_names
    return config, load_file(str(path))


def reference_model(name: str) -> tuple[PublishedModel, dict[str, torch.Tensor]]:
    config, tensors = fixture(name)
    kwargs = ENCODERS.get(name).kwargs_from_reference(config)
    model = PublishedModel(create_encoder(name, **kwargs), n_outputs=config["n_outputs"])
    state = {k[len("state."):]: v for k, v in tensors.items() if k.startswith("state.")}
    model.load_reference_state(state, source=name)
    return model.eval(), tensors


def test_fixtures_present() -> None:
    assert {"cbramod", "biot", "labram", "eegpt"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_forward_and_features_match_reference(name: str) -> None:
    model, t = reference_model(name)
    with torch.no_grad():
        out, feats = model(t["x"]), model.forward_features(t["x"])
    assert out.shape == t["out"].shape and feats.shape == t["features"].shape
    assert rel_max_diff(out, t["out"]) <= TOLERANCE
    assert rel_max_diff(feats, t["features"]) <= TOLERANCE
    # the generic encoder contract on top: tokens whose mean is the embedding
    with torch.no_grad():
        tokens, pooled = model.encoder.forward_features(t["x"]), model.encoder(t["x"])
    assert tokens.shape[-1] == model.encoder.embed_dim
    if feats.dim() == 2:  # pooled reference features are the token mean
        assert rel_max_diff(pooled, feats) <= TOLERANCE
    else:
        assert rel_max_diff(tokens, feats.reshape(tokens.shape)) <= TOLERANCE


@pytest.mark.parametrize("name", NAMES)
def test_reference_state_round_trip(name: str) -> None:
    model, t = reference_model(name)
    saved = model.reference_state_dict()
    expected = {k[len("state."):] for k in t if k.startswith("state.")}
    assert set(saved) == expected


@pytest.mark.parametrize("name", NAMES)
def test_strict_loading_names_every_bad_key(name: str) -> None:
    model, t = reference_model(name)
    state = model.reference_state_dict()
    keys = sorted(state)
    broken = dict(state)
    del broken[keys[0]], broken[keys[1]]
    broken["extra.weight"] = torch.zeros(1)
    shaped = next(k for k in keys[2:] if state[k].dim() >= 1)
    broken[shaped] = torch.zeros(state[shaped].shape[0] + 1)
    with pytest.raises(DataError) as info:
        model.load_reference_state(broken, source="ckpt.pth")
    msg = str(info.value)
    assert msg.startswith("ckpt.pth: ") and "\n" not in msg
    for k in (keys[0], keys[1], "extra.weight", shaped):
        assert k in msg
    with pytest.raises(DataError, match="none of its 1 tensors"):
        model.load_reference_state({"conv.weight": torch.zeros(1)}, source="other.pth")


def test_headless_model_ignores_checkpoint_head() -> None:
    model, t = reference_model("cbramod")
    headless = PublishedModel(model.encoder, n_outputs=None).eval()
    headless.load_reference_state(model.reference_state_dict())
    with torch.no_grad():
        torch.testing.assert_close(headless(t["x"]), model.forward_features(t["x"]))


def test_reference_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="'activation' is not supported"):
        ENCODERS.get("biot").kwargs_from_reference({"n_chans": 2, "activation": "elu"})
    with pytest.raises(ConfigError, match="n_times=450 is not divisible by patch_size=200"):
        create_encoder("cbramod", n_channels=2, n_times=450)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_export_with_reference_weights_and_head(name: str, tmp_path) -> None:
    from neurorep.export.onnx import check_onnx_parity, export_onnx

    model, t = reference_model(name)
    path = export_onnx(model, tmp_path / f"{name}.onnx", t["x"], output_name="logits")
    x = torch.randn(3, *t["x"].shape[1:], generator=torch.Generator().manual_seed(3))  # another batch size
    assert check_onnx_parity(model, path, x) < 1e-4
