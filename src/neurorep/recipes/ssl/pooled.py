"""Pooled cross-validation: one score per seed from the test predictions of all its folds.

With few labelled windows (a within-subject study of 62 trials), a fold's test part is small and its
balanced accuracy varies by more than the methods differ (12 test trials: about ±0.14). Every
labelled window is tested exactly once per seed (``split.folds`` k-fold), so joining a seed's folds
gives one prediction per labelled window and one score over all of them; the spread over seeds (each
draws its own folds and its own initialisation and pretraining) then measures how much a method's
result depends on its seed, not on which dozen trials a fold happened to test. The same is done for
every row of the table (classic baselines, random init, supervised, SSL).

With ``split.repeats`` the k-fold is repeated with fresh shuffles: each repeat is pooled on its own and
a seed's score is the mean over its repeats, so the spread over seeds no longer carries the luck of
one draw of folds (a deterministic classic row moves by about ±0.08 between single draws on 62 trials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from neurorep.errors import DataError
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.report import mean_sd
from neurorep.sweep import grouped_table

__all__ = ["difference_table", "pooled_rows", "pooled_table", "run_predictions"]

POOLED_COLUMNS = [("bal_acc@0.01", "Bal. acc 1%"), ("bal_acc@0.1", "Bal. acc 10%"), ("bal_acc@1", "Bal. acc 100%"),
                  ("macro_f1", "Macro-F1"), ("kappa", "Kappa")]


def run_predictions(run_dir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A run's test window indices, true labels and predictions by label fraction (``{"1": y_pred, ...}``:
    the probe's, the supervised model's or the classic baseline's; fine-tuned predictions are left out)."""
    folder = run_dir / "embeddings"
    stored = load_file(str(folder / "test_predictions.safetensors"))
    if "y" not in stored:  # encoder runs keep the labels beside the embeddings
        test = load_file(str(folder / "test.safetensors"))
        stored = {**stored, "index": test["index"], "y": test["y"]}
    preds = {}
    for key, value in stored.items():
        kind, _, frac = key.rpartition("_")
        if key in ("index", "y") or kind == "finetune":
            continue
        preds[frac] = value
    return stored["index"].astype(np.int64), stored["y"].astype(np.int64), preds


def pooled_rows(out: Path, rows: list[dict[str, Any]], classes: list[str],
                folds_per_repeat: int | None = None) -> list[dict[str, Any]]:
    """One row per (table row, encoder, seed): metrics over the joined test predictions of its folds.

    With a repeated k-fold (``split.repeats``), fold ``f`` belongs to repeat ``f // folds_per_repeat``:
    each repeat is pooled on its own and the seed's metrics are the mean over its repeats (``repeats``
    in the row). A repeat whose folds test a window twice is a :class:`DataError` (pooling needs
    disjoint test parts).
    """
    groups: dict[tuple[Any, Any, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["row"], r["encoder"], int(r["seed"])), []).append(r)
    pooled = []
    for (label, encoder, seed), runs in groups.items():
        repeats: dict[int, list[dict[str, Any]]] = {}
        for r in runs:
            repeats.setdefault(int(r["fold"]) // folds_per_repeat if folds_per_repeat else 0, []).append(r)
        scores = [_pooled_metrics(out, part, classes, f"{label} / {encoder} (seed {seed})")
                  for _, part in sorted(repeats.items())]
        row: dict[str, Any] = {"row": label, "encoder": encoder, "method": runs[0].get("method"), "seed": seed,
                               "folds": len(runs), "repeats": len(scores), "n_test": scores[0]["n_test"]}
        for key in scores[0].keys() - {"n_test"}:
            values = [s[key] for s in scores if key in s]
            if len(values) == len(scores):
                row[key] = float(np.mean(values))
        pooled.append(row)
    return pooled


def _pooled_metrics(out: Path, runs: list[dict[str, Any]], classes: list[str], what: str) -> dict[str, Any]:
    """Metrics over the joined test predictions of ``runs`` (the folds of one repeat of one seed)."""
    index, y, preds = [], [], {}
    for r in sorted(runs, key=lambda r: r["fold"]):
        i, yt, p = run_predictions(out / r["run"])
        index.append(i)
        y.append(yt)
        for frac, yp in p.items():
            preds.setdefault(frac, []).append(yp)
    all_index = np.concatenate(index)
    if len(np.unique(all_index)) != len(all_index):
        raise DataError(f"{out}: the folds of {what} test some windows twice; pooling needs split.folds "
                        "(disjoint test parts within each repeat)")
    y_all = np.concatenate(y)
    metrics: dict[str, Any] = {"n_test": len(y_all)}
    for frac, parts in preds.items():
        if len(parts) != len(runs):
            continue  # a fraction some folds did not evaluate
        m = classification_metrics(y_all, np.concatenate(parts), classes)
        metrics[f"bal_acc@{frac}"] = m["balanced_accuracy"]
        if frac == "1":
            metrics.update({"macro_f1": m["macro_f1"], "kappa": m["kappa"]})
    return metrics


def pooled_table(pooled: list[dict[str, Any]]) -> str:
    """Markdown table of :func:`pooled_rows`: mean ± sd over seeds (``n`` = seeds)."""
    return grouped_table(pooled, [("row", "Method"), ("encoder", "Encoder")], POOLED_COLUMNS)


def difference_table(rows: list[dict[str, Any]], key: str = "bal_acc@1") -> str:
    """Each SSL row minus the random-init row of the same encoder on the same seed (and fold, when the
    rows have folds): mean ± sd of the paired differences, how many are above zero, and whether the mean
    difference exceeds the larger of the two rows' sd (the bar of a claimed gain)."""
    lines = ["| Method | Encoder | n | SSL - random init | above zero | larger row sd | mean > sd |",
             "|---|---|---|---|---|---|---|"]
    paired = _pairs(rows, key)
    for (label, encoder), (ssl, base) in paired.items():
        diff = np.asarray(ssl) - np.asarray(base)
        sd = max(float(np.std(ssl, ddof=1)), float(np.std(base, ddof=1))) if len(diff) > 1 else float("nan")
        lines.append(f"| {label} | {encoder} | {len(diff)} | {mean_sd(diff)} | {int((diff > 0).sum())}/{len(diff)} | "
                     f"{sd:.3f} | {'yes' if diff.mean() > sd else 'no'} |")
    return "\n".join(lines) if paired else ""


def _pairs(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, str], tuple[list[float], list[float]]]:
    """(SSL row, encoder) -> its values and the random-init values of the same encoder and seed/fold."""
    base = {(r["encoder"], r["seed"], r.get("fold")): r[key] for r in rows
            if r.get("method") == "random" and r.get(key) is not None}
    out: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for r in rows:
        match = (r["encoder"], r["seed"], r.get("fold"))
        if r.get("method") != "ssl" or r.get(key) is None or match not in base:
            continue
        ssl, ref = out.setdefault((r["row"], r["encoder"]), ([], []))
        ssl.append(float(r[key]))
        ref.append(float(base[match]))
    return out
