"""Latent-space benchmark: how well an embedding separates classes, and how it fills its space.

Everything is float32 and chunked so that memory stays O(chunk * N + N * D + D^2); no N x N
matrix is built. At N = 200,000 and D = 128 the whole benchmark peaks well under 2 GB
(``benchmarks/latent_memory.py`` measures it).

Geometry: the kNN accuracy, alignment and uniformity use L2-normalised embeddings (cosine
geometry, the hypersphere of Wang & Isola); silhouette, Davies-Bouldin, k-means clustering,
RankMe and subject separability use the embeddings as given (Euclidean geometry).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import sklearn
import torch
from sklearn.cluster import MiniBatchKMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    adjusted_rand_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from neurorep.evaluation._checks import (
    check_embeddings,
    check_labels,
    stratified_subset,
)
from neurorep.evaluation.metrics import classification_metrics

__all__ = [
    "alignment",
    "knn_loo_predict",
    "l2_normalise",
    "latent_benchmark",
    "rankme",
    "subject_separability",
    "uniformity",
]

#: Upper bound, in bytes, on the float32 similarity block ``[rows, N]`` of the kNN search.
SIM_BLOCK_BYTES = 256 * 2**20
#: Working memory, in MiB, that scikit-learn may use for its own chunked pairwise distances.
SKLEARN_WORKING_MEMORY_MB = 128


def l2_normalise(x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Row-wise L2-normalised float32 copy of ``x [N, D]``; an all-zero row stays zero."""
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, x.shape[0], chunk):
        block = x[start : start + chunk].astype(np.float32, copy=False)
        norm = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64))
        norm[norm == 0] = 1.0
        out[start : start + chunk] = block / norm[:, None].astype(np.float32)
    return out


def knn_loo_predict(
    z: np.ndarray, y: np.ndarray, k: int = 10, chunk: int = 4096, device: str | torch.device = "cpu"
) -> np.ndarray:
    """Leave-one-out k-nearest-neighbour prediction by cosine similarity.

    Args:
        z: L2-normalised embeddings, float32 ``[N, D]``.
        y: class codes ``0..L-1``, int ``[N]``.
        k: neighbours per point (at most ``N - 1``); majority vote, ties go to the smallest code
           (as :class:`sklearn.neighbors.KNeighborsClassifier`).
        chunk: largest row block; it is shrunk so that the ``[rows, N]`` float32 similarity block
           stays under :data:`SIM_BLOCK_BYTES`.
        device: torch device for the similarity blocks (the embeddings are copied there once).

    Returns the predicted code per point, int64 ``[N]``. A point is never its own neighbour.
    """
    n = z.shape[0]
    k_eff = min(int(k), n - 1)
    if k_eff < 1:
        raise ValueError("kNN needs at least two points")
    rows = max(1, min(int(chunk), SIM_BLOCK_BYTES // (4 * n), n))
    dev = torch.device(device)
    zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).to(dev)
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)).to(dev)
    n_codes = int(yt.max()) + 1
    buf = torch.empty((rows, n), dtype=torch.float32, device=dev)
    pred = np.empty(n, dtype=np.int64)
    ar = torch.arange(rows, device=dev)
    with torch.no_grad():
        for start in range(0, n, rows):
            m = min(rows, n - start)
            block = buf[:m]
            torch.matmul(zt[start : start + m], zt.T, out=block)
            block[ar[:m], ar[:m] + start] = -float("inf")
            idx = torch.topk(block, k_eff, dim=1, largest=True, sorted=False).indices
            votes = torch.zeros((m, n_codes), dtype=torch.int32, device=dev)
            votes.scatter_add_(1, yt[idx], torch.ones_like(idx, dtype=torch.int32))
            pred[start : start + m] = votes.argmax(dim=1).cpu().numpy()
    return pred


