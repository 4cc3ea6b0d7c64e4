"""Retrieval metrics on hand-made similarity matrices."""

from __future__ import annotations

import numpy as np
import pytest

from neurorep.errors import DataError
from neurorep.evaluation.retrieval import (
    chance_level,
    cosine_similarity,
    k_way_accuracy,
    per_category_accuracy,
    ranks,
    retrieval_metrics,
    topk_accuracy,
)

# 4 queries x 4 candidates; right answer on the diagonal.
SIM = np.array([
    [0.9, 0.1, 0.2, 0.0],   # rank 0
    [0.8, 0.5, 0.1, 0.0],   # rank 1 (candidate 0 higher)
    [0.7, 0.6, 0.3, 0.4],   # rank 3
    [0.1, 0.2, 0.3, 0.25],  # rank 1
])


def test_ranks_and_topk_by_hand() -> None:
    np.testing.assert_array_equal(ranks(SIM), [0, 1, 3, 1])
    assert topk_accuracy(SIM, 1) == 0.25
    assert topk_accuracy(SIM, 2) == 0.75
    assert topk_accuracy(SIM, 4) == 1.0
    assert topk_accuracy(SIM, 1, targets=[0, 0, 0, 2]) == 1.0  # every query's best


def test_ties_count_in_favour_of_the_query() -> None:
    sim = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert topk_accuracy(sim, 1) == 1.0


def test_full_way_is_exact_and_matches_topk() -> None:
    rng = np.random.default_rng(0)
    sim = rng.normal(size=(30, 30)) + 3 * np.eye(30)
    acc = k_way_accuracy(sim, 30, ks=(1, 5))
    assert acc[1] == topk_accuracy(sim, 1) and acc[5] == topk_accuracy(sim, 5)


def test_two_way_by_enumeration() -> None:
    # 2-way accuracy in expectation = mean over queries of the fraction of wrong candidates scored lower
    rng = np.random.default_rng(1)
    sim = rng.normal(size=(20, 20))
    exact = np.mean([(np.delete(sim[i], i) < sim[i, i]).mean() for i in range(20)])
    est = k_way_accuracy(sim, 2, ks=(1,), n_draws=400, seed=0)[1]
    assert est == pytest.approx(exact, abs=0.02)


def test_random_scores_sit_at_chance_and_perfect_at_one() -> None:
    rng = np.random.default_rng(2)
    sim = rng.normal(size=(200, 200))
    m = retrieval_metrics(sim, ways=(2, 4, 50, 200), ks=(1, 5), n_draws=20)
    assert set(m) == {"2-way", "4-way", "50-way", "200-way"}
    assert "top5" not in m["2-way"] and "top5" not in m["4-way"]
    for way, row in m.items():
        assert row["top1"] == pytest.approx(row["chance_top1"], abs=0.05 if way != "2-way" else 0.03)
    assert m["200-way"]["chance_top1"] == 0.005 and m["200-way"]["chance_top5"] == 0.025
    perfect = retrieval_metrics(np.eye(200) + 0.01 * sim, n_draws=2)
    assert all(v == 1.0 for row in perfect.values() for k, v in row.items() if k.startswith("top"))


def test_chance_level() -> None:
    assert chance_level(200, 1) == 0.005 and chance_level(200, 5) == 0.025 and chance_level(2, 5) == 1.0


def test_per_category() -> None:
    cats = ["animal", "animal", "tool", "tool"]
    out = per_category_accuracy(SIM, cats)
    assert out["animal"]["n"] == 2 and out["animal"]["top1"] == 0.5 and out["tool"]["top1"] == 0.0
    assert out["tool"]["top5"] == 1.0
    # best candidates: 0, 0, 0, 2 -> categories animal, animal, animal, tool
    assert out["animal"]["category_hit"] == 1.0 and out["tool"]["category_hit"] == 0.5


def test_cosine_similarity_and_bad_input() -> None:
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(cosine_similarity(a, a), [[1, 2 ** -0.5], [2 ** -0.5, 1]])
    with pytest.raises(DataError, match="equal D"):
        cosine_similarity(a, np.ones((2, 3)))
    with pytest.raises(DataError, match="targets"):
        topk_accuracy(SIM, 1, targets=[0, 1])
    with pytest.raises(DataError, match="way must be between"):
        k_way_accuracy(SIM, 5)
