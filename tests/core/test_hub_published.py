"""``neurorep.hub.load_published`` and ``neurorep published``: strict, safe checkpoint loading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from neurorep.cli import main
from neurorep.errors import ConfigError, DataError
from neurorep.hub import load_published, read_checkpoint, resolve_weights

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published"
# the BIOT fixture's architecture (see tests/fixtures/published/make_fixtures.py)
SHAPE = {"n_channels": 3, "n_times": 600, "sfreq": 200}
ARCH = {"embed_dim": 32, "n_heads": 4, "n_layers": 2}


@pytest.fixture(scope="module")
def biot_ref() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(FIXTURES / "biot.safetensors"))


def state_of(ref: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")}


def check_outputs(model: torch.nn.Module, ref: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        out, feats = model(ref["x"]), model.forward_features(ref["x"])
    assert float((out - ref["out"]).abs().max() / ref["out"].abs().max()) <= 1e-4
    assert float((feats - ref["features"]).abs().max() / ref["features"].abs().max()) <= 1e-4


def test_safetensors_and_weights_only_pickle_give_reference_outputs(biot_ref, tmp_path: Path) -> None:
    state = state_of(biot_ref)
    save_file(state, str(tmp_path / "biot.safetensors"))
    torch.save({"state_dict": state}, tmp_path / "biot.ckpt")
    for file in ("biot.safetensors", "biot.ckpt"):
        model = load_published("BIOT", tmp_path / file, **SHAPE, n_outputs=2, model_kwargs=ARCH)
        assert not model.training and model.metadata["sha256"] and model.metadata["architecture"] == "biot"
        check_outputs(model, biot_ref)
    headless = load_published("biot", tmp_path / "biot.ckpt", **SHAPE, model_kwargs=ARCH)
    with torch.no_grad():
        torch.testing.assert_close(headless(biot_ref["x"]), headless.forward_features(biot_ref["x"]))


def test_hub_id_is_read_from_the_cache_offline(biot_ref, tmp_path: Path, monkeypatch) -> None:
    snapshot = tmp_path / "models--someone--biot-tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    save_file(state_of(biot_ref), str(snapshot / "model.safetensors"))
    (tmp_path / "models--someone--biot-tiny" / "refs").mkdir()
    (tmp_path / "models--someone--biot-tiny" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = load_published("biot", "someone/biot-tiny", **SHAPE, n_outputs=2, model_kwargs=ARCH, cache_dir=tmp_path)
    check_outputs(model, biot_ref)
    with pytest.raises(DataError, match="not in the Hugging Face cache .* HF_HUB_OFFLINE"):
        resolve_weights("someone/not-cached", cache_dir=tmp_path)


def test_bad_checkpoints_are_data_errors_naming_the_file(biot_ref, tmp_path: Path) -> None:
    state = state_of(biot_ref)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-never-run",))

    torch.save({"w": torch.zeros(1), "x": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(DataError, match=r"evil.pth: refused, the pickle asks for more than tensors"):
        read_checkpoint(tmp_path / "evil.pth")
    save_file(state, str(tmp_path / "full.safetensors"))
    data = (tmp_path / "full.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    torch.save(state, tmp_path / "full.pth")
    (tmp_path / "cut.pth").write_bytes((tmp_path / "full.pth").read_bytes()[:1000])
    for name in ("cut.safetensors", "cut.pth"):
        with pytest.raises(DataError, match=name):
            load_published("biot", tmp_path / name, **SHAPE, model_kwargs=ARCH)
    # another architecture's checkpoint: not one tensor fits
    with pytest.raises(DataError, match="none of its .* tensors belongs to BIOT"):
        load_published("biot", FIXTURES / "cbramod.safetensors", **SHAPE, model_kwargs=ARCH)
    # wrong channel count: the channel table does not fit, and the key is named
    bad_shape = r"full.pth: weights do not fit .*encoder.channel_tokens.weight \(model \(5, 32\), file \(3, 32\)\)"
    with pytest.raises(DataError, match=bad_shape):
        load_published("biot", tmp_path / "full.pth", n_channels=5, n_times=600, sfreq=200, model_kwargs=ARCH)
    with pytest.raises(DataError, match="weights file not found"):
        load_published("biot", tmp_path / "absent.pth", **SHAPE)
    with pytest.raises(ConfigError, match="unknown published model 'biott'.*did you mean 'biot'"):
        load_published("biott", None, **SHAPE)


def test_random_init_without_weights() -> None:
    model = load_published("cbramod", None, n_channels=2, n_times=400, sfreq=200, n_outputs=3,
                           model_kwargs={"n_layers": 1})
    assert model(torch.randn(2, 2, 400)).shape == (2, 3) and model.metadata["sha256"] is None


def test_cli_load_save_and_bad_checkpoint_exit_2(biot_ref, tmp_path: Path, capsys) -> None:
    save_file(state_of(biot_ref), str(tmp_path / "biot.safetensors"))
    args = ["--n-channels", "3", "--n-times", "600", "--sfreq", "200", "--n-outputs", "2",
            "--set", "embed_dim=32", "--set", "n_heads=4", "--set", "n_layers=2"]
    assert main(["published", "load", "biot", str(tmp_path / "biot.safetensors"), *args,
                 "--save", str(tmp_path / "saved")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "biot" and len(info["sha256"]) == 64
    from neurorep.export.hub import from_pretrained

    saved = from_pretrained(tmp_path / "saved")  # a plain neurorep encoder from here on (probe, export, ...)
    with torch.no_grad():
        diff = float((saved(biot_ref["x"]) - biot_ref["features"]).abs().max())
    assert diff <= 1e-4 * float(biot_ref["features"].abs().max())
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    assert main(["published", "load", "biot", str(tmp_path / "bad.pth"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.pth" in err and "Traceback" not in err
    assert main(["published", "load", "labram", str(tmp_path / "biot.safetensors"), *args[:6],
                 "--ch-names", "C3,CZ,C4"]) == 2
    assert "biot.safetensors: none of its" in capsys.readouterr().err


def test_contract_rate_and_electrode_names_are_checked(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    ref = load_file(str(FIXTURES / "labram.safetensors"))
    save_file(state_of(ref), str(tmp_path / "labram.safetensors"))
    arch = {"patch_size": 64, "conv_channels": 4, "n_layers": 2, "n_heads": 4, "qkv_bias": True}
    shape = {"n_channels": 3, "n_times": 256}
    with pytest.raises(ConfigError, match="expect 200 Hz, the data are at 250 Hz; resample"):
        load_published("labram", tmp_path / "labram.safetensors", **shape, sfreq=250, ch_names=["C3", "Cz", "C4"],
                       model_kwargs=arch)
    with pytest.raises(ConfigError, match="pass ch_names for the 3 data channels"):
        load_published("labram", tmp_path / "labram.safetensors", **shape, sfreq=200, model_kwargs=arch)
    with pytest.raises(ConfigError, match="not in the model's electrode table: EKG, Resp; rename them"):
        load_published("labram", tmp_path / "labram.safetensors", **shape, sfreq=200, ch_names=["C3", "EKG", "Resp"],
                       model_kwargs=arch)
    # an explicit mapping by name; the fixture's channels are C3, Cz, C4
    model = load_published("labram", tmp_path / "labram.safetensors", **shape, sfreq=200, n_outputs=2,
                           ch_names=["C3", "Cz", "C4-A1"], channel_map={"C4-A1": "C4"}, model_kwargs=arch)
    check_outputs(model, ref)
    card = model.metadata["card"]
    assert card["sfreq"] == 200 and card["patch_samples"] == 200 and "C3" in card["channels"]
    assert {"units", "normalisation", "licence", "hub_ids", "paper"} <= set(card)
