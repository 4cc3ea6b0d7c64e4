"""Input validation and seeded stratified sampling shared by the evaluation modules.

Every check raises :class:`neurorep.errors.DataError` naming the argument and what was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurorep.errors import DataError


def check_embeddings(emb: object, name: str = "embeddings") -> np.ndarray:
    """Return ``emb`` as a C-contiguous float32 array of shape ``[N, D]``.

    Copies only when the input is not already float32 and C-contiguous. Raises ``DataError`` when
    the array is not 2-D, is empty, or holds NaN or infinite values (the message gives the count
    and the first offending row).
    """
    arr = np.asarray(emb)
    if arr.ndim != 2:
        raise DataError(f"{name} must be a 2-D array [N, D]; got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"{name} must be non-empty; got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    finite = _row_finite(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise DataError(
            f"{name} contain NaN or infinite values in {bad.size} of {arr.shape[0]} rows "
            f"(first at row {int(bad[0])})"
        )
    return arr


def _row_finite(arr: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Boolean ``[N]``: whether every value of each row of ``arr [N, D]`` is finite (chunked)."""
    out = np.empty(arr.shape[0], dtype=bool)
    for start in range(0, arr.shape[0], chunk):
        out[start : start + chunk] = np.isfinite(arr[start : start + chunk]).all(axis=1)
    return out


def check_labels(labels: object, n: int | None, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as a 1-D array ``[N]``; ``n`` is the expected length (``None``: any).

    Raises ``DataError`` for a wrong number of dimensions, a length that differs from ``n``, or
    NaN values in a floating-point label array.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-D array; got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise DataError(f"{name} has {arr.shape[0]} entries but the embeddings have {n} rows")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise DataError(f"{name} contain NaN or infinite values")
    return arr


def check_class_indices(y: object, n_classes: int, name: str, n: int | None = None) -> np.ndarray:
    """Return ``y`` as int64 ``[N]`` after checking every value is an index in ``[0, n_classes)``."""
    arr = check_labels(y, n, name)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise DataError(f"{name} must hold integer class indices; got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        bad = arr[(arr < 0) | (arr >= n_classes)]
        raise DataError(
            f"{name} must be class indices in [0, {n_classes}) (one per class name); "
            f"found {int(bad[0])}"
        )
    return arr


def stratified_subset(
    labels: np.ndarray,
    fraction: float | None = None,
    max_total: int | None = None,
    seed: int = 0,
    min_per_class: int = 1,
) -> np.ndarray:
    """Seeded stratified subsample of the positions ``0..N-1`` of ``labels [N]``.

    Give either ``fraction`` (of every class) or ``max_total`` (keep at most this many points, each
    class in proportion). Each class keeps ``round(share * count)`` points but at least
    ``min(min_per_class, count)``, so every class present keeps at least one point. Returns the
    sorted int64 positions; the same ``seed`` always gives the same subset.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if fraction is None and max_total is None:
        raise ValueError("give fraction or max_total")
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise DataError(f"label fraction must be in (0, 1]; got {fraction}")
    share = float(fraction) if fraction is not None else min(1.0, int(max_total) / max(n, 1))  # type: ignore[arg-type]
    if share >= 1.0:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    classes, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=classes.size))])
    picks: list[np.ndarray] = []
    for c in range(classes.size):
        members = order[bounds[c] : bounds[c + 1]]
        take = max(int(round(share * members.size)), min(min_per_class, members.size))
        picks.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(picks)).astype(np.int64)


def as_list_of_str(names: Sequence[str], name: str = "class_names") -> list[str]:
    """Return ``names`` as a list of strings; raises ``DataError`` when it is empty or repeats a name."""
    out = [str(x) for x in names]
    if not out:
        raise DataError(f"{name} must not be empty")
    if len(set(out)) != len(out):
        raise DataError(f"{name} repeats a name: {out}")
    return out
