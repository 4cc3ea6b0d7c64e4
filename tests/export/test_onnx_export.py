"""ONNX export of saved models: parity, atomic writes, overwrite refusal, finding the model in a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neurorep.errors import DataError
from neurorep.export.model_card import find_saved_model, load_saved_model
from neurorep.export.onnx import check_onnx_parity, export_onnx
from neurorep.export.quantize import export_model, run_onnx
from tests.export.conftest import C, T, make_classifier, save_classifier


def test_find_saved_model_prefers_best_classifier(run_dir: Path, tmp_path: Path) -> None:
    saved = find_saved_model(run_dir)
    assert saved.path == run_dir / "export" / "best" / "encoder" and saved.kind == "classifier"
    assert saved.class_names == ["W", "N", "R"] and saved.input_shape == (C, T)
    assert find_saved_model(run_dir / "export" / "final").path == run_dir / "export" / "final" / "encoder"
    enc_only = find_saved_model(run_dir / "export" / "final" / "encoder")
    assert enc_only.kind == "encoder" and enc_only.head_path is None
    # a folder holding runs: the shallowest export wins, best before final
    assert find_saved_model(tmp_path).path == run_dir / "export" / "best" / "encoder"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no saved model found"):
        find_saved_model(tmp_path / "empty")


def test_export_model_onnx_matches_pytorch(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    summary = export_model(run_dir, out)
    assert summary["kind"] == "classifier" and summary["output"] == "logits"
    assert summary["max_abs_diff"] < 1e-4
    model = load_saved_model(run_dir)
    x = torch.randn(5, C, T, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model(x).numpy()
    got = run_onnx(out, x.numpy())
    assert got.shape == (5, 3)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert check_onnx_parity(model, out, x) < 1e-4


def test_export_refuses_to_overwrite_and_bad_format(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"keep me")
    with pytest.raises(DataError, match="exists.*--overwrite"):
        export_model(run_dir, out)
    assert out.read_bytes() == b"keep me"
    export_model(run_dir, out, overwrite=True)
    assert out.read_bytes() != b"keep me"
    with pytest.raises(Exception, match="format"):
        export_model(run_dir, tmp_path / "x.onnx", fmt="tflite")


def test_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_classifier()

    def broken(*args, **kwargs):
        Path(args[2]).write_bytes(b"half a model")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(RuntimeError, match="crashed"):
        export_onnx(model, tmp_path / "m.onnx", torch.zeros(1, C, T))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.onnx").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        export_onnx(model, tmp_path / "old.onnx", torch.zeros(1, C, T))
    assert (tmp_path / "old.onnx").read_bytes() == b"old"
    with pytest.raises(DataError, match="exists"):
        export_onnx(model, tmp_path / "old.onnx", torch.zeros(1, C, T), overwrite=False)


def test_export_encoder_only_has_embedding_output(tmp_path: Path) -> None:
    import onnx

    model = make_classifier()
    save_classifier(model, tmp_path / "m")
    out = tmp_path / "e.onnx"
    summary = export_model(tmp_path / "m" / "encoder", out)
    assert summary["kind"] == "encoder"
    graph = onnx.load(str(out)).graph
    assert [o.name for o in graph.output] == ["embedding"] and [i.name for i in graph.input] == ["x"]
    assert run_onnx(out, np.zeros((3, C, T), np.float32)).shape == (3, 16)


def test_missing_or_wrong_source_is_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        export_model(tmp_path / "nope", tmp_path / "m.onnx")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="expected a run folder"):
        export_model(tmp_path / "f.txt", tmp_path / "m.onnx")


def test_ambiguous_run_folder_lists_candidates(tmp_path: Path) -> None:
    for frac in ("supervised_0.1", "supervised_1"):
        save_classifier(make_classifier(), tmp_path / "run" / frac / "export" / "best")
    with pytest.raises(DataError, match="several saved models.*supervised_0.1.*supervised_1"):
        find_saved_model(tmp_path / "run")
    assert find_saved_model(tmp_path / "run" / "supervised_1").path.parts[-4] == "supervised_1"
