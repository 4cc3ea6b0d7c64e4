"""Tables of the kd-sleep benchmark, shared by its grid and its report."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurorep.sweep import grouped_table

COLUMNS = [("weighted_f1", "Weighted F1"), ("macro_f1", "Macro F1"), ("accuracy", "Accuracy"), ("kappa", "Kappa")]


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one line per (class scheme, mode, loss), mean +- sd over seeds."""
    return grouped_table(rows, [("scheme", "Classes"), ("mode", "Mode"), ("label", "Loss")], COLUMNS)


def gain_table(rows: list[dict[str, Any]], metric: str = "weighted_f1") -> str:
    """Per scheme and mode: mean gain over ``ecg_base`` in ``metric`` (paired by seed), its sd, and the
    seed-to-seed sd of ``ecg_base`` itself."""
    lines = ["| Classes | Mode | gain over ecg_base (weighted F1) | sd of paired gain | sd of ecg_base | seeds |",
             "|---|---|---|---|---|---|"]
    for scheme in sorted({r["scheme"] for r in rows}):
        base = {r["seed"]: r[metric] for r in rows if r["scheme"] == scheme and r["mode"] == "ecg_base"}
        if not base:
            continue
        sd_base = float(np.std(list(base.values()), ddof=1)) if len(base) > 1 else float("nan")
        for mode in dict.fromkeys(r["mode"] for r in rows if r["scheme"] == scheme):
            if mode in ("ecg_base", "eeg_base"):
                continue
            d = [r[metric] - base[r["seed"]] for r in rows
                 if r["scheme"] == scheme and r["mode"] == mode and r["seed"] in base]
            if d:
                sd = float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")
                lines.append(f"| {scheme} | {mode} | {np.mean(d):+.3f} | {sd:.3f} | {sd_base:.3f} | {len(d)} |")
    return "\n".join(lines)


def run_of(rows: list[dict[str, Any]], mode: str, scheme: str, seed: int) -> str | None:
    """The run folder (relative to the benchmark's output) of one mode, class scheme and seed, if it ran."""
    return next((r["run"] for r in rows if r.get("mode") == mode and r.get("scheme") == scheme
                 and r.get("seed") == seed and "run" in r), None)
