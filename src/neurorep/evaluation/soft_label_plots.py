"""Figures for soft-label evaluation: reliability diagram and predicted vs expert vote distributions.

Like :mod:`neurorep.evaluation.plots`, each function builds a Figure without pyplot, returns it,
and saves a PNG when ``path`` is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from neurorep.evaluation._checks import as_list_of_str
from neurorep.evaluation.plots import _save
from neurorep.evaluation.soft_labels import expected_calibration_error, reliability_bins

__all__ = ["reliability_diagram", "vote_distribution_plot"]


def reliability_diagram(p_pred: np.ndarray, y_true: np.ndarray, n_bins: int = 15, title: str = "Reliability",
                        path: str | Path | None = None) -> Figure:
    """Accuracy against top-label confidence per bin (bars), the diagonal of perfect calibration,
    and the share of predictions per bin below; the title carries the ECE."""
    p_pred = np.asarray(p_pred, dtype=np.float64)
    y_true = np.asarray(y_true)
    bins = reliability_bins(p_pred, y_true, n_bins)
    ece = expected_calibration_error(p_pred, y_true, n_bins)
    edges = bins["edges"]
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    fig = Figure(figsize=(5, 6))
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    acc = np.nan_to_num(bins["accuracy"], nan=0.0)
    ax.bar(centres, acc, width=width * 0.95, color="#4C72B0", edgecolor="k", label="accuracy")
    gap = np.nan_to_num(bins["confidence"], nan=0.0) - acc
    ax.bar(centres, gap, bottom=acc, width=width * 0.95, color="#DD8452", alpha=0.5, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    ax2.bar(centres, bins["count"] / max(bins["count"].sum(), 1), width=width * 0.95, color="grey")
    ax2.set_xlabel("confidence (top-class probability)")
    ax2.set_ylabel("share")
    return _save(fig, path)


def vote_distribution_plot(p_true: np.ndarray, p_pred: np.ndarray, class_names: Sequence[str],
                           title: str = "Mean vote share vs mean predicted probability",
                           path: str | Path | None = None) -> Figure:
    """Grouped bars per class: mean expert vote share and mean predicted probability."""
    names = as_list_of_str(class_names)
    p_true, p_pred = np.asarray(p_true, dtype=np.float64), np.asarray(p_pred, dtype=np.float64)
    x = np.arange(len(names))
    fig = Figure(figsize=(1.0 * len(names) + 3, 3.5))
    ax = fig.subplots()
    ax.bar(x - 0.2, p_true.mean(axis=0), width=0.4, label="experts (vote share)")
    ax.bar(x + 0.2, p_pred.mean(axis=0), width=0.4, label="model (probability)")
    ax.set_xticks(x, names)
    ax.set_xlabel("class")
    ax.set_ylabel("mean share / probability")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)
