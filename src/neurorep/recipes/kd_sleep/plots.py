"""Figures of kd-sleep: per run (confusion, hypnogram, learning curves) and across runs
(bottleneck t-SNE of ECG base / KD student / EEG teacher; where the KD student and the base differ)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from neurorep.data.cache import WindowCache
from neurorep.evaluation import plots
from neurorep.evaluation.metrics import classification_metrics
from neurorep.recipes.base import RunPlots


def _save(fig: Figure, folder: Path, name: str, written: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / name, dpi=110, bbox_inches="tight")
    written[name.removesuffix(".png")] = name


def _night(arrays: dict[str, np.ndarray], cache: WindowCache, rec: int | None = None) -> np.ndarray:
    """Positions (into ``arrays``) of one recording's labelled epochs in time order."""
    lab = arrays["y"] >= 0
    if rec is None:
        rec = int(np.bincount(arrays["recording"][lab]).argmax())
    sel = np.where((arrays["recording"] == rec) & lab)[0]
    return sel[np.argsort(cache.meta["onset"][arrays["index"][sel]])]


def write_run_plots(folder: Path, run: RunPlots) -> dict[str, str]:
    """Confusion matrix, one night's hypnogram (true vs predicted) and learning curves of a run
    (``run.arrays``: ``y``, ``pred``, ``recording``, ``index`` of the test epochs; ``run.cache``: their cache)."""
    arrays, cache, classes, curves_csv = run.arrays, run.cache, run.classes, run.curve()
    written: dict[str, str] = {}
    lab = arrays["y"] >= 0
    cm = np.asarray(classification_metrics(arrays["y"][lab], arrays["pred"][lab], classes)["confusion"])
    _save(plots.confusion_matrix_plot(cm, classes, normalize=True, title="confusion (row-normalised)"), folder,
          "confusion.png", written)
    order = _night(arrays, cache)
    _save(plots.hypnogram_plot(arrays["y"][order], arrays["pred"][order], classes, title="test night"), folder,
          "hypnogram.png", written)
    if curves_csv is not None:
        _save(plots.learning_curves(curves_csv, title=plots.curves_title(curves_csv)), folder, "learning_curves.png",
              written)
    return written


def tsne_side_by_side(runs: dict[str, dict[str, np.ndarray]], classes: list[str], seed: int = 0,
                      max_points: int = 1500) -> Figure:
    """One t-SNE panel per run of its per-epoch ``bottleneck [N, C_b]`` features, coloured by stage.

    All runs must hold the same epochs (same split); one seeded subsample is used for every panel.
    """
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    first = next(iter(runs.values()))
    lab = np.where(first["y"] >= 0)[0]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(lab, min(max_points, len(lab)), replace=False))
    fig = Figure(figsize=(5 * len(runs), 4.6))
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    colours = plots._colours(len(classes))
    for ax, (title, arr) in zip(axes, runs.items(), strict=True):
        z = StandardScaler().fit_transform(arr["bottleneck"][pick])
        xy = TSNE(2, perplexity=min(30.0, (len(pick) - 1) / 3), init="pca", random_state=seed).fit_transform(z)
        for c, name in enumerate(classes):
            m = first["y"][pick] == c
            ax.scatter(xy[m, 0], xy[m, 1], s=4, color=colours[c], label=name, alpha=0.7)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
    axes[0].legend(markerscale=3, fontsize=8)
    fig.suptitle("bottleneck features per test epoch (t-SNE), coloured by true stage")
    return fig


def disagreement_cases(base: dict[str, np.ndarray], kd: dict[str, np.ndarray], cache: WindowCache,
                       classes: list[str], context: int = 40) -> tuple[Figure, dict[str, Any]]:
    """Where the KD student is right and the ECG base wrong (and the reverse), with hypnogram context.

    Returns a figure (true / base / KD hypnograms of the test night with the most such epochs,
    a window of ``2 * context`` epochs around the densest stretch, cases marked) and counts.
    """
    if not np.array_equal(base["index"], kd["index"]):
        raise ValueError("base and KD predictions cover different epochs; compare runs of the same split")
    lab = base["y"] >= 0
    kd_right = lab & (kd["pred"] == base["y"]) & (base["pred"] != base["y"])
    base_right = lab & (base["pred"] == base["y"]) & (kd["pred"] != base["y"])
    counts: dict[str, Any] = {"epochs": int(lab.sum()), "kd_right_base_wrong": int(kd_right.sum()),
                              "base_right_kd_wrong": int(base_right.sum())}
    trans: dict[str, int] = {}
    for i in np.where(kd_right)[0]:
        key = f"{classes[base['y'][i]]} (base said {classes[base['pred'][i]]})"
        trans[key] = trans.get(key, 0) + 1
    counts["kd_fixes"] = dict(sorted(trans.items(), key=lambda kv: -kv[1])[:6])
    rec = int(np.bincount(base["recording"][kd_right | base_right]).argmax()) if (kd_right | base_right).any() \
        else int(base["recording"][0])
    order = _night(base, cache, rec)
    flags = (kd_right.astype(int) - base_right.astype(int))[order]
    centre = int(np.argmax(np.convolve(np.abs(flags), np.ones(2 * context), mode="same"))) if len(order) else 0
    lo, hi = max(0, centre - context), min(len(order), centre + context)
    sel = order[lo:hi]
    level = np.empty(len(classes))
    level[plots.stage_order(classes)] = np.arange(len(classes))
    fig = Figure(figsize=(11, 5.5))
    axes = fig.subplots(3, 1, sharex=True)
    t = (np.arange(len(sel)) + lo) * 0.5  # minutes
    for ax, (name, y) in zip(axes, (("true", base["y"][sel]), ("ECG base", base["pred"][sel]),
                                    ("KD student", kd["pred"][sel])), strict=True):
        ax.step(t, level[y], where="post", color="black", linewidth=1)
        ax.set_yticks(range(len(classes)), [classes[i] for i in plots.stage_order(classes)])
        ax.set_ylim(len(classes) - 0.5, -0.5)
        ax.set_ylabel(name)
    for i, pos in enumerate(sel):
        if kd_right[pos]:
            axes[2].axvspan(t[i], t[i] + 0.5, color="tab:green", alpha=0.3, lw=0)
        elif base_right[pos]:
            axes[1].axvspan(t[i], t[i] + 0.5, color="tab:red", alpha=0.3, lw=0)
    axes[-1].set_xlabel("minutes into the test night")
    fig.suptitle(f"green: KD right, base wrong ({counts['kd_right_base_wrong']} epochs in all); "
                 f"red: base right, KD wrong ({counts['base_right_kd_wrong']})")
    return fig, counts
