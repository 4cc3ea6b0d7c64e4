"""Latent-space benchmark and figures from embeddings stored by a run (``neurorep evaluate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.latent import latent_benchmark
from neurorep.fileio import read_json, removed_on_error, write_json


def load_embeddings(path: str | Path) -> tuple[dict[str, np.ndarray], list[str] | None, Path]:
    """Embeddings from a run folder (``embeddings/test.safetensors``) or a safetensors file.

    The file must hold ``embedding [N, D]``, ``y [N]`` and ``subject [N]``. Class names come from the
    run's ``metrics.json`` when there is one. Returns ``(arrays, class_names, file)``.
    """
    path = Path(path)
    file = path / "embeddings" / "test.safetensors" if path.is_dir() else path
    if not file.is_file():
        raise DataError(f"{path}: no stored embeddings (expected a run folder or a .safetensors file)")
    try:
        arrays = load_file(str(file))
    except (SafetensorError, OSError) as exc:
        raise DataError(f"{file}: not a readable safetensors file ({exc})") from None
    missing = [k for k in ("embedding", "y", "subject") if k not in arrays]
    if missing:
        raise DataError(f"{file}: missing arrays {', '.join(missing)}; found {', '.join(sorted(arrays))}")
    emb, y, subject = arrays["embedding"], arrays["y"], arrays["subject"]
    if emb.ndim != 2 or y.ndim != 1 or subject.ndim != 1 or not len(emb) == len(y) == len(subject):
        raise DataError(f"{file}: expected embedding [N, D], y [N] and subject [N]; got shapes {list(emb.shape)}, "
                        f"{list(y.shape)} and {list(subject.shape)}")
    if not np.isfinite(emb).all():
        raise DataError(f"{file}: embeddings contain NaN or infinite values")
    classes = None
    metrics = file.parent.parent / "metrics.json"
    if metrics.is_file():
        data = read_json(metrics, "run metrics")
        classes = data.get("classes") if isinstance(data, dict) else None
        if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
            raise DataError(f"{metrics}: 'classes' must be a list of class names")
    return arrays, classes, file


def evaluate_stored(path: str | Path, out: str | Path | None = None, seed: int = 0, k: int = 10,
                    plots: bool = True) -> dict[str, Any]:
    """Compute the latent-space benchmark (and an embedding map) of stored embeddings.

    Writes ``latent.json`` and ``embedding.png`` into ``out`` (default: beside the embeddings file);
    the result lists those files under ``written``.
    """
    if k < 1:
        raise ConfigError(f"k: expected a number of neighbours >= 1, got {k}")
    arrays, classes, file = load_embeddings(path)
    emb, y, subjects = arrays["embedding"], arrays["y"].astype(np.int64), arrays["subject"].astype(np.int64)
    keep = y >= 0
    if not keep.any():
        raise DataError(f"{file}: no labelled embeddings (every y is < 0)")
    if classes is not None and int(y[keep].max()) >= len(classes):
        raise DataError(f"{file}: label {int(y[keep].max())} has no class name (the run names {len(classes)} classes)")
    if not keep.all():  # indexing copies the embeddings (103 MiB at 200k x 128) even when it drops nothing
        emb, y, subjects = emb[keep], y[keep], subjects[keep]
    result = latent_benchmark(emb, y, subjects, seed=seed, k=k)
    out_dir = Path(out) if out is not None else file.parent
    with removed_on_error(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [write_json(out_dir / "latent.json", result)]
        if plots:
            from neurorep.evaluation import plots as P

            names = classes or [str(c) for c in range(int(y.max()) + 1)]
            written.append(out_dir / "embedding.png")
            P.embedding_scatter(emb, y, subjects, names, seed=seed, path=written[-1])
    return {**result, "written": [str(p) for p in written]}