def _sq_dists(z: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Squared distances ``||z_i - z_j||^2`` (float64 ``[P]``) for index pairs ``i, j [P]``."""
    out = np.empty(i.shape[0], dtype=np.float64)
    for start in range(0, i.shape[0], chunk):
        diff = z[i[start : start + chunk]] - z[j[start : start + chunk]]
        out[start : start + chunk] = np.einsum("ij,ij->i", diff, diff, dtype=np.float64)
    return out


def alignment(z: np.ndarray, y: np.ndarray, n_pairs: int = 50000, seed: int = 0, alpha: float = 2.0) -> float:
    """Alignment of Wang & Isola (2020): ``E ||z_i - z_j||^alpha`` over positive pairs.

    Positives are pairs ``i != j`` with the same label in ``y [N]``; ``z [N, D]`` should be
    L2-normalised. When there are at most ``n_pairs`` positive pairs, all are used (exact);
    otherwise ``n_pairs`` are drawn uniformly from them with ``seed``. Lower is better. NaN when
    no label occurs twice.
    """
    codes = np.unique(y, return_inverse=True)[1]
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    pairs_per = counts.astype(np.float64) * (counts - 1) / 2.0
    total = pairs_per.sum()
    if total == 0:
        return float("nan")
    if total <= n_pairs:
        ii, jj = [], []
        for c in np.flatnonzero(counts > 1):
            members = order[bounds[c] : bounds[c + 1]]
            a, b = np.triu_indices(members.size, k=1)
            ii.append(members[a])
            jj.append(members[b])
        i, j = np.concatenate(ii), np.concatenate(jj)
    else:
        rng = np.random.default_rng(seed)
        cls = rng.choice(counts.size, size=n_pairs, p=pairs_per / total)
        cnt = counts[cls]
        pos_i = rng.integers(0, cnt)
        pos_j = (pos_i + 1 + rng.integers(0, cnt - 1)) % cnt
        i, j = order[bounds[cls] + pos_i], order[bounds[cls] + pos_j]
    d2 = _sq_dists(z, i, j)
    return float(np.mean(d2 ** (alpha / 2.0)))


def uniformity(z: np.ndarray, n_pairs: int = 50000, seed: int = 0, t: float = 2.0) -> float:
    """Uniformity of Wang & Isola (2020): ``log E exp(-t ||z_i - z_j||^2)`` over pairs ``i != j``.

    ``z [N, D]`` should be L2-normalised. All ``N (N - 1) / 2`` pairs are used when there are at
    most ``n_pairs`` of them (exact); otherwise ``n_pairs`` uniformly drawn pairs with ``seed``.
    Lower (more negative) is more uniform.
    """
    n = z.shape[0]
    if n < 2:
        return float("nan")
    if n * (n - 1) / 2 <= n_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed + 1)
        i = rng.integers(0, n, size=n_pairs)
        j = (i + 1 + rng.integers(0, n - 1, size=n_pairs)) % n
    a = -t * _sq_dists(z, i, j)
    top = a.max()
    return float(top + np.log(np.mean(np.exp(a - top))))


def rankme(x: np.ndarray, chunk: int = 65536, eps: float = 1e-7) -> float:
    """RankMe effective rank (Garrido et al., 2023) of ``x [N, D]``.

    ``exp(-sum_k p_k log p_k)`` with ``p_k = sigma_k / sum(sigma) + eps``, where ``sigma`` are the
    singular values of ``x``, obtained as square roots of the eigenvalues of the ``D x D`` Gram
    matrix ``x^T x`` accumulated over row chunks in float64. Between 1 and ``min(N, D)``.
    """
    gram = np.zeros((x.shape[1], x.shape[1]), dtype=np.float64)
    for start in range(0, x.shape[0], chunk):
        block = x[start : start + chunk].astype(np.float64)
        gram += block.T @ block
    sigma = np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None))
    if sigma.sum() == 0:
        return float("nan")
    p = sigma / sigma.sum() + eps
    return float(np.exp(-np.sum(p * np.log(p))))


def subject_separability(
    x: np.ndarray, subjects: np.ndarray, seed: int = 0, max_points: int = 20000, max_iter: int = 300
) -> dict[str, float]:
    """How well a linear classifier tells subjects apart from the embeddings ``x [N, D]``.

    A seeded subsample of at most ``max_points`` rows, stratified by subject, is split in two
    halves (stratified by subject); a standardised logistic regression fitted on one half predicts
    the subject of the other. Subjects with fewer than two sampled rows are left out.

    Returns ``subject_balanced_accuracy`` (on the held-out half), ``subject_chance``
    (``1 / n_subjects``) and ``subject_separability_ratio`` (their ratio; 1 is chance, lower is
    better for subject-invariant embeddings), also under the key ``subject_separability``, and
    ``subject_n_used`` (rows in both halves). NaN when fewer than two subjects remain.
    """
    nan = {"subject_balanced_accuracy": float("nan"), "subject_chance": float("nan"),
           "subject_separability_ratio": float("nan"), "subject_separability": float("nan"), "subject_n_used": 0}
    sub = np.unique(subjects, return_inverse=True)[1]
    idx = stratified_subset(sub, max_total=max_points, seed=seed + 2, min_per_class=2)
    counts = np.bincount(sub[idx], minlength=int(sub.max()) + 1)
    idx = idx[counts[sub[idx]] >= 2]
    codes = np.unique(sub[idx], return_inverse=True)[1]
    n_sub = int(codes.max()) + 1 if codes.size else 0
    if n_sub < 2:
        return nan
    train = np.zeros(idx.size, dtype=bool)
    train[stratified_subset(codes, fraction=0.5, seed=seed + 3, min_per_class=1)] = True
    xs = x[idx]
    mean = xs[train].mean(axis=0, dtype=np.float64).astype(np.float32)
    std = xs[train].std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    xs = (xs - mean) / std.astype(np.float32)
    clf = LogisticRegression(C=1.0, solver="lbfgs", max_iter=max_iter)
    clf.fit(xs[train], codes[train])
    pred = clf.predict(xs[~train])
    names = [str(c) for c in range(n_sub)]
    bal = classification_metrics(codes[~train], pred, names)["balanced_accuracy"]
    chance = 1.0 / n_sub
    return {"subject_balanced_accuracy": float(bal), "subject_chance": chance,
            "subject_separability_ratio": float(bal / chance), "subject_separability": float(bal / chance),
            "subject_n_used": int(idx.size)}


def latent_benchmark(
    emb: np.ndarray,
    labels: np.ndarray,
    subjects: np.ndarray,
    seed: int = 0,
    k: int = 10,
    chunk: int = 4096,
    max_silhouette: int = 20000,
    n_pairs: int = 50000,
    max_subject_points: int = 20000,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Latent-space metrics of embeddings ``emb [N, D]`` with ``labels [N]`` and ``subjects [N]``.

    Returned keys (floats unless said; NaN where a metric is undefined, e.g. one label only):

    - ``n``, ``dim``, ``n_labels``, ``n_subjects`` (ints): sizes.
    - ``knn_accuracy``: leave-one-out ``k``-NN majority vote with cosine similarity (higher better).
    - ``knn_balanced_accuracy``: the same predictions scored by mean per-label recall.
    - ``silhouette``: :func:`sklearn.metrics.silhouette_score` (Euclidean) of the labels on a
      seeded stratified subsample of at most ``max_silhouette`` rows (all rows if ``N`` is at most
      that); in [-1, 1], higher better. ``silhouette_n`` (int) is the number of rows used.
    - ``davies_bouldin``: :func:`sklearn.metrics.davies_bouldin_score` of the labels on all rows
      (lower better).
    - ``alignment``: Wang & Isola alignment over same-label pairs of normalised embeddings (lower
      better); ``uniformity``: their uniformity over random pairs (lower better). See
      :func:`alignment`, :func:`uniformity` (``n_pairs`` pairs, exact when fewer exist).
    - ``rankme``: RankMe effective rank, in [1, min(N, D)] (higher = more dimensions used).
    - ``nmi``, ``ari``: agreement of :class:`~sklearn.cluster.MiniBatchKMeans` clusters
      (``n_clusters = n_labels``, batches of ``chunk`` rows, ``random_state=seed``) with the labels.
    - ``subject_separability`` (= ``subject_separability_ratio``): balanced accuracy of a linear
      classifier predicting the subject on a held-out half, divided by chance (1 = chance, lower =
      less subject identity); with ``subject_balanced_accuracy``, ``subject_chance``,
      ``subject_n_used``. See :func:`subject_separability`.
    - ``seconds`` (dict): wall time of each part.

    ``device`` is the torch device of the kNN similarity blocks (the rest runs on the CPU).

    Raises ``DataError`` for NaN/infinite embeddings, a wrong shape, or labels/subjects whose
    length differs from the number of rows.
    """
    x = check_embeddings(emb, "embeddings")
    n, dim = x.shape
    lab = check_labels(labels, n, "labels")
    sub = check_labels(subjects, n, "subjects")
    y = np.unique(lab, return_inverse=True)[1].astype(np.int64)
    n_labels = int(y.max()) + 1
    n_subjects = int(np.unique(sub).size)
    seconds: dict[str, float] = {}
    out: dict[str, Any] = {"n": int(n), "dim": int(dim), "n_labels": n_labels, "n_subjects": n_subjects}

    tic = time.perf_counter()
    z = l2_normalise(x)
    if n >= 2:
        pred = knn_loo_predict(z, y, k=k, chunk=chunk, device=device)
        out["knn_accuracy"] = float(np.mean(pred == y))
        names = [str(c) for c in range(n_labels)]
        out["knn_balanced_accuracy"] = classification_metrics(y, pred, names)["balanced_accuracy"]
    else:
        out["knn_accuracy"] = out["knn_balanced_accuracy"] = float("nan")
    seconds["knn"] = time.perf_counter() - tic

    tic = time.perf_counter()
    out["alignment"] = alignment(z, y, n_pairs=n_pairs, seed=seed)
    out["uniformity"] = uniformity(z, n_pairs=n_pairs, seed=seed)
    del z
    seconds["alignment_uniformity"] = time.perf_counter() - tic

    tic = time.perf_counter()
    out["rankme"] = rankme(x)
    seconds["rankme"] = time.perf_counter() - tic

    tic = time.perf_counter()
    idx = stratified_subset(y, max_total=max_silhouette, seed=seed, min_per_class=2)
    out["silhouette_n"] = int(idx.size)
    if 2 <= n_labels <= idx.size - 1:
        with sklearn.config_context(working_memory=SKLEARN_WORKING_MEMORY_MB):
            out["silhouette"] = float(silhouette_score(x[idx], y[idx]))
    else:
        out["silhouette"] = float("nan")
    seconds["silhouette"] = time.perf_counter() - tic

    tic = time.perf_counter()
    two_or_more = 2 <= n_labels <= n - 1
    out["davies_bouldin"] = float(davies_bouldin_score(x, y)) if two_or_more else float("nan")
    seconds["davies_bouldin"] = time.perf_counter() - tic

    tic = time.perf_counter()
    if two_or_more:
        km = MiniBatchKMeans(n_clusters=n_labels, batch_size=min(int(chunk), n), random_state=seed, n_init=3)
        clusters = km.fit_predict(x)
        out["nmi"] = float(normalized_mutual_info_score(y, clusters))
        out["ari"] = float(adjusted_rand_score(y, clusters))
    else:
        out["nmi"] = out["ari"] = float("nan")
    seconds["clustering"] = time.perf_counter() - tic

    tic = time.perf_counter()
    out.update(subject_separability(x, sub, seed=seed, max_points=max_subject_points))
    seconds["subject_separability"] = time.perf_counter() - tic

    out["seconds"] = seconds
    return out
