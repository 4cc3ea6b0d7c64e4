"""The eeg-image benchmark report: results table, fine-tuning curve, the best run's figures."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from neurorep.evaluation.report import Section, markdown_table, write_report
from neurorep.fileio import atomic_write_text
from neurorep.recipes.base import BenchmarkResults
from neurorep.recipes.eeg_image.tables import best_intra, finetune_curve_rows

__all__ = ["finetune_curve_figure", "write_grid_report"]


def finetune_curve_figure(rows: list[dict[str, Any]], key: str = "top1_200") -> Figure:
    """Target-subject accuracy against ``subj_training_ratio``: fine-tuned from the inter-subject model vs scratch."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for kind, label, colour in (("finetune", "fine-tune from inter-subject model", "tab:blue"),
                                ("scratch", "from scratch", "tab:orange")):
        by: dict[float, list[float]] = {}
        for r in rows:
            if r.get("kind") == kind and key in r:
                by.setdefault(float(r["subj_training_ratio"]), []).append(float(r[key]))
        if by:
            xs = sorted(by)
            ax.errorbar(xs, [np.mean(by[x]) for x in xs],
                        yerr=[np.std(by[x], ddof=1) if len(by[x]) > 1 else 0 for x in xs],
                        marker="o", capsize=3, color=colour, label=label)
    zero = [float(r[key]) for r in rows if r.get("kind") == "inter" and key in r]
    if zero:
        ax.axhline(float(np.mean(zero)), color="tab:green", ls="--", label="inter-subject, zero-shot")
    chance = next((r.get("chance_" + key) for r in rows if "chance_" + key in r), None)
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", label="chance")
    ax.set_xlabel("share of the target subject's training samples")
    ax.set_ylabel(key.replace("_", " ").replace("top", "top-") + "-way accuracy")
    ax.set_title("fine-tuning on the target subject")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def write_grid_report(results: BenchmarkResults) -> Path:
    """Write ``out/report.html`` (self-contained) and ``out/finetune_curve.csv``; returns the report path."""
    out, rows, grid_cfg, seconds = results.out, results.rows, results.grid, results.seconds
    model = next((r for r in rows), {})
    curve = finetune_curve_rows(rows)
    if curve:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(curve[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(curve)
        atomic_write_text(out / "finetune_curve.csv", buf.getvalue())
    sections = [Section(
        "Study",
        text=(f"{len(rows)} runs in {seconds / 60:.1f} min ({grid_cfg['seeds']} seed(s); intra-subject rows for "
              f"subjects {grid_cfg['subjects']}; inter-subject model trained on the other subjects and tested "
              f"zero-shot on subject {grid_cfg['target_subject']}; fine-tuning curve over subj_training_ratio "
              f"{grid_cfg['ratios']}). Retrieval is zero-shot: test concepts never appear in training. N-way "
              "accuracy below the full test size averages random sets of distractors. Values are mean ± sd over "
              f"seeds. Training subjects per run are listed in results.csv. {model.get('n_train', '?')} "
              "training conditions in the first run."),
        table=results.tables["results"])]
    if curve:
        sections.append(Section("Fine-tuning on the target subject",
                                text="200-way top-1 on the target subject's test set against the share of its "
                                     "training samples used, starting from the inter-subject model or from "
                                     "scratch. The dashed line is the inter-subject model without fine-tuning.",
                                figures=[finetune_curve_figure(rows, k) for k in ("top1_200", "top5_200")
                                         if any(k in r for r in rows)],
                                table=markdown_table(curve, floatfmt=".3f")))
    best = best_intra(rows)
    if best is not None:
        plots = out / best["run"] / "plots"
        names = ["similarity", "retrieval_examples", "kway", "repetitions", "categories", "learning_curves"]
        figs = [str(plots / f"{n}.png") for n in names if (plots / f"{n}.png").is_file()]
        sections.append(Section(
            f"Best intra-subject run: subject {best['test_subject']} (seed {best['seed']})",
            text="Similarity of EEG test queries and candidate images (sorted by higher-level category), "
                 "retrieval examples (green: right image, orange: same category), k-way accuracy against chance, "
                 "accuracy against the number of test repetitions averaged, per-category accuracy, and training "
                 "curves.",
            figures=figs))
    rep_rows = []
    for r in rows:
        reps = {k.split("@")[1]: v for k, v in r.items() if k.startswith("top1_") and "@" in k}
        if reps and r.get("kind") in ("intra", "inter"):
            rep_rows.append({"run": r["run"], **reps})
    if rep_rows:
        sections.append(Section("Averaging test repetitions",
                                text="Full-test-set top-1 accuracy when each test query averages this many "
                                     "repetitions (80 in the data set's standard protocol).",
                                table=markdown_table(rep_rows, floatfmt=".3f")))
    return write_report(out / "report.html", "neurorep eeg-image benchmark", sections)
