"""Tables of the meg-ablation benchmark, shared by its grid and its report."""

from __future__ import annotations

import itertools
from typing import Any

from neurorep.recipes.meg_ablation.config import OBJECTIVE_OF
from neurorep.sweep import grouped_table

FLAGS = list(OBJECTIVE_OF)  # denoising, masked_sensor, masked_sequence
HEADERS = {"denoising": "Denoising", "masked_sensor": "Masked MEG", "masked_sequence": "Masked sequence"}
ALL_ROWS = ["".join(bits) for bits in itertools.product("01", repeat=3)]  # "000" none ... "111" all
SHORT = {"denoising": "D", "masked_sensor": "M", "masked_sequence": "S"}


def combo_label(row: dict[str, Any]) -> str:
    """The pretraining combination of a row, e.g. ``D+S`` (``none`` for no pretraining); a classic
    baseline row's name."""
    if row.get("method") == "classic":
        return str(row["Method"])
    on = [SHORT[k] for k in SHORT if row.get(k)]
    return "+".join(on) if on else "none"


def setting_table(rows: list[dict[str, Any]], setting: str) -> str:
    """Markdown table of one setting: Method | Denoising | Masked MEG | Masked sequence | n | F1 | Accuracy
    (mean +- sd); classic rows have no pretraining marks."""
    sub = [r for r in rows if r["Setting"] == setting]
    return grouped_table(sub, [("Method", "Method")] + [(HEADERS[f], HEADERS[f]) for f in FLAGS],
                         [("macro_f1", "F1 (macro)"), ("accuracy", "Accuracy")])


def setting_tables(rows: list[dict[str, Any]]) -> dict[str, str]:
    """One table per setting (``Intra``, ``Cross``), in the rows' order."""
    return {s: setting_table(rows, s) for s in dict.fromkeys(r["Setting"] for r in rows)}


def results_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: a ``### <setting>`` heading and its table for every setting."""
    return "\n\n".join(f"### {s}\n\n{t}" for s, t in setting_tables(rows).items())
