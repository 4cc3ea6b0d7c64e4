"""Classic-baseline rows of an ssl grid: fit on the fold's labelled training windows (the same capped
set the linear probe uses, at the same label fractions), score on the fold's labelled test windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from neurorep.data.dataset import WindowDataset
from neurorep.data.prepared import setup_data
from neurorep.evaluation.baselines import BASELINE_LABELS, make_baseline, split_features
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.probe import label_fraction_subset
from neurorep.recipes.ssl.config import SSLConfig
from neurorep.recipes.ssl.pipeline import _cap, labelled_parts, summarise
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json

#: ``method`` of classic rows in results tables, and their ``encoder`` cell.
CLASSIC = "classic"
NO_ENCODER = "-"


def window_array(ds: WindowDataset) -> tuple[np.ndarray, np.ndarray]:
    """All windows of ``ds`` as ``x[n, C, T]`` (float32) and their labels ``y[n]``."""
    samples = ds.__getitems__(list(range(len(ds))))
    if not samples:
        return np.zeros((0,), np.float32), np.zeros(0, np.int64)
    x = np.stack([s["x"].numpy() for s in samples])
    return x, ds.labels


def run_classic(cfg: SSLConfig, name: str, options: dict[str, Any], out: Path) -> dict[str, Any]:
    """Fit classic baseline ``name`` at each probe label fraction; write ``out`` and return its metrics."""
    prepared = setup_data(cfg.data, progress=False)
    train_lab, _, test = labelled_parts(prepared, cfg.fold)
    train = _cap(train_lab, cfg.probe.max_train, cfg.seed)  # the probe's training windows
    cache, classes = prepared.cache, prepared.cache.classes
    x_train, y_train = window_array(train)
    x_test, y_test = window_array(test)
    out = prepare_run_dir(out)
    save_run_metadata(out, cfg, data_fingerprint=cache.info.key)
    metrics: dict[str, Any] = {"method": CLASSIC, "baseline": name, "encoder": NO_ENCODER, "objective": None,
                               "seed": cfg.seed, "fold": cfg.fold, "classes": classes, "n_train": len(train),
                               "n_test": len(test), "probe": {}}
    predictions = {}
    options = {**options, "seed": cfg.seed}
    model = make_baseline(name, sfreq=cache.info.sfreq, n_channels=len(cache.info.ch_names), classes=classes,
                          **options)
    front, rest = split_features(model)
    # one native thread: OpenMP pools of several grid rows (or of torch) fighting for the same
    # cores slow gradient boosting down by ~50x
    with threadpool_limits(limits=1):
        if front is not None:  # features that learn nothing from data: computed once for every fraction
            x_train, x_test = front(x_train), front(x_test)
        for frac in cfg.probe.label_fractions:
            idx = label_fraction_subset(y_train, frac, seed=cfg.seed)
            y_pred = np.asarray(clone(rest).fit(x_train[idx], y_train[idx]).predict(x_test), dtype=np.int64)
            metrics["probe"][f"{frac:g}"] = {"n_train": len(idx), **classification_metrics(y_test, y_pred, classes)}
            predictions[f"{name}_{frac:g}"] = y_pred
    (out / "embeddings").mkdir(exist_ok=True)
    save_file({"index": test.indices.astype(np.int64), "y": y_test.astype(np.int64), **predictions},
              str(out / "embeddings" / "test_predictions.safetensors"))
    metrics["summary"] = {"row": BASELINE_LABELS[name], **summarise(metrics)}
    write_json(out / "metrics.json", metrics)
    return metrics
