"""Dynamic int8 quantisation: size, output change, accuracy change, held-out data files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.errors import DataError
from neurorep.export.onnx import export_onnx
from neurorep.export.quantize import (
    _unshare_gemm_weights,
    compare_onnx,
    export_model,
    load_eval_data,
    quantize_onnx,
    run_onnx,
)
from tests.export.conftest import C, T, make_classifier


def _x(n: int = 16, seed: int = 0, c: int = C, t: int = T) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, c, t)).astype(np.float32)


def test_int8_transformer_with_shared_weights_stays_close(tmp_path: Path) -> None:
    """Fresh transformer layers are copies, so the exporter shares their weights between Gemm nodes;
    onnxruntime's Gemm rewrite would transpose a shared weight once per user without the fix."""
    model = make_classifier(n_layers=3)
    src = export_onnx(model, tmp_path / "f.onnx", torch.from_numpy(_x(2)), output_name="logits")
    graph = onnx.load(str(src))
    assert _unshare_gemm_weights(graph) >= 1  # the situation really arises
    dst = quantize_onnx(src, tmp_path / "q.onnx")
    report = compare_onnx(src, dst, _x(32, seed=1))
    assert report["min_cosine"] > 0.99
    assert report["max_abs_diff"] < 0.1
    assert report["agreement"] >= 0.9
    types = {n.op_type for n in onnx.load(str(dst)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} & types  # really quantised


def test_int8_conv_model_is_smaller_and_close(tmp_path: Path) -> None:
    torch.manual_seed(0)
    enc = create_encoder("cnn", n_channels=2, n_times=3000).eval()
    src = export_onnx(enc, tmp_path / "f.onnx", torch.from_numpy(_x(2, c=2, t=3000)))
    dst = quantize_onnx(src, tmp_path / "q.onnx", per_channel=True)
    report = compare_onnx(src, dst, _x(8, c=2, t=3000), classifier=False)
    assert report["size_ratio"] == pytest.approx(report["int8_bytes"] / report["float_bytes"])
    assert report["size_ratio"] < 0.5  # int8 weights: about a quarter of float32 plus graph overhead
    assert report["min_cosine"] > 0.99
    assert "agreement" not in report and "accuracy_float" not in report
    with pytest.raises(DataError, match="exists"):
        quantize_onnx(src, dst, overwrite=False)
    with pytest.raises(DataError, match="not found"):
        quantize_onnx(tmp_path / "missing.onnx", tmp_path / "q2.onnx")


def test_accuracy_change_matches_hand_computation(tmp_path: Path) -> None:
    model = make_classifier(n_layers=1)
    src = export_onnx(model, tmp_path / "f.onnx", torch.from_numpy(_x(2)), output_name="logits")
    dst = quantize_onnx(src, tmp_path / "q.onnx")
    x = _x(40, seed=2)
    a, b = run_onnx(src, x), run_onnx(dst, x)
    y = a.argmax(1).copy()
    y[:10] = (y[:10] + 1) % 3  # float model wrong on the first 10
    y[10:12] = -1  # unlabelled, left out
    report = compare_onnx(src, dst, x, y)
    keep = y >= 0
    assert report["accuracy_float"] == pytest.approx(np.mean(a[keep].argmax(1) == y[keep]))
    assert report["accuracy_float"] == pytest.approx(28 / 38)
    assert report["accuracy_int8"] == pytest.approx(np.mean(b[keep].argmax(1) == y[keep]))
    assert report["accuracy_change"] == pytest.approx(report["accuracy_int8"] - report["accuracy_float"])
    assert report["agreement"] == pytest.approx(np.mean(a.argmax(1) == b.argmax(1)))
    with pytest.raises(DataError, match="expected 40"):
        compare_onnx(src, dst, x, y[:5])


def test_export_int8_with_eval_data(run_dir: Path, tmp_path: Path) -> None:
    x = _x(24, seed=4)
    y = np.arange(24) % 3
    np.savez(tmp_path / "held_out.npz", x=x, y=y)
    summary = export_model(run_dir, tmp_path / "q.onnx", fmt="int8", eval_data=tmp_path / "held_out.npz")
    assert summary["n_windows"] == 24 and summary["kind"] == "classifier"
    assert {"accuracy_float", "accuracy_int8", "accuracy_change", "size_ratio"} <= set(summary)
    assert run_onnx(tmp_path / "q.onnx", x[:3]).shape == (3, 3)


def test_load_eval_data_checks(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", _x(4))
    x, y = load_eval_data(tmp_path / "x.npy", (C, T))
    assert x.shape == (4, C, T) and y is None
    with pytest.raises(DataError, match=r"expected x of shape \[N, 3, 200\]"):
        load_eval_data(tmp_path / "x.npy", (3, T))
    np.savez(tmp_path / "bad.npz", windows=_x(2))
    with pytest.raises(DataError, match="array named 'x'"):
        load_eval_data(tmp_path / "bad.npz", (C, T))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a readable"):
        load_eval_data(tmp_path / "obj.npy", (C, T))
    with pytest.raises(DataError, match="not found"):
        load_eval_data(tmp_path / "none.npz", (C, T))
