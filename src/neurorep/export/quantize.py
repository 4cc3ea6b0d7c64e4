"""Dynamic int8 quantisation of ONNX models, output/accuracy comparison, and the export front door.

:func:`quantize_onnx` runs onnxruntime's ``quantize_dynamic`` (int8 weights, activations
quantised on the fly per batch) after its recommended pre-processing. Two details matter:

- onnxruntime rewrites ``Gemm`` nodes as ``MatMul`` and transposes their weight in place,
  assuming no other node uses it. The TorchScript exporter shares identical initialisers between
  nodes (e.g. the out-projections of freshly built transformer layers, which are copies), and the
  shared weight then gets transposed once per user; each ``Gemm`` gets its own copy first.
- Only weights are int8; the input and output stay float32, so the int8 file is a drop-in
  replacement (``x[B, C, T] -> embedding[B, D]`` or ``logits[B, K]``).

:func:`export_model` is what ``neurorep export`` calls.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurorep.errors import ConfigError, DataError
from neurorep.fileio import atomic_write, check_writable, removed_on_error, temp_dir_beside

__all__ = ["FORMATS", "compare_onnx", "export_model", "load_eval_data", "quantize_onnx", "run_onnx"]

FORMATS = ("onnx", "int8")
log = logging.getLogger(__name__)


def _unshare_gemm_weights(model: Any) -> int:
    """Give every ``Gemm`` whose weight initialiser is used elsewhere its own copy; returns how many."""
    import onnx

    inits = {t.name: t for t in model.graph.initializer}
    uses = Counter(name for node in model.graph.node for name in node.input)
    copied = 0
    for i, node in enumerate(model.graph.node):
        if node.op_type != "Gemm" or len(node.input) < 2 or node.input[1] not in inits or uses[node.input[1]] < 2:
            continue
        clone = onnx.TensorProto()
        clone.CopyFrom(inits[node.input[1]])
        clone.name = f"{node.input[1]}__gemm{i}"
        model.graph.initializer.append(clone)
        uses[node.input[1]] -= 1
        node.input[1] = clone.name
        copied += 1
    return copied


def quantize_onnx(src: str | Path, dst: str | Path, per_channel: bool = False, overwrite: bool = True) -> Path:
    """Write a dynamically int8-quantised copy of the ONNX model ``src`` to ``dst`` (atomic).

    ``MatMul``/``Gemm``/``Conv`` weights become int8 (per output channel with ``per_channel``);
    inputs and outputs stay float32. With ``overwrite=False`` an existing ``dst`` is refused.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise DataError(f"{src}: ONNX file not found")
    if not overwrite and dst.exists():
        raise DataError(f"{dst}: file exists; pass overwrite=True (CLI: --overwrite) to replace it")
    with temp_dir_beside(dst) as tmp:
        pre, unshared = Path(tmp) / "pre.onnx", Path(tmp) / "unshared.onnx"
        try:
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's optimiser raises its own types; quantise the raw graph
            log.warning("%s: quantisation pre-processing failed (%s); quantising the graph as exported", src, exc)
            pre = src
        try:
            model = onnx.load(str(pre))
        except Exception as exc:  # noqa: BLE001 - protobuf decode errors
            raise DataError(f"{src}: not a readable ONNX model ({exc})") from None
        _unshare_gemm_weights(model)
        onnx.save(model, str(unshared))
        root = logging.getLogger()
        level = root.level
        root.setLevel(max(level, logging.ERROR))  # onnxruntime logs a pre-processing hint on the root logger
        try:
            atomic_write(dst, lambda p: quantize_dynamic(str(unshared), str(p), weight_type=QuantType.QInt8,
                                                         per_channel=per_channel))
        finally:
            root.setLevel(level)
    return dst


