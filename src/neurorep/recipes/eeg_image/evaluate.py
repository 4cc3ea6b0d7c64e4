"""Zero-shot retrieval of one trained eeg-image model on its test subject."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from neurorep.data.dataset import WindowDataset
from neurorep.data.sources_things import single_repetitions
from neurorep.encoders import Encoder
from neurorep.evaluation.report import markdown_table
from neurorep.evaluation.retrieval import (
    cosine_similarity,
    per_category_accuracy,
    retrieval_metrics,
    topk_accuracy,
)
from neurorep.objectives.clip import Clip
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.data import RunData
from neurorep.recipes.eeg_image.training import project

__all__ = ["evaluate_retrieval", "retrieval_of", "retrieval_table"]


def _windows(data: RunData) -> np.ndarray:
    """Test queries ``[N, C, T]`` (repetitions averaged), in candidate order."""
    return WindowDataset(data.cache, data.test_rows).load_all()


def evaluate_retrieval(cfg: EEGImageConfig, data: RunData, encoder: Encoder,
                       objective: Clip) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metrics (k-way top-k with chance, per category, repetition curve) and the arrays behind them.

    Returns ``(metrics, arrays)`` with arrays ``eeg [N, E]`` (aligned EEG embeddings of the test
    queries), ``images [N, E]`` (candidate image embeddings), ``similarity [N, N]`` (cosine,
    queries x candidates, right answer on the diagonal) and ``condition [N]``.
    """
    return retrieval_of(cfg, data, lambda x: project(encoder, objective, x))


def retrieval_of(cfg: EEGImageConfig, data: RunData,
                 embed: Callable[[np.ndarray], np.ndarray]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """:func:`evaluate_retrieval` for any map ``embed`` from windows ``[N, C, T]`` to embeddings ``[N, E]``
    (the trained model, or a classic baseline)."""
    ev = cfg.eval
    eeg = embed(_windows(data))
    sim = cosine_similarity(eeg, data.candidates)
    ways = sorted({w for w in ev.ways if w <= sim.shape[1]} | {sim.shape[1]})
    metrics: dict[str, Any] = {"n_queries": int(sim.shape[0]), "n_candidates": int(sim.shape[1]),
                               "retrieval": retrieval_metrics(sim, ways, ev.ks, n_draws=ev.n_draws, seed=cfg.seed),
                               "per_category": per_category_accuracy(sim, data.test_categories, ks=ev.ks)}
    if data.test_recording >= 0:
        reps = single_repetitions(data.cache, data.test_recording)
        order = data.test_conditions
        curve = []
        for r in sorted({min(r, reps.shape[1]) for r in ev.repetitions}):
            x = np.asarray(reps[order, :r].mean(axis=1), dtype=np.float32)
            s = cosine_similarity(embed(x), data.candidates)
            curve.append({"repetitions": r, **{f"top{k}": topk_accuracy(s, k) for k in ev.ks}})
        metrics["repetition_curve"] = curve
    arrays = {"eeg": eeg.astype(np.float32), "images": data.candidates.astype(np.float32),
              "similarity": sim.astype(np.float32), "condition": data.test_conditions.astype(np.int64)}
    return metrics, arrays


def retrieval_table(retrieval: dict[str, dict[str, float]]) -> str:
    """Markdown table: one line per way, accuracy beside its chance level."""
    rows = []
    for way, m in retrieval.items():
        row: dict[str, Any] = {"retrieval": way}
        for key in sorted(k for k in m if k.startswith("top")):
            row[key] = m[key]
            row[f"chance {key}"] = m[f"chance_{key}"]
        rows.append(row)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    return markdown_table(rows, cols, floatfmt=".3f")
