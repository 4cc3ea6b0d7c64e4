"""Latent-space benchmark checked against scikit-learn and the published formulas."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import davies_bouldin_score, silhouette_score
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from neurorep.errors import DataError
from neurorep.evaluation import latent
from neurorep.evaluation.latent import (
    alignment,
    knn_loo_predict,
    l2_normalise,
    latent_benchmark,
    rankme,
    subject_separability,
    uniformity,
)


def _blobs(n: int, d: int, n_labels: int, seed: int, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, d)) * 1.5
    y = rng.integers(0, n_labels, n)
    return (centres[y] + spread * rng.normal(size=(n, d))).astype(np.float32), y


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = _blobs(150, 8, 3, seed=0, spread=1.2)
    subjects = np.random.default_rng(1).integers(0, 4, 150)
    return x, y, subjects


def test_knn_equals_sklearn_leave_one_out(small, monkeypatch) -> None:
    x, y, _ = small
    k = 5
    z = l2_normalise(x)
    # no ties between the k-th and (k+1)-th neighbour, so the neighbour sets are well defined
    sims = np.sort(z @ z.T - 3 * np.eye(len(z)), axis=1)[:, ::-1]
    assert np.min(sims[:, k - 1] - sims[:, k]) > 1e-6
    ref = cross_val_predict(
        KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute"), x, y, cv=LeaveOneOut()
    )
    assert 0.5 < np.mean(ref == y) < 1.0  # a non-trivial case
    np.testing.assert_array_equal(knn_loo_predict(z, y, k=k), ref)
    np.testing.assert_array_equal(knn_loo_predict(z, y, k=k, chunk=7), ref)
    monkeypatch.setattr(latent, "SIM_BLOCK_BYTES", 4 * len(z) * 3)  # 3 rows per block
    np.testing.assert_array_equal(knn_loo_predict(z, y, k=k), ref)
    res = latent_benchmark(x, y, np.zeros(len(y)), k=k)
    assert res["knn_accuracy"] == pytest.approx(np.mean(ref == y))


def test_silhouette_and_davies_bouldin_equal_sklearn(small) -> None:
    x, y, s = small
    res = latent_benchmark(x, y, s)
    assert res["silhouette_n"] == len(y)
    assert res["silhouette"] == pytest.approx(silhouette_score(x, y), rel=1e-5)
    assert res["davies_bouldin"] == pytest.approx(davies_bouldin_score(x, y), rel=1e-5)
    sub = latent_benchmark(x, y, s, max_silhouette=60)
    assert 55 <= sub["silhouette_n"] <= 65
    assert -1 <= sub["silhouette"] <= 1


def test_alignment_uniformity_match_formula() -> None:
    rng = np.random.default_rng(5)
    z = l2_normalise(rng.normal(size=(40, 6)).astype(np.float32)).astype(np.float64)
    y = rng.integers(0, 3, 40)
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(40, k=1)
    expected_unif = np.log(np.mean(np.exp(-2.0 * d2[iu])))
    same = (y[:, None] == y[None, :])[iu]
    expected_align = np.mean(d2[iu][same])
    zf = z.astype(np.float32)
    assert uniformity(zf) == pytest.approx(expected_unif, rel=1e-5)
    assert alignment(zf, y) == pytest.approx(expected_align, rel=1e-5)
    # sampled estimates agree with the exact values on a larger set
    big = l2_normalise(rng.normal(size=(2000, 6)).astype(np.float32))
    yb = rng.integers(0, 3, 2000)
    exact_u = uniformity(big, n_pairs=10**8)
    exact_a = alignment(big, yb, n_pairs=10**8)
    assert uniformity(big, n_pairs=100000, seed=1) == pytest.approx(exact_u, abs=0.03)
    assert alignment(big, yb, n_pairs=100000, seed=1) == pytest.approx(exact_a, rel=0.01)


def test_rankme_of_subspace_is_its_dimension() -> None:
    rng = np.random.default_rng(6)
    q, _ = np.linalg.qr(rng.normal(size=(32, 5)))
    orth = q.T.astype(np.float32)  # 5 orthonormal rows in 32-D: all singular values 1
    assert rankme(orth) == pytest.approx(5.0, abs=1e-3)
    x = (rng.normal(size=(4000, 5)) @ q.T).astype(np.float32)
    r = rankme(x, chunk=333)
    assert 4.6 < r <= 5.0 + 1e-3
    m = rng.normal(size=(200, 12)).astype(np.float32)
    s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    p = s / s.sum() + 1e-7
    assert rankme(m) == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-6)


def test_subject_separability_high_when_separable_and_chance_when_not() -> None:
    rng = np.random.default_rng(7)
    n, d, n_sub = 1200, 16, 4
    subjects = rng.integers(0, n_sub, n)
    offsets = rng.normal(size=(n_sub, d)) * 3
    sep = (offsets[subjects] + rng.normal(size=(n, d))).astype(np.float32)
    res = subject_separability(sep, subjects, seed=0)
    assert res["subject_balanced_accuracy"] > 0.95
    assert res["subject_chance"] == 0.25
    assert res["subject_separability_ratio"] > 3.8
    assert res["subject_separability"] == res["subject_separability_ratio"]
    noise = rng.normal(size=(n, d)).astype(np.float32)
    res = subject_separability(noise, subjects, seed=0)
    assert 0.5 < res["subject_separability_ratio"] < 1.4
    one = subject_separability(noise, np.zeros(n), seed=0)
    assert np.isnan(one["subject_separability_ratio"])


def test_full_benchmark_keys_ranges_and_determinism() -> None:
    x, y = _blobs(600, 16, 4, seed=8, spread=0.3)
    s = np.repeat(np.arange(6), 100)
    a = latent_benchmark(x, y, s, seed=3, k=5)
    b = latent_benchmark(x, y, s, seed=3, k=5)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert a["n"] == 600 and a["dim"] == 16 and a["n_labels"] == 4 and a["n_subjects"] == 6
    assert a["knn_accuracy"] > 0.95 and a["nmi"] > 0.9 and a["ari"] > 0.9
    assert 1.0 <= a["rankme"] <= 16.0
    assert 0.0 <= a["alignment"] < 4.0 and a["uniformity"] < 0.0
    assert a["subject_separability_ratio"] < 2.0


def test_bad_input_raises_data_error(small) -> None:
    x, y, s = small
    bad = x.copy()
    bad[10, 1] = np.nan
    with pytest.raises(DataError, match=r"embeddings contain NaN.*row 10"):
        latent_benchmark(bad, y, s)
    with pytest.raises(DataError, match="labels has 149 entries but the embeddings have 150"):
        latent_benchmark(x, y[:-1], s)
    with pytest.raises(DataError, match="subjects has 10 entries"):
        latent_benchmark(x, y, s[:10])
    with pytest.raises(DataError, match="2-D"):
        latent_benchmark(x[0], y[:1], s[:1])
    inf = x.copy()
    inf[0, 0] = np.inf
    with pytest.raises(DataError, match="infinite"):
        latent_benchmark(inf, y, s)
