"""Contract tests run on every registered encoder (tiny variants)."""

from __future__ import annotations

import pytest
import torch

from neurorep.encoders import ENCODERS, create_encoder, list_encoders
from neurorep.errors import ConfigError, DataError
from neurorep.export.hub import from_pretrained, load_strict, save_pretrained
from neurorep.export.onnx import check_onnx_parity, export_onnx

NAMES = list_encoders()
B = 3


def tiny(name: str, n_channels: int = 2, n_times: int = 3000, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    cls = ENCODERS.get(name)
    return create_encoder(name, **cls.tiny_kwargs(n_channels, n_times))


def data(n_channels: int = 2, n_times: int = 3000, batch: int = B, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, n_channels, n_times, generator=torch.Generator().manual_seed(seed))


def test_builtin_encoders_registered() -> None:
    assert {"cnn", "cnn_attention", "transformer"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("n_channels", "n_times"), [(2, 3000), (1, 3000), (3, 2000)])
def test_shapes(name: str, n_channels: int, n_times: int) -> None:
    enc = tiny(name, n_channels, n_times).eval()
    x = data(n_channels, n_times)
    tokens = enc.forward_features(x)
    emb = enc(x)
    d = enc.embed_dim
    assert isinstance(d, int) and d > 0
    assert tokens.dim() == 3 and tokens.shape[0] == B and tokens.shape[2] == d and tokens.shape[1] >= 1
    assert emb.shape == (B, d)
    torch.testing.assert_close(emb, tokens.mean(dim=1))
    assert enc.registry_name == name
    assert enc.config["n_channels"] == n_channels and enc.config["n_times"] == n_times
    assert enc.n_tokens is None or enc.n_tokens == tokens.shape[1]  # None: the encoder does not know it


@pytest.mark.parametrize("name", NAMES)
def test_backward_gives_finite_grads_on_all_params(name: str) -> None:
    enc = tiny(name).train()
    enc(data()).pow(2).mean().backward()
    for pname, p in enc.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
    assert any(p.grad.abs().sum() > 0 for p in enc.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name: str, tmp_path) -> None:
    enc = tiny(name)
    enc.train()
    enc(data(batch=4))  # move BatchNorm running statistics away from their initial values
    enc.eval()
    save_pretrained(enc, tmp_path / "model")
    loaded = from_pretrained(tmp_path / "model")
    assert type(loaded) is type(enc) and not loaded.training
    x = data(seed=5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), enc(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_strict_loading_refuses_other_architecture(name: str, tmp_path) -> None:
    other = next(n for n in NAMES if n != name)
    enc, foreign = tiny(name), tiny(other)
    with pytest.raises(DataError, match="do not fit"):
        load_strict(enc, foreign.state_dict())
    # A saved folder whose weights belong to another architecture is refused too.
    save_pretrained(enc, tmp_path / "a")
    save_pretrained(foreign, tmp_path / "b")
    (tmp_path / "b" / "model.safetensors").replace(tmp_path / "a" / "model.safetensors")
    with pytest.raises(DataError):
        from_pretrained(tmp_path / "a")


@pytest.mark.parametrize("name", NAMES)
def test_onnx_export_parity(name: str, tmp_path) -> None:
    enc = tiny(name, 2, 2000)
    enc.train()
    path = export_onnx(enc, tmp_path / f"{name}.onnx", data(2, 2000, batch=2))
    assert path.is_file() and enc.training  # mode restored
    assert not list(tmp_path.glob(".*.tmp"))
    assert check_onnx_parity(enc, path, data(2, 2000, batch=2, seed=7)) < 1e-4
    assert check_onnx_parity(enc, path, data(2, 2000, batch=5, seed=8)) < 1e-4  # dynamic batch


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_with_same_seed(name: str) -> None:
    a, b = tiny(name, seed=3), tiny(name, seed=3)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    x = data()
    torch.manual_seed(11)
    ya = a.train()(x)
    torch.manual_seed(11)
    yb = b.train()(x)
    assert torch.equal(ya, yb)
    c = tiny(name, seed=4)
    assert not torch.equal(a.eval()(x), c.eval()(x))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_input_channels_is_data_error(name: str) -> None:
    enc = tiny(name, 2, 3000)
    with pytest.raises(DataError, match="n_channels=2"):
        enc(data(3, 3000))


def test_unknown_name_lists_names_and_suggests() -> None:
    with pytest.raises(ConfigError) as info:
        create_encoder("cnn_atention", n_channels=2, n_times=3000)
    msg = str(info.value)
    for name in NAMES:
        assert name in msg
    assert "did you mean 'cnn_attention'" in msg


def test_transformer_patch_size_must_divide_n_times() -> None:
    with pytest.raises(ConfigError, match="n_times=3050 is not divisible by patch_size=100"):
        create_encoder("transformer", n_channels=2, n_times=3050)
    with pytest.raises(DataError, match="n_times=3000"):
        create_encoder("transformer", n_channels=2, n_times=3000, patch_size=300, n_layers=1)(data(2, 2000))


@pytest.mark.parametrize("name", ["cnn", "cnn_attention"])
def test_too_short_window_is_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="n_times=100 is too short"):
        create_encoder(name, n_channels=2, n_times=100)


@pytest.mark.parametrize(
    ("name", "kwargs", "field"),
    [
        ("cnn", {"kernel_size": 8}, "kernel_size"),
        ("cnn", {"dropout": 1.5}, "dropout"),
        ("cnn_attention", {"embed_dim": 30, "n_heads": 4}, "embed_dim=30"),
        ("transformer", {"n_heads": 0}, "n_heads"),
    ],
)
def test_bad_arguments_name_the_field(name: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        create_encoder(name, n_channels=2, n_times=3000, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_default_size_builds_and_runs(name: str) -> None:
    torch.manual_seed(0)
    enc = create_encoder(name, n_channels=2, n_times=3000).eval()
    # published architectures keep their published width; neurorep's own default to 128
    expected = getattr(ENCODERS.get(name), "default_embed_dim", 0) or 128
    assert enc.embed_dim == expected
    with torch.no_grad():
        assert enc(data(batch=2)).shape == (2, expected)


# --------------------------------------------------------------------------- declared optional capabilities
from neurorep.encoders.base import CAPABILITIES  # noqa: E402


def _use(enc: torch.nn.Module, capability: str, x: torch.Tensor) -> None:
    """Call the methods of ``capability`` and check what they give."""
    if capability == "intermediates":
        maps = enc.forward_intermediates(x)
        assert isinstance(maps, dict) and "tokens" in maps
        torch.testing.assert_close(maps["tokens"], enc.forward_features(x))
    elif capability == "layer_groups":
        groups = enc.layer_groups()
        assert groups and all(isinstance(g, torch.nn.Module) for g in groups)
        matcher = enc.group_matcher()
        assert set(matcher.values()) <= set(range(len(groups)))
        assert set(matcher) == {n for n, _ in enc.named_parameters()}  # every parameter is in a group
    elif capability == "spatial_sequence":
        torch.testing.assert_close(enc.sequence_features(enc.spatial_features(x)), enc.forward_features(x))
    elif capability == "patch_tokens":
        tokens = enc.encode_tokens(x)
        assert tokens.dim() == 4 and tokens.shape[:2] == x.shape[:2] and tokens.shape[-1] == enc.embed_dim
    elif capability == "tiny":
        assert type(enc).tiny(x.shape[1], x.shape[2]).config == enc.config


@pytest.mark.parametrize("name", NAMES)
def test_declared_capabilities_work_and_the_others_fail_clearly(name: str) -> None:
    enc = tiny(name).eval()
    x = data()
    assert enc.supports("tiny")  # every built-in encoder has a tiny variant
    with torch.no_grad():
        for capability in CAPABILITIES:
            if enc.supports(capability):
                _use(enc, capability, x)
            elif capability != "tiny":
                with pytest.raises(ConfigError, match=rf"{name}.*does not offer '{capability}'"):
                    _use(enc, capability, x)
    assert enc.group_matcher()  # one group (the whole encoder) without the capability
    with pytest.raises(ConfigError, match="did you mean 'intermediates'"):
        enc.supports("intermediate")


def test_constructor_arguments_are_recorded_once() -> None:
    enc = create_encoder("cnn", n_channels=2, n_times=3000, embed_dim=24)
    assert enc.config["embed_dim"] == 24 and enc.config["n_filters"] == 64  # defaults filled in
    assert ENCODERS.get("cnn").tiny(2, 3000).config["embed_dim"] == 16


def test_old_names_still_work_with_a_deprecation_warning() -> None:
    utime = tiny("utime")
    x = data(n_channels=2, n_times=3000)
    with pytest.warns(DeprecationWarning, match="forward_intermediates"):
        maps = utime.features(x)
    assert set(maps) == set(utime.forward_intermediates(x))
    from neurorep.encoders.cnn import check_int

    with pytest.raises(ConfigError, match="n_filters"):
        check_int("cnn", "n_filters", 0)
