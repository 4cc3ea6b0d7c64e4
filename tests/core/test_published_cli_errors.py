"""``neurorep published load`` on bad checkpoints: exit 2, one line on stderr naming the file and the problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from neurorep.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published"
# the BIOT fixture: 3 channels, 600 samples at 200 Hz, embed_dim 32, 4 heads, 2 layers
ARGS = ["--n-times", "600", "--sfreq", "200", "--set", "embed_dim=32", "--set", "n_heads=4", "--set", "n_layers=2"]


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def _biot_state() -> dict[str, torch.Tensor]:
    ref = load_file(str(FIXTURES / "biot.safetensors"))
    return {k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")}


def _write(case: str, folder: Path) -> Path:
    state = _biot_state()
    if case == "wrong_architecture":
        return FIXTURES / "cbramod.safetensors"
    if case == "truncated":
        save_file(state, str(folder / "full.safetensors"))
        data = (folder / "full.safetensors").read_bytes()
        (folder / "cut.safetensors").write_bytes(data[: len(data) // 2])
        return folder / "cut.safetensors"
    if case == "wrong_channel_count":
        torch.save(state, folder / "biot3.pth")
        return folder / "biot3.pth"
    torch.save({**state, "extra": _Payload()}, folder / "evil.pth")
    return folder / "evil.pth"


@pytest.mark.parametrize("case, n_channels, problem", [
    ("wrong_architecture", "3", "none of its .* tensors belongs to BIOT"),
    ("truncated", "3", "not a readable safetensors file"),
    ("wrong_channel_count", "5", r"encoder.channel_tokens.weight \(model \(5, 32\), file \(3, 32\)\)"),
    ("pickle_with_code", "3", "refused, the pickle asks for more than tensors"),
])
def test_bad_checkpoint_exits_2_with_one_line(case: str, n_channels: str, problem: str, tmp_path: Path,
                                              capsys) -> None:
    path = _write(case, tmp_path)
    assert main(["published", "load", "biot", str(path), "--n-channels", n_channels, *ARGS]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err, err
    import re

    assert re.search(problem, err), err
    assert "should-never-run" not in captured.out


def test_mapping_options_on_the_command_line(tmp_path: Path, capsys) -> None:
    torch.save(_biot_state(), tmp_path / "biot.pth")
    base = ["published", "load", "biot", str(tmp_path / "biot.pth"), "--n-channels", "4", "--n-times", "750",
            "--sfreq", "250", "--ch-names", "A,B,EOG,C", *ARGS[4:]]
    assert main(base) == 2
    assert "expect 200 Hz, the data are at 250 Hz" in capsys.readouterr().err
    assert main([*base, "--resample", "--drop", "EOG", "--save", str(tmp_path / "saved")]) == 0
    import json

    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "adapted" and info["contract"]["sfreq"] == 250
    assert any("dropped EOG" in n for n in info["contract"]["extra"]["input_maps"])
    assert main(["export", str(tmp_path / "saved"), "--format", "onnx", "--out", str(tmp_path / "a.onnx"),
                 "--n-check", "4"]) == 0
