"""Classic rows of the foundation benchmark: spectral features fitted to the expert vote distributions.

For each seed (its own patient-wise split, the same as the network rows of that seed), the soft-label
baselines of :mod:`neurorep.evaluation.baselines_linear` (log Welch band power per channel + multinomial
logistic regression; log/relative band power, total power and spectral edge + gradient boosting) are
fitted to the vote distributions of the training and validation segments (the model input: the same
central crop, channels and montage; a classic model needs no early stopping) and scored on the test
segments with the same metrics as the network rows (KL divergence to the votes, accuracy against the
consensus, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from threadpoolctl import threadpool_limits

from neurorep.evaluation.baselines_linear import (
    SOFT_BASELINE_LABELS,
    fit_soft_labels,
    make_soft_baseline,
    soft_predict_proba,
)
from neurorep.evaluation.classic_rows import require_rows
from neurorep.evaluation.soft_labels import kl_divergence, soft_label_metrics
from neurorep.sweep import Task
from neurorep.recipes.foundation.config import FoundationConfig
from neurorep.recipes.foundation.data import HMSSegments, patient_split, prepare_hms, segment_bounds
from neurorep.recipes.foundation.pipeline import summarise
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json

__all__ = ["FOUNDATION_BASELINES", "classic_row", "classic_tasks", "required_rows", "run_classic"]

#: Classic baselines of every foundation table.
FOUNDATION_BASELINES = ["bandpower_lr", "spectral_gb"]


def _windows(segments: HMSSegments) -> np.ndarray:
    """The model inputs of ``segments`` as one array ``[n, C, T]``."""
    return np.stack([segments[i]["x"].numpy() for i in range(len(segments))])


def run_classic(cfg: FoundationConfig, name: str, out: Path) -> dict[str, Any]:
    """Fit baseline ``name`` to the votes of the run's training + validation segments, score the test
    segments; write ``out`` and return its metrics (the layout of a network run's ``metrics.json``)."""
    corpus = prepare_hms(cfg.data, progress=False)
    split, _ = patient_split(corpus, cfg.data, cfg.data.split.seed)
    start, length = segment_bounds(cfg.data, corpus.sfreq)
    out = prepare_run_dir(out)
    save_run_metadata(out, cfg, data_fingerprint=corpus.info.key)
    fit_set = HMSSegments(corpus, np.sort(np.concatenate([split.train, split.val])), start, length)
    test = HMSSegments(corpus, split.test, start, length)
    classes = corpus.classes
    with threadpool_limits(limits=1):  # grid rows run side by side on shared cores
        model = fit_soft_labels(make_soft_baseline(name, corpus.sfreq, seed=cfg.seed), _windows(fit_set),
                                fit_set.y_soft_rows)
        probs = soft_predict_proba(model, _windows(test), len(classes))
    p_true = test.y_soft_rows.astype(np.float64)
    y = corpus.rows["y"][split.test]
    result = soft_label_metrics(p_true, probs, classes, y_true=y)
    result["prior_kl_divergence"] = kl_divergence(p_true, np.broadcast_to(fit_set.y_soft_rows.mean(0), p_true.shape))
    result.update(n_train=len(fit_set), n_test=len(test))
    metrics: dict[str, Any] = {"stage": "classic", "method": "classic", "baseline": name, "seed": cfg.seed,
                               "classes": classes, "split_seed": cfg.data.split.seed, "n_params": None, "test": result}
    save_file({"probs": probs.astype(np.float32), "y_soft": p_true.astype(np.float32), "y": y.astype(np.int64),
               "index": np.asarray(split.test, dtype=np.int64)}, str(out / "test_predictions.safetensors"))
    metrics["summary"] = summarise(metrics)
    write_json(out / "metrics.json", metrics)
    return metrics


def classic_tasks(tasks: list[Task]) -> list[Task]:
    """One task per baseline for every seed of the network ``tasks`` (that seed's config and split)."""
    seen: dict[int, dict[str, Any]] = {}
    for t in tasks:
        seen.setdefault(t.config["seed"], t.config)
    return [Task(f"{name}_s{seed}", {**config, "classic": name}) for seed, config in seen.items()
            for name in FOUNDATION_BASELINES]


def classic_row(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Grid worker: run one classic task and return its results-table row."""
    config = dict(config)
    config.pop("grid_row", None)
    baseline = config.pop("classic")
    metrics = run_classic(FoundationConfig.model_validate(config), baseline, Path(out) / "runs" / name)
    return {"row": SOFT_BASELINE_LABELS[baseline], "method": "classic", **metrics["summary"]}


def required_rows(rows: list[dict[str, Any]], tasks: list[Task] | None = None) -> None:
    """Refuse the table unless it has every classic row."""
    require_rows(rows, [SOFT_BASELINE_LABELS[n] for n in FOUNDATION_BASELINES])
