"""The HTML report of the foundation transfer-vs-scratch benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from neurorep.evaluation.report import Section, write_report
from neurorep.recipes.base import BenchmarkResults
from neurorep.recipes.foundation.tables import verdict


def _kl_by_seed(rows: list[dict[str, Any]]) -> Figure:
    """Test KL divergence per seed, one marker series per method (lower is better).

    Seeds are categories (each is its own patient split), so the x axis has one tick per seed and
    points are not joined across seeds.
    """
    fig = Figure(figsize=(6, 3.8))
    ax = fig.subplots()
    seeds = sorted({int(r["seed"]) for r in rows if "kl_divergence" in r})
    pos = {s: i for i, s in enumerate(seeds)}
    labels = list(dict.fromkeys(r["row"] for r in rows))
    for j, label in enumerate(labels):
        pts = sorted((int(r["seed"]), r["kl_divergence"]) for r in rows if r["row"] == label and "kl_divergence" in r)
        if pts:
            shift = (j - (len(labels) - 1) / 2) * 0.12
            ax.plot([pos[p[0]] + shift for p in pts], [p[1] for p in pts], marker="o", linestyle="none", label=label)
    prior = [r["prior_kl_divergence"] for r in rows if "prior_kl_divergence" in r]
    if prior:
        ax.axhline(float(np.mean(prior)), color="grey", ls="--", lw=1, label="constant mean-vote prediction")
    ax.set_xticks(range(len(seeds)), [f"seed {s}" for s in seeds])
    ax.set_xlim(-0.5, len(seeds) - 0.5)
    ax.set_xlabel("seed (patient split and initialisation)")
    ax.set_ylabel("test KL divergence")
    ax.set_title("Pretrain -> fine-tune vs from scratch (same fine-tuning budget)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return fig


def write_grid_report(results: BenchmarkResults) -> Path:
    """Write ``out/report.html`` and return its path."""
    out, rows, grid_cfg, seconds = results.out, results.rows, results.grid, results.seconds
    sections = [Section("Study", text=(
        f"{len(rows)} runs ({grid_cfg['seeds']} seed(s)) in {seconds / 60:.1f} min. Each seed draws its own "
        "patient-wise split. 'Pretrain + fine-tune' pretrains the eeg_foundation model without labels "
        "(masked patch reconstruction + contrastive views) on random crops of the training patients' EEGs, "
        "then fine-tunes on the expert vote distributions (KL loss) with the backbone frozen first and "
        "unfrozen top-down at a lower learning rate. 'From scratch' trains the same architecture from a "
        "random initialisation with the same fine-tuning budget (epochs, batch size, labels, early stopping). "
        "Test KL divergence is the competition score (lower is better); values are mean ± sd over seeds."),
        table=results.tables["results"]), Section("Verdict", text=verdict(rows)), Section("Test KL by seed", figures=[_kl_by_seed(rows)])]
    for label in dict.fromkeys(r["row"] for r in rows):
        last = [r for r in rows if r["row"] == label][-1]
        pngs = sorted((out / last["run"]).glob("*/plots/*.png"))
        if pngs:
            sections.append(Section(f"{label}: seed {last['seed']}", text="Reliability diagram, mean vote shares vs "
                                    "predicted probabilities, confusion against the consensus class, learning curves.",
                                    figures=[str(p) for p in pngs]))
    return write_report(out / "report.html", "neurorep foundation benchmark (HMS)", sections)
