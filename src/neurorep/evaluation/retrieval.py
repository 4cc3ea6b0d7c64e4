"""Zero-shot retrieval metrics: k-way top-k accuracy on a query x candidate similarity matrix.

Queries are EEG embeddings, candidates are image embeddings; ``sim[i, j]`` scores query ``i``
against candidate ``j`` and the right candidate of query ``i`` is ``targets[i]`` (by default
``i``, the diagonal). A query counts as a top-``k`` hit when fewer than ``k`` candidates score
strictly higher than its right one (ties are resolved in the query's favour, as ``argsort`` with a
stable order would for the first-listed candidate; hand-made ties are documented in the tests).

``N``-way retrieval with ``N`` smaller than the number of candidates draws, for every query,
``N - 1`` distractors at random from the other candidates (seeded, ``n_draws`` times) and
averages; with ``N`` equal to the number of candidates it is exact. Chance of top-``k`` in
``N``-way retrieval is ``min(k, N) / N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neurorep.errors import DataError

__all__ = ["chance_level", "cosine_similarity", "k_way_accuracy", "per_category_accuracy", "ranks",
           "retrieval_metrics", "topk_accuracy"]


def cosine_similarity(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Cosine similarity ``[Nq, Nc]`` between ``queries[Nq, D]`` and ``candidates[Nc, D]`` (float64)."""
    q, c = np.asarray(queries, dtype=np.float64), np.asarray(candidates, dtype=np.float64)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise DataError(f"cosine_similarity: expected [Nq, D] and [Nc, D] with equal D, got {q.shape} and {c.shape}")
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return q @ c.T


def _check(sim: np.ndarray, targets: np.ndarray | Sequence[int] | None) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(sim, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
        raise DataError(f"retrieval: similarity must be a non-empty [queries, candidates] matrix, got shape {s.shape}")
    if targets is None:
        if s.shape[0] > s.shape[1]:
            raise DataError(f"retrieval: without targets the diagonal is the answer, so queries ({s.shape[0]}) "
                            f"cannot outnumber candidates ({s.shape[1]})")
        t = np.arange(s.shape[0])
    else:
        t = np.asarray(targets, dtype=np.int64)
        if t.shape != (s.shape[0],) or (t.size and (t.min() < 0 or t.max() >= s.shape[1])):
            raise DataError(f"retrieval: targets must be {s.shape[0]} indices in [0, {s.shape[1]}), got shape {t.shape}")
    if not np.isfinite(s).all():
        raise DataError("retrieval: similarity matrix has non-finite values")
    return s, t


def ranks(sim: np.ndarray, targets: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
    """0-based rank of each query's right candidate: the number of candidates scoring strictly higher."""
    s, t = _check(sim, targets)
    right = s[np.arange(len(t)), t]
    return (s > right[:, None]).sum(axis=1)


def topk_accuracy(sim: np.ndarray, k: int = 1, targets: np.ndarray | Sequence[int] | None = None) -> float:
    """Fraction of queries whose right candidate is among the ``k`` best of all candidates."""
    if k < 1:
        raise DataError(f"topk_accuracy: k must be >= 1, got {k}")
    return float((ranks(sim, targets) < k).mean())


def chance_level(way: int, k: int) -> float:
    """Chance of a top-``k`` hit in ``way``-way retrieval: ``min(k, way) / way``."""
    return min(k, way) / way


def k_way_accuracy(sim: np.ndarray, way: int, ks: Sequence[int] = (1, 5),
                   targets: np.ndarray | Sequence[int] | None = None, n_draws: int = 10,
                   seed: int = 0) -> dict[int, float]:
    """Top-``k`` accuracy of ``way``-way retrieval for each ``k`` of ``ks``.

    Exact when ``way`` equals the number of candidates; otherwise the mean over ``n_draws`` random
    draws per query of ``way - 1`` distractors (never the right candidate).
    """
    s, t = _check(sim, targets)
    n_q, n_c = s.shape
    if not 2 <= way <= n_c:
        raise DataError(f"k_way_accuracy: way must be between 2 and the number of candidates ({n_c}), got {way}")
    if way == n_c:
        r = ranks(s, t)
        return {k: float((r < k).mean()) for k in ks}
    rng = np.random.default_rng(seed)
    right = s[np.arange(n_q), t]
    hits = {k: 0.0 for k in ks}
    for _ in range(n_draws):
        # way-1 distinct distractors per query, drawn from the n_c - 1 wrong candidates
        keys = rng.random((n_q, n_c))
        keys[np.arange(n_q), t] = np.inf
        pick = np.argpartition(keys, way - 1, axis=1)[:, : way - 1]
        higher = (np.take_along_axis(s, pick, axis=1) > right[:, None]).sum(axis=1)
        for k in ks:
            hits[k] += float((higher < k).mean())
    return {k: hits[k] / n_draws for k in ks}


def retrieval_metrics(sim: np.ndarray, ways: Sequence[int] = (2, 4, 50, 200), ks: Sequence[int] = (1, 5),
                      targets: np.ndarray | Sequence[int] | None = None, n_draws: int = 10,
                      seed: int = 0) -> dict[str, dict[str, float]]:
    """``{"<way>-way": {"top<k>": acc, "chance_top<k>": chance, ...}}`` for every way that fits.

    Ways larger than the number of candidates are left out; top-``k`` with ``k >= way`` is left out
    (it would always be 1).
    """
    n_c = np.asarray(sim).shape[1]
    out: dict[str, dict[str, float]] = {}
    for way in ways:
        if way > n_c:
            continue
        use = [k for k in ks if k < way]
        if not use:
            continue
        acc = k_way_accuracy(sim, way, use, targets, n_draws, seed)
        row: dict[str, float] = {}
        for k in use:
            row[f"top{k}"] = acc[k]
            row[f"chance_top{k}"] = chance_level(way, k)
        out[f"{way}-way"] = row
    return out


def per_category_accuracy(sim: np.ndarray, categories: Sequence[str] | np.ndarray,
                          targets: np.ndarray | Sequence[int] | None = None,
                          candidate_categories: Sequence[str] | np.ndarray | None = None,
                          ks: Sequence[int] = (1, 5)) -> dict[str, dict[str, Any]]:
    """Retrieval accuracy per higher-level category of the queries' right images.

    ``categories[i]`` is the category of query ``i``'s right candidate. Per category: ``n``
    (queries), ``top<k>`` (all-candidate top-``k`` accuracy) and ``category_hit`` (fraction of
    queries whose best candidate belongs to the same category; needs ``candidate_categories``,
    which defaults to ``categories`` when the targets are the diagonal of a square matrix).
    """
    s, t = _check(sim, targets)
    cats = np.asarray(categories).astype(str)
    if cats.shape != (s.shape[0],):
        raise DataError(f"per_category_accuracy: need one category per query ({s.shape[0]}), got {cats.shape[0]}")
    if candidate_categories is None and targets is None and s.shape[0] == s.shape[1]:
        candidate_categories = cats
    r = ranks(s, t)
    best = s.argmax(axis=1)
    cand = None if candidate_categories is None else np.asarray(candidate_categories).astype(str)
    out: dict[str, dict[str, Any]] = {}
    for c in sorted(set(cats.tolist())):
        m = cats == c
        row: dict[str, Any] = {"n": int(m.sum())}
        for k in ks:
            row[f"top{k}"] = float((r[m] < k).mean())
        if cand is not None:
            row["category_hit"] = float((cand[best[m]] == c).mean())
        out[c] = row
    return out
