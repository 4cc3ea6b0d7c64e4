"""Soft-label metrics against their formulas and reference implementations (torch KLDiv, sklearn)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, roc_auc_score

from neurorep.errors import DataError
from neurorep.evaluation.soft_labels import (
    KAGGLE_EPSILON,
    auroc,
    expected_calibration_error,
    kl_divergence,
    per_class_auroc,
    soft_label_metrics,
)

CLASSES = ["seizure", "lpd", "gpd", "lrda", "grda", "other"]


def _dists(n: int, k: int, seed: int, zeros: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k) * 0.7, size=n)
    if zeros:
        p[rng.random((n, k)) < 0.3] = 0.0
        p[p.sum(1) == 0, 0] = 1.0
        p = p / p.sum(1, keepdims=True)
    return p


def test_kl_matches_torch_kldiv_batchmean() -> None:
    p, q = _dists(50, 6, 0), _dists(50, 6, 1, zeros=False)
    ref = F.kl_div(torch.log(torch.tensor(q)), torch.tensor(p), reduction="batchmean").item()
    assert kl_divergence(p, q) == pytest.approx(ref, rel=1e-10)


def test_kl_formula_and_kaggle_clipping() -> None:
    p = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    q = np.array([[0.25, 0.75, 0.0], [0.0, 0.5, 0.5]])  # a zero prediction where the truth is 1
    row0 = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    row1 = 1.0 * np.log(1.0 / KAGGLE_EPSILON)  # clipped away from 0, not infinite
    assert kl_divergence(p, q) == pytest.approx((row0 + row1) / 2, rel=1e-12)
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    # terms where the truth is 0 do not count, whatever the prediction there
    assert kl_divergence(p[:1], np.array([[0.25, 0.75, 0.9]])) == pytest.approx(row0)


def test_kl_rejects_bad_input() -> None:
    with pytest.raises(DataError, match="rows must sum to 1"):
        kl_divergence(np.array([[0.5, 0.2]]), np.array([[0.5, 0.5]]))
    with pytest.raises(DataError, match="shape"):
        kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.3, 0.3, 0.4]]))


def test_auroc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(bool)
    s = np.round(rng.random(200) + 0.3 * y, 1)  # rounded: many ties
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s), rel=1e-12)
    assert np.isnan(auroc(s, np.zeros(200, bool)))


def test_per_class_auroc_and_macro_f1_match_sklearn() -> None:
    p, q = _dists(300, 6, 2), _dists(300, 6, 3, zeros=False)
    q = 0.5 * q + 0.5 * p  # informative predictions
    y = p.argmax(1)
    aucs = per_class_auroc(q, y, CLASSES)
    for k, name in enumerate(CLASSES):
        assert aucs[name] == pytest.approx(roc_auc_score(y == k, q[:, k]), rel=1e-12)
    m = soft_label_metrics(p, q, CLASSES)
    assert m["macro_f1"] == pytest.approx(f1_score(y, q.argmax(1), average="macro"), rel=1e-12)
    assert m["accuracy"] == pytest.approx(float(np.mean(q.argmax(1) == y)))
    assert m["kl_divergence"] == pytest.approx(kl_divergence(p, q))
    assert set(m["per_class_auroc"]) == set(CLASSES) and 0.5 < m["macro_auroc"] <= 1


def test_ece_formula() -> None:
    # two bins used: conf 0.9 (2 rows, 1 correct) and conf 0.6 (2 rows, 2 correct)
    q = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
    y = np.array([0, 1, 1, 1])
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert expected_calibration_error(q, y, n_bins=10) == pytest.approx(expected)
    # a perfectly calibrated confident model has ECE 0
    assert expected_calibration_error(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])) == pytest.approx(0.0)


def test_reliability_plot(tmp_path) -> None:
    from neurorep.evaluation.soft_label_plots import (
        reliability_diagram,
        vote_distribution_plot,
    )

    p, q = _dists(100, 6, 4), _dists(100, 6, 5, zeros=False)
    reliability_diagram(q, p.argmax(1), path=tmp_path / "rel.png")
    vote_distribution_plot(p, q, CLASSES, path=tmp_path / "votes.png")
    assert (tmp_path / "rel.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "votes.png").stat().st_size > 1000
