"""The ssl grid report: results table, heat maps, label-fraction curves, the best run's figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np

from neurorep.evaluation import plots
from neurorep.evaluation.report import Section, markdown_table, write_report
from neurorep.recipes.base import BenchmarkResults
from neurorep.recipes.ssl.tables import best_ssl


def _mean_grid(rows: list[dict[str, Any]], key: str) -> tuple[np.ndarray, list[str], list[str]]:
    rows = [r for r in rows if r.get("method") != "classic"]  # no encoder: in the table and the curves
    methods = list(dict.fromkeys(r["row"] for r in rows))
    encoders = list(dict.fromkeys(r["encoder"] for r in rows))
    grid = np.full((len(methods), len(encoders)), np.nan)
    for i, m in enumerate(methods):
        for j, e in enumerate(encoders):
            vals = [r[key] for r in rows if r["row"] == m and r["encoder"] == e and r.get(key) is not None]
            if vals:
                grid[i, j] = float(np.mean(vals))
    return grid, methods, encoders


LATENT_COLUMNS = {"knn_accuracy": "kNN accuracy", "silhouette": "silhouette", "davies_bouldin": "Davies-Bouldin",
                  "alignment": "alignment", "uniformity": "uniformity", "rankme": "RankMe", "nmi": "NMI", "ari": "ARI",
                  "subject_separability": "subject separability"}


def label_fraction_figures(rows: list[dict[str, Any]]) -> list[Any]:
    """One label-fraction figure per encoder, one line per method (from the ``bal_acc@<fraction>`` columns);
    the classic baselines (rows without an encoder) are drawn in every figure."""
    figs = []
    for encoder in dict.fromkeys(r["encoder"] for r in rows if r.get("method") != "classic"):
        curve_rows = [{"method": r["row"], "fraction": float(k.split("@")[1]), "balanced_accuracy": v}
                      for r in rows if r["encoder"] == encoder or r.get("method") == "classic" for k, v in r.items()
                      if k.startswith("bal_acc@") and v is not None and np.isfinite(v)]
        if curve_rows:
            figs.append(plots.label_fraction_plot(curve_rows, group_key="method",
                                                  title=f"Balanced accuracy vs label fraction: {encoder}"))
    return figs


def _split_by(grid_cfg: dict[str, Any]) -> str:
    """What the grid's folds split: subjects (default), sessions, recordings, or labelled windows."""
    by = ((grid_cfg.get("base") or {}).get("data") or {}).get("split", {}).get("by", "subject")
    return "labelled window (stratified k-fold, within-subject)" if by == "window" else by


def write_grid_report(results: BenchmarkResults) -> Path:
    """Write ``out/report.html`` (self-contained) and return its path."""
    out, rows, grid_cfg, seconds = results.out, results.rows, results.grid, results.seconds
    best = best_ssl(rows)
    sections = [Section(
        "Study",
        text=(f"{len(rows)} runs ({grid_cfg['seeds']} seed(s); encoders {', '.join(grid_cfg['encoders'])}; "
              f"paradigms {', '.join(grid_cfg['paradigms'])}; baselines {', '.join(grid_cfg['baselines'])}) "
              f"in {seconds / 60:.1f} min. Splits are by {_split_by(grid_cfg)}. SSL and random-init rows are linear probes "
              "(class-balanced logistic regression) on frozen embeddings; supervised rows train the same "
              "encoder from scratch on the same labelled subset. Classic rows "
              f"({', '.join(grid_cfg.get('classic') or [])}) fit scikit-learn / MNE / pyriemann pipelines on the "
              "raw windows the probe trains on (same label fractions) and are scored on the same test windows. "
              "Values are mean ± sd over seeds/folds."),
        table=results.tables["results"])]
    for name, heading in (("differences", "SSL minus random init"), ("pooled", "Pooled over folds"),
                          ("pooled_differences", "Pooled: SSL minus random init")):
        if name in results.tables:  # "<one-line intro>\n\n<markdown table>"
            intro, _, table = results.tables[name].partition("\n\n")
            sections.append(Section(heading, text=intro, table=table))
    figs = []
    for key, title in (("bal_acc@1", "balanced accuracy, 100% labels"), ("bal_acc@0.01", "balanced accuracy, 1% labels"),
                       ("knn_accuracy", "kNN accuracy of test embeddings")):
        if any(key in r for r in rows):
            g, methods, encoders = _mean_grid(rows, key)
            figs.append(plots.grid_heatmap(g, methods, encoders, title=title, fmt=".3f", xlabel="encoder",
                                           ylabel="method"))
    sections.append(Section("Benchmark grid", figures=figs))
    curves = label_fraction_figures(rows)
    if curves:
        sections.append(Section("Label-fraction curves", text="One panel per encoder, one line per method: "
                                "balanced accuracy against the share of training labels (mean ± sd over seeds).",
                                figures=curves))
    if best is not None:
        run_dir = out / best["run"]
        pngs = sorted((run_dir / "plots").glob("*.png"))
        sections.append(Section(f"Best SSL run: {best['row']} / {best['encoder']} (seed {best['seed']})",
                                text="Embedding map (t-SNE) coloured by class and by subject, confusion matrix of "
                                     "the linear probe, one test recording's label sequence (fixed windows), "
                                     "and pretraining curves.",
                                figures=[str(p) for p in pngs]))
    lat_rows = [{"method": r["row"], "encoder": r["encoder"], "seed": r["seed"],
                 **{header: r[k] for k, header in LATENT_COLUMNS.items() if k in r}} for r in rows
                if r.get("method") != "classic"]
    sections.append(Section("Latent-space benchmark (test embeddings)",
                            text="Subject separability is the balanced accuracy of a linear classifier predicting "
                                 "the subject, divided by chance; lower means embeddings carry less subject identity "
                                 "(— where the test split holds a single subject).",
                            table=markdown_table(lat_rows, ["method", "encoder", "seed", *LATENT_COLUMNS.values()],
                                                 floatfmt=".3f")))
    return write_report(out / "report.html", f"neurorep {results.recipe} benchmark", sections)
