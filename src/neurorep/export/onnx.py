"""Export an encoder to ONNX and check that onnxruntime reproduces it.

The graph has one input ``x[B, C, T]`` (float32) and one output ``embedding[B, D]``; with
``dynamic_batch=True`` the batch size ``B`` is free and ``C``, ``T`` are fixed by the example.
The TorchScript-based exporter (``dynamo=False``) is used: it needs no extra packages and handles
every built-in encoder.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurorep.errors import DataError
from neurorep.fileio import atomic_write

__all__ = ["DEFAULT_OPSET", "check_onnx_parity", "export_onnx"]

DEFAULT_OPSET = 17


def _device(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def export_onnx(
    model: nn.Module,
    path: str | Path,
    example: torch.Tensor,
    dynamic_batch: bool = True,
    opset: int = DEFAULT_OPSET,
    output_name: str = "embedding",
    overwrite: bool = True,
) -> Path:
    """Export ``model`` (evaluated in eval mode) to ``path``; returns the path.

    ``example`` is an input ``x[B, C, T]`` that fixes ``C`` and ``T``. The output is called
    ``output_name`` (``"embedding"`` for encoders, ``"logits"`` for classifiers). The file is
    written through :func:`neurorep.fileio.atomic_write`, so a failed or interrupted export leaves
    no half file; with ``overwrite=False`` an existing ``path`` is a :class:`DataError`. The
    model's train/eval mode is restored afterwards.
    """
    if opset < 17:
        raise ValueError(f"opset must be >= 17, got {opset}")
    path = Path(path)
    if not overwrite and path.exists():
        raise DataError(f"{path}: file exists; pass overwrite=True (CLI: --overwrite) to replace it")
    was_training = model.training
    model.eval()
    dynamic_axes = {"x": {0: "batch"}, output_name: {0: "batch"}} if dynamic_batch else None
    fastpath = torch.backends.mha.get_fastpath_enabled()

    def write(tmp_path: Path) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter
            torch.onnx.export(
                model,
                (example.detach().float().to(_device(model)),),
                str(tmp_path),
                input_names=["x"],
                output_names=[output_name],
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )

    try:
        # The fused transformer-layer kernel has no ONNX mapping; trace the plain ops instead.
        torch.backends.mha.set_fastpath_enabled(False)
        atomic_write(path, write)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        model.train(was_training)
    return path


def check_onnx_parity(model: nn.Module, path: str | Path, example: torch.Tensor, atol: float = 1e-4) -> float:
    """Max absolute difference between ``model(example)`` (eval mode) and onnxruntime on ``path``.

    Compares the first output of the ONNX graph (``embedding[B, D]`` or ``logits[B, K]``).

    Raises :class:`DataError` if the file cannot be run or the difference exceeds ``atol``.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: ONNX file not found")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = model(example.detach().float().to(_device(model))).cpu().numpy()
    finally:
        model.train(was_training)
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"x": example.detach().float().cpu().numpy()})[0]
    except Exception as exc:  # onnxruntime raises its own exception types
        raise DataError(f"{path}: onnxruntime could not run the model ({exc})") from None
    if got.shape != expected.shape:
        raise DataError(f"{path}: ONNX output shape {got.shape} differs from the model's {expected.shape}")
    diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))) if got.size else 0.0
    if not diff <= atol:
        raise DataError(f"{path}: ONNX output differs from the model by {diff:.3g} (allowed {atol:g})")
    return diff
