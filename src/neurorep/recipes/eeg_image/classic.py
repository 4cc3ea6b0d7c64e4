"""Classic rows of the eeg-image benchmark: a ridge map from EEG features to the image embeddings.

For the same training windows, test queries and candidates as a network row (same subjects, seed,
held-out concepts), :func:`~neurorep.evaluation.baselines_linear.embedding_ridge` is fitted from
each training window's binned time courses and log band powers to its image's embedding; each test
query's predicted embedding is then scored exactly like the network's (cosine similarity against the
candidates, k-way top-k, per category, repetition curve).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from threadpoolctl import threadpool_limits

from neurorep.evaluation.baselines_linear import embedding_ridge
from neurorep.evaluation.classic_rows import require_rows
from neurorep.sweep import Task
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.data import setup_run_data
from neurorep.recipes.eeg_image.evaluate import retrieval_of
from neurorep.recipes.eeg_image.pipeline import summarise
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json

__all__ = ["CLASSIC_ROWS", "classic_row", "classic_tasks", "required_rows", "run_ridge"]

#: Table label of the classic row that matches each network row kind.
CLASSIC_ROWS = {"intra": "Ridge (EEG features -> image embedding), intra-subject",
                "inter": "Ridge (EEG features -> image embedding), inter-subject"}


def run_ridge(cfg: EEGImageConfig, out: Path) -> dict[str, Any]:
    """Fit the ridge baseline on the run's training windows, score retrieval; write ``out`` and return its metrics."""
    data = setup_run_data(cfg, progress=False)
    out = prepare_run_dir(out)
    save_run_metadata(out, cfg, data_fingerprint=data.cache.info.key)
    x_train = data.train.windows.load_all()
    target = data.emb.train[data.train.windows.labels]
    with threadpool_limits(limits=1):  # grid rows run side by side on shared cores
        model = embedding_ridge(data.cache.info.sfreq).fit(x_train, target)
        metrics, arrays = retrieval_of(cfg, data, lambda x: model.predict(x).astype(np.float32))
    metrics = {**data.summary, "seed": cfg.seed, "subj_training_ratio": cfg.subj_training_ratio, **metrics,
               "method": "classic", "baseline": "embedding_ridge", "alpha": float(model[-1].alpha_),
               "train": {"best_val_loss": None, "epochs": None}}
    metrics["summary"] = summarise(metrics)
    (out / "embeddings").mkdir(exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(out / "embeddings" / "test.safetensors"))
    write_json(out / "metrics.json", metrics)
    return metrics


def classic_tasks(tasks: list[Task]) -> list[Task]:
    """One ridge task per intra- and inter-subject network task (same config: subjects, seed, split)."""
    return [Task(f"ridge_{t.name}", t.config) for t in tasks if t.config["grid_row"] in CLASSIC_ROWS]


def classic_row(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Grid worker: run one ridge task and return its results-table row."""
    config = dict(config)
    kind = config.pop("grid_row")
    metrics = run_ridge(EEGImageConfig.model_validate(config), Path(out) / "runs" / name)
    return {"row": CLASSIC_ROWS[kind], "kind": f"classic_{kind}", "method": "classic", **metrics["summary"]}


def required_rows(rows: list[dict[str, Any]], tasks: list[Task]) -> None:
    """Refuse the table unless every intra/inter network row kind has its ridge row."""
    require_rows(rows, [CLASSIC_ROWS[t.config["grid_row"]] for t in tasks if t.config["grid_row"] in CLASSIC_ROWS])
