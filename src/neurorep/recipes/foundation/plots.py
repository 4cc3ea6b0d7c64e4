"""Figures of one foundation run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from neurorep.evaluation import plots
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.soft_label_plots import reliability_diagram, vote_distribution_plot
from neurorep.recipes.base import RunPlots

__all__ = ["write_run_plots"]


def write_run_plots(folder: Path, run: RunPlots) -> dict[str, str]:
    """Reliability diagram, vote shares, confusion matrix and learning curves as PNGs in ``folder``
    (``run.arrays``: the test votes ``p_true``, predicted ``probs`` and consensus ``y``)."""
    folder.mkdir(parents=True, exist_ok=True)
    p_true, probs, y, classes, curves_csv = run.arrays["p_true"], run.arrays["probs"], run.arrays["y"], run.classes, run.curve()
    written: dict[str, str] = {}

    def save(fig: Figure, name: str) -> None:
        fig.savefig(folder / name, dpi=110, bbox_inches="tight")
        written[name.removesuffix(".png")] = name

    save(reliability_diagram(probs, y, title="Reliability (test)"), "reliability.png")
    save(vote_distribution_plot(p_true, probs, classes), "vote_shares.png")
    cm = np.asarray(classification_metrics(y, probs.argmax(1), classes)["confusion"])
    save(plots.confusion_matrix_plot(cm, classes, normalize=True, title="consensus vs predicted (test)"),
         "confusion.png")
    if curves_csv is not None:
        save(plots.learning_curves(curves_csv, title=plots.curves_title(curves_csv)), "learning_curves.png")
    return written
