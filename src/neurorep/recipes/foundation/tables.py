"""Tables of the foundation benchmark, shared by its grid and its report."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurorep.sweep import grouped_table

ROW_LABELS = {"transfer": "Pretrain + fine-tune", "scratch": "From scratch"}
TABLE_COLUMNS = [("kl_divergence", "Test KL (lower better)"), ("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"),
                 ("macro_auroc", "Macro AUROC"), ("ece", "ECE"), ("prior_kl_divergence", "KL of mean-vote prior"),
                 ("pretrain_val_loss", "Pretrain val loss"), ("seconds", "Seconds")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per method, mean +- sd over seeds."""
    return grouped_table(rows, [("row", "Method")], TABLE_COLUMNS)


def verdict(rows: list[dict[str, Any]]) -> str:
    """One paragraph: does pretraining lower the test KL, by how much, and on how many seeds."""
    by_seed: dict[int, dict[str, float]] = {}
    for r in rows:
        if "kl_divergence" in r:
            by_seed.setdefault(int(r["seed"]), {})[r["row"]] = float(r["kl_divergence"])
    a, b = ROW_LABELS["transfer"], ROW_LABELS["scratch"]
    pairs = [(d[a], d[b]) for d in by_seed.values() if a in d and b in d]
    if not pairs:
        return "No seed has both rows; nothing to compare."
    diff = np.array([t - s for t, s in pairs])
    wins = int((diff < 0).sum())
    return (f"{a} vs {b}: test KL difference {diff.mean():+.4f} on average (negative = pretraining helps), "
            f"lower on {wins} of {len(pairs)} seed(s); mean KL {np.mean([p[0] for p in pairs]):.4f} vs "
            f"{np.mean([p[1] for p in pairs]):.4f}.")
