"""Classic rows of the meg-ablation benchmark: band power + LR and Riemannian tangent space + LR.

For each setting and seed, the baselines of :mod:`neurorep.evaluation.baselines` (``bandpower_lr``:
log Welch band power per sensor, standardised, class-balanced logistic regression; ``tangent_lr``:
OAS-shrunk sensor covariance, tangent space at the Riemannian mean, logistic regression) are fitted
on the windows of that seed's training and validation recordings (the same split as the network rows;
a classic model needs no early stopping) and scored on every test window, per test folder too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from threadpoolctl import threadpool_limits

from neurorep.data.dataset import WindowDataset
from neurorep.evaluation.baselines import BASELINE_LABELS, make_baseline
from neurorep.evaluation.classic_rows import require_rows
from neurorep.evaluation.metrics import classification_metrics
from neurorep.sweep import Task
from neurorep.recipes.meg_ablation.config import OBJECTIVE_OF, MegAblationConfig
from neurorep.recipes.meg_ablation.data import setup_meg, split_windows
from neurorep.recipes.meg_ablation.pipeline import summarise
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json

__all__ = ["MEG_BASELINES", "classic_row", "classic_tasks", "required_rows", "run_classic"]

#: Classic baselines of every meg-ablation table.
MEG_BASELINES = ["bandpower_lr", "tangent_lr"]


def run_classic(cfg: MegAblationConfig, name: str, out: Path) -> dict[str, Any]:
    """Fit baseline ``name`` on the run's training + validation windows, score the test windows; write
    ``out`` and return its metrics (the layout of a network run's ``metrics.json``)."""
    cache = setup_meg(cfg.data, cfg.setting, progress=False)
    split = split_windows(cache, cfg.data.val_fraction, cfg.seed, cross=cfg.setting == "cross")
    out = prepare_run_dir(out)
    save_run_metadata(out, cfg, data_fingerprint=cache.info.key)
    train = np.sort(np.concatenate([split.train, split.val]))
    fit_set, test_set = WindowDataset(cache, train), WindowDataset(cache, split.test)
    classes = cache.classes
    with threadpool_limits(limits=1):  # grid rows run side by side on shared cores
        model = make_baseline(name, sfreq=cache.info.sfreq, n_channels=cache.info.n_channels, classes=classes,
                              seed=cfg.seed)
        model.fit(fit_set.load_all(), fit_set.labels)
        y, y_pred = test_set.labels, np.asarray(model.predict(test_set.load_all()), dtype=np.int64)
    metrics: dict[str, Any] = {"setting": cfg.setting, "seed": cfg.seed, "method": "classic", "baseline": name,
                               "pretraining": dict.fromkeys(OBJECTIVE_OF, False), "classes": classes,
                               "n_train": len(train), "n_test": len(split.test),
                               "test": classification_metrics(y, y_pred, classes), "test_parts": {}}
    for part, idx in split.test_parts.items():
        sel = np.isin(split.test, idx)
        metrics["test_parts"][part] = classification_metrics(y[sel], y_pred[sel], classes)
    (out / "predictions").mkdir(exist_ok=True)
    save_file({"y": y.astype(np.int64), "y_pred": y_pred, "index": split.test.astype(np.int64)},
              str(out / "predictions" / "test.safetensors"))
    metrics["summary"] = summarise(metrics)
    write_json(out / "metrics.json", metrics)
    return metrics


def classic_tasks(tasks: list[Task]) -> list[Task]:
    """One task per baseline for every (setting, seed) of the network ``tasks`` (their data and split)."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for t in tasks:
        seen.setdefault((t.config["setting"], t.config["seed"]), t.config)
    return [Task(f"{setting}_{name}_s{seed}", {**config, "classic": name})
            for (setting, seed), config in seen.items() for name in MEG_BASELINES]


def classic_row(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """Grid worker: run one classic task and return its results-table row."""
    config = dict(config)
    baseline = config.pop("classic")
    s = run_classic(MegAblationConfig.model_validate(config), baseline, Path(out) / "runs" / name)["summary"]
    from neurorep.recipes.meg_ablation.tables import FLAGS, HEADERS

    return {"Setting": s["setting"].capitalize(), "Method": BASELINE_LABELS[baseline], "method": "classic",
            **{HEADERS[f]: "-" for f in FLAGS}, **s}


def required_rows(rows: list[dict[str, Any]], tasks: list[Task] | None = None) -> None:
    """Refuse the table unless every setting has its classic rows."""
    for setting in dict.fromkeys(r["Setting"] for r in rows):
        require_rows([r for r in rows if r["Setting"] == setting], [BASELINE_LABELS[n] for n in MEG_BASELINES],
                     key="Method")