def run_onnx(path: str | Path, x: np.ndarray, batch_size: int = 256, threads: int | None = None) -> np.ndarray:
    """Run ONNX model ``path`` on ``x[N, C, T]`` in batches; returns its first output ``[N, ...]``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        outs = [session.run(None, {name: np.ascontiguousarray(x[i:i + batch_size], dtype=np.float32)})[0]
                for i in range(0, len(x), batch_size)]
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise DataError(f"{path}: onnxruntime could not run the model on input {tuple(x.shape)} ({exc})") from None
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


def compare_onnx(float_path: str | Path, int8_path: str | Path, x: np.ndarray, y: np.ndarray | None = None,
                 classifier: bool = True) -> dict[str, Any]:
    """Sizes and output change of the int8 model against the float one on windows ``x[N, C, T]``.

    Returns ``float_bytes``, ``int8_bytes``, ``size_ratio`` (int8 / float), ``max_abs_diff`` and
    ``mean_abs_diff`` of the outputs, ``min_cosine`` (smallest per-window cosine similarity of
    the two output vectors) and, for classifiers (outputs are logits), ``agreement`` (share of
    windows with the same arg-max) and, with labels ``y[N]`` (``-1`` = unlabelled, left out), ``accuracy_float``,
    ``accuracy_int8`` and ``accuracy_change`` (int8 minus float).
    """
    a, b = run_onnx(float_path, x).astype(np.float64), run_onnx(int8_path, x).astype(np.float64)
    fb, ib = Path(float_path).stat().st_size, Path(int8_path).stat().st_size
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)
    out: dict[str, Any] = {
        "n_windows": len(x), "float_bytes": int(fb), "int8_bytes": int(ib), "size_ratio": ib / fb,
        "max_abs_diff": float(np.max(np.abs(a - b))) if a.size else 0.0,
        "mean_abs_diff": float(np.mean(np.abs(a - b))) if a.size else 0.0,
        "min_cosine": float(cos.min()) if cos.size else 1.0,
    }
    if classifier:
        out["agreement"] = float(np.mean(a.argmax(1) == b.argmax(1))) if a.size else 1.0
    if classifier and y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != len(x):
            raise DataError(f"labels: expected {len(x)} entries (one per window), found {len(y)}")
        keep = y >= 0
        if keep.any():
            acc_f = float(np.mean(a[keep].argmax(1) == y[keep]))
            acc_q = float(np.mean(b[keep].argmax(1) == y[keep]))
            out.update(accuracy_float=acc_f, accuracy_int8=acc_q, accuracy_change=acc_q - acc_f)
    return out


def load_eval_data(path: str | Path, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out windows from ``.npz`` (arrays ``x[N, C, T]`` and optional ``y[N]``) or ``.npy`` (``x``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: evaluation data file not found")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy/.npz file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        x, y = loaded, None
    else:
        if "x" not in loaded.files:
            raise DataError(f"{path}: expected an array named 'x' [N, C, T], found {', '.join(loaded.files) or 'none'}")
        x, y = loaded["x"], (loaded["y"] if "y" in loaded.files else None)
    if x.ndim != 3 or tuple(x.shape[1:]) != tuple(shape):
        raise DataError(f"{path}: expected x of shape [N, {shape[0]}, {shape[1]}], found {tuple(x.shape)}")
    return x.astype(np.float32), y


def export_model(source: str | Path, out: str | Path, fmt: str = "onnx", overwrite: bool = False,
                 eval_data: str | Path | None = None, n_check: int = 64, seed: int = 0,
                 atol: float = 1e-4) -> dict[str, Any]:
    """Export the saved model in ``source`` (run folder or saved-model folder) to ``out``.

    ``fmt="onnx"``: float32 ONNX, checked against PyTorch (max difference must be ``<= atol``).
    ``fmt="int8"``: the float export (itself checked against PyTorch, ``float_max_abs_diff``)
    quantised by :func:`quantize_onnx`, compared with the float model by :func:`compare_onnx` on ``eval_data`` (held-out ``.npz`` with ``x`` and ``y``) or on
    ``n_check`` seeded Gaussian windows. Nothing is written unless the export succeeds; an existing
    ``out`` is refused without ``overwrite``. Returns a summary dict.
    """
    from neurorep.export.model_card import find_saved_model, load_saved_model
    from neurorep.export.onnx import check_onnx_parity, export_onnx

    if fmt not in FORMATS:
        raise ConfigError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if n_check < 1:
        raise ConfigError(f"n-check: expected a number of check windows >= 1, got {n_check}")
    out = Path(out)
    if out.is_dir():
        raise DataError(f"{out}: is a folder; --out names the .onnx file to write")
    if out.exists() and not overwrite:
        raise DataError(f"{out}: file exists; pass --overwrite to replace it")
    check_writable(out.parent, "output folder")
    saved = find_saved_model(source)
    model = load_saved_model(saved)
    c, t = saved.input_shape
    if eval_data is not None:
        x, y = load_eval_data(eval_data, (c, t))
    else:
        x = torch.randn(n_check, c, t, generator=torch.Generator().manual_seed(seed)).numpy()
        y = None
    output = "logits" if saved.kind == "classifier" else "embedding"
    summary: dict[str, Any] = {"source": str(saved.path), "kind": saved.kind, "format": fmt, "out": str(out),
                               "input_shape": ["B", c, t], "output": output,
                               "contract": saved.config.get("contract")}
    example = torch.from_numpy(x[:2])
    with removed_on_error(out.parent), temp_dir_beside(out) as tmp:
        float_path = Path(tmp) / "float.onnx"
        if fmt == "onnx":
            staged = Path(tmp) / "model.onnx"
            export_onnx(model, staged, example, output_name=output)
            summary["max_abs_diff"] = check_onnx_parity(model, staged, torch.from_numpy(x[: min(len(x), 16)]), atol)
            atomic_write(out, lambda p: p.write_bytes(staged.read_bytes()))
            summary["bytes"] = out.stat().st_size
        else:
            export_onnx(model, float_path, example, output_name=output)
            summary["float_max_abs_diff"] = check_onnx_parity(model, float_path,
                                                              torch.from_numpy(x[: min(len(x), 16)]), atol)
            staged = quantize_onnx(float_path, Path(tmp) / "int8.onnx")
            summary.update(compare_onnx(float_path, staged, x, y, classifier=saved.kind == "classifier"))
            atomic_write(out, lambda p: p.write_bytes(staged.read_bytes()))
    return summary
