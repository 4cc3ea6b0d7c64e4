"""Published models (tiny variants with the braindecode fixtures' weights) through ``neurorep export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from neurorep.cli import main
from neurorep.encoders import ENCODERS
from neurorep.export.contract import CheckpointContract
from neurorep.export.hub import save_pretrained
from neurorep.hub import load_published

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published"
NAMES = ["cbramod", "biot", "labram", "eegpt"]


def saved_published(name: str, folder: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """The fixture's weights loaded through load_published and saved as a neurorep encoder with its contract."""
    path = FIXTURES / f"{name}.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    config, ch_names = json.loads(meta["config"]), json.loads(meta.get("forward_kwargs", "{}")).get("ch_names")
    tensors = load_file(str(path))
    from safetensors.torch import save_file

    weights = folder / f"{name}.safetensors"
    save_file({k[len("state."):]: v for k, v in tensors.items() if k.startswith("state.")}, str(weights))
    kwargs = ENCODERS.get(name).kwargs_from_reference(config)
    shape = {k: kwargs.pop(k) for k in ("n_channels", "n_times", "sfreq")}
    model = load_published(name, weights, **shape, ch_names=ch_names, model_kwargs=kwargs)
    model.encoder.checkpoint_contract = CheckpointContract.from_dict(model.metadata["contract"])
    save_pretrained(model.encoder, folder / "encoder", extra={"published": model.metadata})
    return folder / "encoder", tensors


@pytest.mark.parametrize("name", NAMES)
def test_published_encoder_exports_to_onnx_and_int8_with_parity(name: str, tmp_path: Path, capsys) -> None:
    folder, _ = saved_published(name, tmp_path)
    assert main(["export", str(folder), "--format", "onnx", "--out", str(tmp_path / "f.onnx"), "--n-check", "8"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["max_abs_diff"] < 1e-4 and (tmp_path / "f.onnx").stat().st_size > 0
    assert summary["contract"]["architecture"] == name and len(summary["contract"]["sha256"]) == 64
    assert summary["contract"]["licence"]
    assert main(["export", str(folder), "--format", "int8", "--out", str(tmp_path / "q.onnx"), "--n-check", "8"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["float_max_abs_diff"] < 1e-4
    assert summary["min_cosine"] > 0.9, summary  # int8 weights keep the embedding's direction


def test_published_list_shows_rate_and_licence(capsys) -> None:
    assert main(["published", "list"]) == 0
    out = capsys.readouterr().out
    assert "labram" in out and "200 Hz" in out and "licence: MIT" in out and "256 Hz" in out
