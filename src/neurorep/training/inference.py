"""Inference helpers: embeddings from an encoder and logits from a classifier, as NumPy arrays."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

META_KEYS = ("y", "subject", "recording", "index")


def _device_of(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def _run(
    model: nn.Module,
    loader: Iterable[dict[str, Any]],
    device: str | torch.device | None,
    keys: tuple[str, ...],
) -> tuple[np.ndarray | None, dict[str, list[np.ndarray]]]:
    """Apply ``model`` to ``batch["x"]`` of every batch in eval + inference mode.

    Returns the concatenated outputs ``[N, ...]`` (float32) and, per key of ``keys`` present in
    the batches, the list of per-batch arrays. The model's device and train/eval mode are
    restored afterwards.
    """
    original_device = _device_of(model)
    target = torch.device(device) if device is not None else original_device
    was_training = model.training
    outputs: list[np.ndarray] = []
    meta: dict[str, list[np.ndarray]] = {}
    model.to(target)
    model.eval()
    try:
        with torch.inference_mode():
            for batch in loader:
                out = model(batch["x"].to(target, non_blocking=True))
                outputs.append(out.detach().float().cpu().numpy())
                for key in keys:
                    value = batch.get(key) if isinstance(batch, dict) else None
                    if isinstance(value, torch.Tensor):
                        meta.setdefault(key, []).append(value.detach().cpu().numpy())
                    elif isinstance(value, np.ndarray):
                        meta.setdefault(key, []).append(value)
    finally:
        model.to(original_device)
        model.train(was_training)
    result = np.concatenate(outputs, axis=0).astype(np.float32, copy=False) if outputs else None
    return result, meta


def embed(
    encoder: nn.Module,
    loader: Iterable[dict[str, Any]],
    device: str | torch.device = "cpu",
    keys: tuple[str, ...] = META_KEYS,
) -> dict[str, np.ndarray]:
    """Embed every window of ``loader`` (in loader order).

    ``encoder``: ``x[B, C, T] -> [B, D]``. Returns ``{"embedding": float32 [N, D]}`` plus, for each
    of ``keys`` present in the batches (``y``, ``subject``, ``recording``, ``index`` by default),
    the concatenated values ``[N]``. Runs in eval and inference mode on ``device``; the
    encoder's device and mode are restored afterwards.
    """
    embedding, meta = _run(encoder, loader, device, keys)
    if embedding is None:
        raise ValueError("embed: the loader yielded no batches")
    out: dict[str, np.ndarray] = {"embedding": embedding.reshape(len(embedding), -1)}
    for key, parts in meta.items():
        out[key] = np.concatenate(parts, axis=0)
    return out


def predict(
    module: nn.Module,
    loader: Iterable[dict[str, Any]],
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a classifier over ``loader``.

    ``module``: ``x[B, C, T] -> logits[B, K]`` (e.g. a ``SupervisedModule``). Returns
    ``(logits float32 [N, K], y int64 [N])``; ``y`` is ``-1`` where batches carry no labels.
    Runs on ``device`` (default: where the module already is).
    """
    logits, meta = _run(module, loader, device, ("y",))
    if logits is None:
        raise ValueError("predict: the loader yielded no batches")
    if "y" in meta and sum(len(p) for p in meta["y"]) == len(logits):
        y = np.concatenate(meta["y"], axis=0).astype(np.int64)
    else:
        y = np.full(len(logits), -1, dtype=np.int64)
    return logits, y
