"""Tables of the eeg-image benchmark, shared by its grid and its report."""

from __future__ import annotations

from typing import Any

from neurorep.sweep import grouped_table

ROWS = {"intra": "Intra-subject", "inter": "Inter-subject (zero-shot)", "finetune": "Fine-tune from inter",
        "scratch": "From scratch"}
TABLE_COLUMNS = [("top1_200", "200-way top-1"), ("top5_200", "200-way top-5"), ("top1_50", "50-way top-1"),
                 ("top1_4", "4-way top-1"), ("top1_2", "2-way top-1"), ("category_hit", "category hit")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per (row, test subject, training share), mean +- sd over seeds; chance last."""
    table = grouped_table(rows, [("row", "Setting"), ("test_subject", "Test subject"),
                                 ("subj_training_ratio", "Train share")], TABLE_COLUMNS)
    cols = [k for k, _ in TABLE_COLUMNS if any(k in r for r in rows)]
    chance = {k: r["chance_" + k] for r in rows for k in cols if "chance_" + k in r}
    if chance:
        cells = [f"{chance[k]:.3f}" if k in chance else "-" for k in cols]
        table += "\n| Chance | - | - | - | " + " | ".join(cells) + " |"
    return table


def best_intra(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The intra-subject run of highest 200-way top-1 (2-way where the test set is smaller)."""
    intra = [r for r in rows if r.get("kind") == "intra"]
    return max(intra, key=lambda r: r.get("top1_200", r.get("top1_2", 0.0))) if intra else None


def finetune_curve_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fine-tuning curve (``finetune_curve.csv``): fine-tuned and from-scratch rows by training share."""
    return [{k: r.get(k) for k in ("row", "seed", "subj_training_ratio", "n_train", "top1_200", "top5_200")}
            for r in rows if r.get("kind") in ("finetune", "scratch")]
