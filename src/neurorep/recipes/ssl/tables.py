"""Tables of the ssl benchmark, shared by its grid and its report."""

from __future__ import annotations

from typing import Any

from neurorep.sweep import grouped_table

TABLE_COLUMNS = [("bal_acc@0.01", "Bal. acc 1%"), ("bal_acc@0.1", "Bal. acc 10%"), ("bal_acc@1", "Bal. acc 100%"),
                 ("macro_f1", "Macro-F1"), ("kappa", "Kappa"), ("knn_accuracy", "kNN acc"),
                 ("rankme", "RankMe"), ("subject_separability", "Subject sep. (lower better)")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per (row, encoder), mean +- sd over seeds and folds."""
    return grouped_table(rows, [("row", "Method"), ("encoder", "Encoder")], TABLE_COLUMNS)


def best_ssl(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The SSL run with the highest full-label probe balanced accuracy (from the last split set up)."""
    ssl = [r for r in rows if r.get("method") == "ssl" and "bal_acc@1" in r and r["seed"] == rows[-1]["seed"]
           and r["fold"] == rows[-1]["fold"]]
    return max(ssl, key=lambda r: r["bal_acc@1"]) if ssl else None
