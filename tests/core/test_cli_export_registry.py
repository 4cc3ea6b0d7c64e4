"""``neurorep export`` and ``neurorep registry list|show|register``: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurorep.cli import main
from neurorep.export.quantize import run_onnx
from tests.export.conftest import C, T, make_classifier, save_classifier


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return save_classifier(make_classifier(), tmp_path / "run" / "export" / "best").parents[1]


def test_export_onnx_then_refuse_overwrite(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.onnx"
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["max_abs_diff"] < 1e-4 and summary["kind"] == "classifier"
    assert run_onnx(out, np.zeros((2, C, T), np.float32)).shape == (2, 3)
    before = out.read_bytes()
    assert main(["export", str(run_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorep: error:") and "--overwrite" in err and err.count("\n") == 1
    assert out.read_bytes() == before
    assert main(["export", str(run_dir), "--format", "int8", "--out", str(out), "--overwrite", "--n-check", "8"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "int8" and summary["n_windows"] == 8 and 0 < summary["size_ratio"]
    assert out.read_bytes() != before


def test_export_bad_source_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(SystemExit) as info:
        main(["export", str(tmp_path), "--format", "tflite", "--out", "x"])
    assert info.value.code == 2


def test_registry_register_list_show(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    reg = tmp_path / "reg"
    monkeypatch.setenv("NEUROREP_REGISTRY", str(reg))
    assert main(["registry", "list"]) == 0
    assert "no models registered" in capsys.readouterr().out
    card = tmp_path / "card.yaml"
    card.write_text("training_data:\n  description: simulated sleep corpus, 10 subjects\n")
    assert main(["registry", "register", str(run_dir), "--name", "sleep-tf", "--card", str(card),
                 "--set", "preprocessing.sfreq=100", "--description", "a tiny model"]) == 0
    assert "registered sleep-tf 1.0.0" in capsys.readouterr().out
    assert main(["registry", "register", str(run_dir), "--name", "sleep-tf", "--version", "1.0.0"]) == 2
    assert "already registered" in capsys.readouterr().err
    assert main(["registry", "register", str(run_dir), "--name", "sleep-tf"]) == 0
    capsys.readouterr()
    assert main(["registry", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:4] == ["name", "version", "kind", "architecture"]
    assert [ln.split()[:2] for ln in lines[1:]] == [["sleep-tf", "1.0.0"], ["sleep-tf", "1.1.0"]]
    assert main(["registry", "show", "sleep-tf", "--version", "1.0.0", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["preprocessing"]["sfreq"] == 100 and shown["description"] == "a tiny model"
    assert shown["training_data"]["description"].startswith("simulated sleep")
    assert main(["registry", "show", "sleep-tf"]) == 0
    assert capsys.readouterr().out.startswith("# sleep-tf 1.1.0")
    assert main(["registry", "show", "sleep_tf", "--registry", str(reg)]) == 2
    assert "did you mean 'sleep-tf'" in capsys.readouterr().err
    assert main(["registry", "show", "sleep-tf", "--version", "4.0.0"]) == 2
    assert "registered versions are: 1.0.0, 1.1.0" in capsys.readouterr().err
