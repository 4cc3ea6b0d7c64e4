"""Figures of one ssl run: embedding map, confusion matrix, one recording's label sequence (fixed-length
consecutive windows, e.g. a night's hypnogram), learning curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from neurorep.data.cache import WindowCache
from neurorep.evaluation import plots
from neurorep.evaluation.metrics import classification_metrics
from neurorep.recipes.base import RunPlots


def write_run_plots(folder: Path, run: RunPlots) -> dict[str, str]:
    """Write the run's PNGs into ``folder``; returns name -> file name.

    ``run.arrays`` holds the test-set ``embedding [N, D]``, ``y``, ``subject``, ``recording`` and
    ``index`` (cache rows); ``run.extra["predictions"]`` maps an evaluation name to predicted classes
    ``[N]`` in the same order; ``run.cache`` is the window cache.
    """
    test, predictions, cache, classes, seed = run.arrays, run.extra["predictions"], run.cache, run.classes, run.seed
    curves_csv = run.curve()
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        fig.savefig(folder / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written[name.removesuffix(".png")] = name

    save(plots.embedding_scatter(test["embedding"], test["y"], test["subject"], classes, seed=seed), "embedding.png")
    key = _main_prediction(predictions)
    window_s = cache.info.config.get("window_s")
    if key is not None:
        y_pred = predictions[key]
        cm = np.asarray(classification_metrics(test["y"], y_pred, classes)["confusion"])
        what = prediction_title(key)
        save(plots.confusion_matrix_plot(cm, classes, normalize=True, title=f"Confusion matrix: {what}"),
             "confusion.png")
    if key is not None and window_s:  # consecutive fixed windows: one recording's label sequence
        rec = np.bincount(test["recording"]).argmax()
        sel = np.where(test["recording"] == rec)[0]
        order = sel[np.argsort(cache.meta["onset"][test["index"][sel]])]
        name = cache.info.recordings[_rec_pos(cache, int(rec))].source
        save(plots.hypnogram_plot(test["y"][order], y_pred[order], classes, epoch_seconds=window_s,
                                  title=f"{Path(name).name}: true vs predicted ({what})"), "hypnogram.png")
    if curves_csv is not None:
        save(plots.learning_curves(curves_csv, title="Pretraining curves"), "learning_curves.png")
    return written


def plots_from_run(run_dir: Path, cache: WindowCache, seed: int) -> dict[str, str]:
    """Write a finished run's figures from its stored embeddings and predictions."""
    from safetensors.numpy import load_file

    test = load_file(str(run_dir / "embeddings" / "test.safetensors"))
    predictions = load_file(str(run_dir / "embeddings" / "test_predictions.safetensors"))
    return write_run_plots(run_dir / "plots", RunPlots(arrays=test, classes=cache.classes, seed=seed, cache=cache,
                                                       curves=[run_dir / "pretrain" / "metrics.csv"],
                                                       extra={"predictions": predictions}))


PREDICTION_KINDS = {"probe": "linear probe", "supervised": "supervised from scratch", "finetune": "fine-tuned"}


def prediction_title(key: str) -> str:
    """``probe_1`` -> ``linear probe, 100% of the labels``; ``finetune_0.1`` -> ``fine-tuned, 10% of the labels``."""
    kind, _, fraction = key.partition("_")
    try:
        share = f"{100 * float(fraction):g}% of the labels"
    except ValueError:
        return key.replace("_", " ")
    return f"{PREDICTION_KINDS.get(kind, kind)}, {share}"


def _main_prediction(predictions: dict[str, np.ndarray]) -> str | None:
    for key in ("probe_1", "supervised_1", "finetune_1"):
        if key in predictions:
            return key
    return next(iter(predictions), None)


def _rec_pos(cache: WindowCache, rec_id: int) -> int:
    for pos, r in enumerate(cache.info.recordings):
        if r.id == rec_id:
            return pos
    raise KeyError(rec_id)
