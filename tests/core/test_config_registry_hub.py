from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from neurorep.config import ModelSpec, OptimConfig, Strict, apply_overrides, parse_override, read_yaml, validate
from neurorep.errors import ConfigError, DataError
from neurorep.export.hub import load_state, load_strict, save_pretrained
from neurorep.registry import Registry


class Run(Strict):
    encoder: ModelSpec
    pretrain: OptimConfig = OptimConfig()


def test_registry_create_list_and_did_you_mean() -> None:
    reg: Registry[object] = Registry("widget")

    @reg.register("spinner")
    def spinner(size: int = 1) -> tuple[str, int]:
        """Spins."""
        return ("spinner", size)

    assert reg.create("spinner", size=3) == ("spinner", 3)
    assert reg.names() == ["spinner"] and reg.describe() == {"spinner": "Spins."}
    with pytest.raises(ConfigError, match=r"unknown widget 'spiner'; known widgets are: spinner \(did you mean 'spinner'\?\)"):
        reg.get("spiner")


def test_overrides_parse_yaml_values() -> None:
    assert parse_override("pretrain.lr=3e-4") == (["pretrain", "lr"], 3e-4)
    data = apply_overrides({"pretrain": {"lr": 1.0}}, ["pretrain.lr=0.5", "encoder.kwargs.embed_dim=64", "a=[1, 2]"])
    assert data == {"pretrain": {"lr": 0.5}, "encoder": {"kwargs": {"embed_dim": 64}}, "a": [1, 2]}
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("nokey")


def test_validation_messages_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'pretrain.lrate'.*did you mean 'lr'"):
        validate(Run, {"encoder": {"name": "cnn"}, "pretrain": {"lrate": 1}})
    with pytest.raises(ConfigError, match=r"pretrain.lr: Input should be greater than 0 \(got -0.1\)"):
        validate(Run, {"encoder": {"name": "cnn"}, "pretrain": {"lr": -0.1}})
    with pytest.raises(ConfigError, match=r"pretrain.epochs: .*integer.*\(got 'ten'\)"):
        validate(Run, {"encoder": {"name": "cnn"}, "pretrain": {"epochs": "ten"}})
    with pytest.raises(ConfigError, match="missing required key 'encoder'"):
        validate(Run, {})


def test_read_yaml_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: invalid YAML"):
        read_yaml(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        read_yaml(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="not found"):
        read_yaml(tmp_path / "missing.yaml")


class Tiny(nn.Module):
    registry_name = "tiny-test-model"

    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.config = {"width": width}
        self.lin = nn.Linear(width, 2)


def test_save_and_strict_load(tmp_path: Path) -> None:
    torch.manual_seed(0)
    m = Tiny()
    save_pretrained(m, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    state = load_state(tmp_path / "m" / "model.safetensors")
    fresh = load_strict(Tiny(), state)
    assert torch.equal(fresh.lin.weight, m.lin.weight)
    with pytest.raises(DataError, match=r"shape mismatch for lin.weight: model \(2, 4\), file \(2, 3\)"):
        load_strict(Tiny(width=4), state)
    with pytest.raises(DataError, match="unexpected keys: extra"):
        load_strict(Tiny(), {**state, "extra": torch.zeros(1)})
    with pytest.raises(DataError, match="missing keys: lin.bias"):
        load_strict(Tiny(), {"lin.weight": state["lin.weight"]})


def test_corrupt_safetensors(tmp_path: Path) -> None:
    save_pretrained(Tiny(), tmp_path / "m")
    f = tmp_path / "m" / "model.safetensors"
    f.write_bytes(f.read_bytes()[:20])
    with pytest.raises(DataError, match="not a readable safetensors file"):
        load_state(f)
