"""Figures for the evaluation report.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot, so no global figure
state and nothing to close; rendering uses the Agg backend), returns it, and saves it as a PNG
when ``path`` is given.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation._checks import (
    as_list_of_str,
    check_class_indices,
    check_embeddings,
    check_labels,
    stratified_subset,
)

__all__ = [
    "confusion_matrix_plot",
    "embedding_scatter",
    "grid_heatmap",
    "hypnogram_plot",
    "label_fraction_plot",
    "learning_curves",
    "stage_order",
]

PathLike = str | Path

#: Vertical rank of sleep stages in a hypnogram (0 = top), by lower-case class name.
STAGE_RANK: dict[str, float] = {
    "w": 0, "wake": 0, "rem": 1, "r": 1, "n1": 2, "s1": 2, "light": 2.5, "nrem": 3,
    "n2": 3, "s2": 3, "n3": 4, "s3": 4, "deep": 4, "s4": 4.5, "n4": 4.5,
}


def _save(fig: Figure, path: PathLike | None, dpi: int = 120) -> Figure:
    """Save ``fig`` as PNG at ``path`` (parent folders created) when a path is given; return it."""
    if path is not None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=dpi, bbox_inches="tight", format="png")
    return fig


def _colours(n: int, cmap: str = "tab10") -> list[Any]:
    """``n`` distinct colours from a qualitative colormap (cycled when ``n`` exceeds its size)."""
    import matplotlib

    cm = matplotlib.colormaps[cmap if n <= 10 else "tab20"]
    size = cm.N
    return [cm(i % size) for i in range(n)]


def embedding_scatter(
    emb: np.ndarray,
    labels: np.ndarray,
    subjects: np.ndarray,
    class_names: Sequence[str],
    seed: int = 0,
    method: str = "tsne",
    max_points: int = 3000,
    title: str = "Embedding",
    path: PathLike | None = None,
) -> Figure:
    """Two-panel 2-D map of embeddings ``emb [N, D]``: coloured by class and by subject.

    ``labels [N]`` are class indices into ``class_names``; ``subjects [N]`` any hashable ids.
    A seeded subsample of at most ``max_points`` rows, stratified by class, is projected with
    ``method``: ``"tsne"`` (PCA to at most 50 dimensions, then :class:`sklearn.manifold.TSNE`) or
    ``"pca"`` (first two principal components).
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in ("tsne", "pca"):
        raise ConfigError(f"embedding_scatter method must be 'tsne' or 'pca'; got {method!r}")
    names = as_list_of_str(class_names)
    x = check_embeddings(emb)
    y = check_class_indices(labels, len(names), "labels", x.shape[0])
    sub = check_labels(subjects, x.shape[0], "subjects")
    if x.shape[0] < 3:
        raise DataError(f"embedding_scatter needs at least 3 points; got {x.shape[0]}")
    idx = stratified_subset(y, max_total=max_points, seed=seed)
    xs, ys, ss = x[idx], y[idx], sub[idx]
    n_comp = min(50, xs.shape[1], xs.shape[0])
    if method == "pca" or n_comp < 2:
        xy = PCA(n_components=min(2, n_comp), random_state=seed).fit_transform(xs)
    else:
        reduced = PCA(n_components=n_comp, random_state=seed).fit_transform(xs) if xs.shape[1] > 50 else xs
        perplexity = float(min(30.0, max(1.0, (xs.shape[0] - 1) / 3.0)))
        xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    if xy.shape[1] == 1:
        xy = np.column_stack([xy[:, 0], np.zeros(xy.shape[0])])

    fig = Figure(figsize=(11, 5))
    ax1, ax2 = fig.subplots(1, 2)
    cols = _colours(len(names))
    for c, name in enumerate(names):
        m = ys == c
        if m.any():
            ax1.scatter(xy[m, 0], xy[m, 1], s=4, color=cols[c], label=name, alpha=0.7, linewidths=0)
    ax1.legend(markerscale=3, fontsize=8, loc="best")
    ax1.set_title("by class")
    subj, sub_codes = np.unique(ss, return_inverse=True)
    scols = _colours(len(subj), "tab20")
    for s in range(len(subj)):
        m = sub_codes == s
        ax2.scatter(xy[m, 0], xy[m, 1], s=4, color=scols[s], label=str(subj[s]), alpha=0.7, linewidths=0)
    if len(subj) <= 20:
        ax2.legend(markerscale=3, fontsize=6, loc="best", ncol=2)
    ax2.set_title(f"by subject ({len(subj)} subject{'s' if len(subj) != 1 else ''})")
    for ax in (ax1, ax2):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{'t-SNE' if method == 'tsne' else 'PC'} 1")
        ax.set_ylabel(f"{'t-SNE' if method == 'tsne' else 'PC'} 2")
    fig.suptitle(f"{title} ({method.upper()}, {idx.size} points)")
    return _save(fig, path)


def confusion_matrix_plot(
    cm: Sequence[Sequence[float]] | np.ndarray,
    class_names: Sequence[str],
    normalize: bool = True,
    title: str = "Confusion matrix",
    path: PathLike | None = None,
) -> Figure:
    """Heat map of a confusion matrix ``cm [K, K]`` (rows = true class, columns = predicted).

    With ``normalize`` each row is divided by its total (recall on the diagonal; an empty row is
    drawn blank) and cells show the percentage and the count.
    """
    names = as_list_of_str(class_names)
    counts = np.asarray(cm, dtype=np.float64)
    k = len(names)
    if counts.shape != (k, k):
        raise DataError(f"confusion matrix must be {k} x {k} (one row per class name); got {counts.shape}")
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = np.where(totals > 0, counts / totals, np.nan)
    else:
        shown = counts
    fig = Figure(figsize=(1.1 * k + 2.5, 1.0 * k + 1.8))
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    vmax = np.nanmax(shown) if np.isfinite(shown).any() else 1.0
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            text = "–" if not np.isfinite(v) else (f"{100 * v:.1f}%\n{int(counts[i, j])}" if normalize else f"{int(v)}")
            colour = "white" if np.isfinite(v) and v > 0.6 * vmax else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _save(fig, path)


def stage_order(class_names: Sequence[str]) -> list[int]:
    """Class indices in hypnogram order, top to bottom: W, REM, N1, N2, N3 (unknown names last)."""
    names = list(class_names)
    return sorted(range(len(names)), key=lambda i: (STAGE_RANK.get(names[i].strip().lower(), 100.0), i))


def hypnogram_plot(
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    class_names: Sequence[str],
    epoch_seconds: float = 30.0,
    title: str = "Hypnogram",
    path: PathLike | None = None,
) -> Figure:
    """True (top panel) and predicted (bottom panel) hypnograms of one night.

    ``y_true [T]`` and ``y_pred [T]`` are class indices per epoch of ``epoch_seconds``; stages run
    W, REM, N1, N2, N3 from top to bottom as in clinical hypnograms, REM drawn in red.
    ``y_pred=None`` draws the true hypnogram only.
    """
    names = as_list_of_str(class_names)
    yt = check_class_indices(y_true, len(names), "y_true")
    series = [("true", yt)]
    if y_pred is not None:
        series.append(("predicted", check_class_indices(y_pred, len(names), "y_pred", yt.shape[0])))
    order = stage_order(names)
    level = np.empty(len(names), dtype=np.float64)
    level[order] = np.arange(len(names))
    rem = [i for i, nm in enumerate(names) if nm.strip().lower() in ("rem", "r")]
    hours = np.arange(yt.shape[0] + 1) * epoch_seconds / 3600.0

    fig = Figure(figsize=(11, 1.7 * len(series) + 0.8))
    axes = np.atleast_1d(fig.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0])
    for ax, (label, y) in zip(axes, series):
        lv = np.append(level[y], level[y[-1]]) if y.size else np.array([])
        ax.step(hours, lv, where="post", color="black", linewidth=0.9)
        for r in rem:
            seg = np.where(np.append(y == r, False), level[r], np.nan)
            ax.step(hours, seg, where="post", color="tab:red", linewidth=3)
        ax.set_yticks(range(len(names)), [names[i] for i in order])
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xlabel("time (hours)")
    if len(series) == 2 and yt.size:
        agree = float(np.mean(series[0][1] == series[1][1]))
        title = f"{title} (epoch agreement {100 * agree:.1f}%)"
    fig.suptitle(title)
    return _save(fig, path)


def _read_history_csv(path: PathLike) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    """Read a metrics CSV (one row per log call, empty cells allowed, e.g. Lightning's CSVLogger).

    Returns ``(values, xs, xlabel)``: per metric column its non-empty values and the matching x of
    each: ``epoch`` (counted from 1) when the file has one row per epoch, else ``step`` (or row number).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: metrics CSV not found")
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise DataError(f"{p}: metrics CSV has no header row")
        rows = list(reader)
    epochs = [row.get("epoch") for row in rows]
    per_epoch = "epoch" in reader.fieldnames and "" not in epochs and len(set(epochs)) == len(epochs)
    xkey = "epoch" if per_epoch else ("step" if "step" in reader.fieldnames else
                                      ("epoch" if "epoch" in reader.fieldnames else None))
    values: dict[str, list[float]] = {}
    xs: dict[str, list[float]] = {}
    shift = 1.0 if xkey == "epoch" else 0.0
    for r, row in enumerate(rows):
        for key, cell in row.items():
            if key in ("step", "epoch") or key is None or cell in (None, ""):
                continue
            try:
                v = float(cell)
                x = float(row[xkey]) + shift if xkey and row.get(xkey) not in (None, "") else float(r)
            except ValueError as exc:
                raise DataError(f"{p}: row {r + 2}, column {key!r}: expected a number, got {cell!r}") from exc
            values.setdefault(key, []).append(v)
            xs.setdefault(key, []).append(x)
    return values, xs, xkey or "row"


#: parts of a metric name that mark a loss term (drawn with the losses, not with the scores).
LOSS_WORDS = ("loss", "mse", "xent", "kl", "nll", "infonce", "distill", "clip")


def _is_loss(key: str) -> bool:
    name = key.lower().rsplit("/", 1)[-1]
    return any(w in name for w in LOSS_WORDS)


def _is_lr(key: str) -> bool:
    name = key.lower().rsplit("/", 1)[-1]
    return name == "lr" or name.startswith("lr_") or name.startswith("lr-") or "learning_rate" in name


def curves_title(metrics_csv: PathLike) -> str:
    """``Training curves: fine-tune`` from the stage folder that holds a ``metrics.csv``."""
    stage = Path(metrics_csv).parent.name.replace("_", " ").replace("finetune", "fine-tuning")
    return f"Training curves: {stage}" if stage else "Training curves"


def pretty_metric(key: str) -> str:
    """``train/loss`` -> ``train loss``, ``val/bal_acc`` -> ``val bal acc`` (legend and axis text)."""
    return key.replace("/", " ").replace("_", " ").strip()


def _integer_ticks(ax: Any, xs: list[float]) -> None:
    """Epoch or step ticks at whole numbers only (every x when there are few, as with one epoch)."""
    if xs and len(xs) <= 12 and all(float(x).is_integer() for x in xs):
        ax.set_xticks(xs, [str(int(x)) for x in xs])
        if len(xs) == 1:
            ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def learning_curves(
    history: Mapping[str, Sequence[float]] | PathLike,
    title: str = "Learning curves",
    path: PathLike | None = None,
) -> Figure:
    """Training curves from ``{metric: [value per epoch]}`` or the path of a metrics CSV.

    One panel per kind of quantity, each with its own y label: losses and loss terms (names with
    ``loss``, ``mse``, ``xent``, ``kl`` ...), other metrics (accuracy, F1, similarity ...), and the learning rate (``lr``, ``lr_group<j>``;
    log scale) on its own panel so that it never shares the loss axis. The x axis is the epoch
    (or, for a CSV with several rows per epoch, its ``step`` column).
    """
    if isinstance(history, (str, Path)):
        values, xs, xlabel = _read_history_csv(history)
    else:
        values = {str(k): [float(v) for v in vs] for k, vs in history.items()}
        xs = {k: [float(i + 1) for i in range(len(v))] for k, v in values.items()}
        xlabel = "epoch"
    if not values:
        raise DataError("learning_curves got no metric values")
    lr = sorted(k for k in values if _is_lr(k))
    loss = sorted(k for k in values if _is_loss(k) and k not in lr)
    other = sorted(k for k in values if k not in lr and k not in loss)
    panels = [(keys, label) for keys, label in ((loss, "loss"), (other, "metric value"), (lr, "learning rate")) if keys]
    fig = Figure(figsize=(5.0 * len(panels), 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)[0])
    for ax, (keys, ylabel) in zip(axes, panels):
        for key in keys:
            ax.plot(xs[key], values[key], marker="o" if len(values[key]) < 30 else None, markersize=3,
                    label=pretty_metric(key))
        if ylabel == "learning rate" and all(v > 0 for k in keys for v in values[k]):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        _integer_ticks(ax, sorted({x for k in keys for x in xs[k]}))
        ax.set_ylabel(ylabel)
        ax.set_title(ylabel)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def grid_heatmap(
    values: Sequence[Sequence[float]] | np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "",
    fmt: str = ".3f",
    path: PathLike | None = None,
    cmap: str = "viridis",
    colorbar_label: str | None = None,
    xlabel: str = "",
    ylabel: str = "",
) -> Figure:
    """Annotated heat map of a ``[R, C]`` grid (e.g. paradigm x encoder -> balanced accuracy).

    Each cell shows its value formatted with ``fmt``; NaN cells (runs that are missing) are grey
    and marked "n/a". ``xlabel``/``ylabel`` name what the columns and rows are.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape != (len(row_labels), len(col_labels)):
        raise DataError(
            f"grid values must have shape ({len(row_labels)}, {len(col_labels)}) = (rows, columns); got {v.shape}"
        )
    fig = Figure(figsize=(1.3 * v.shape[1] + 3, 0.6 * v.shape[0] + 2))
    ax = fig.subplots()
    masked = np.ma.masked_invalid(v)
    import matplotlib

    cm = matplotlib.colormaps[cmap].with_extremes(bad="lightgrey")
    im = ax.imshow(masked, cmap=cm, aspect="auto")
    cb = fig.colorbar(im, ax=ax)
    if colorbar_label:
        cb.set_label(colorbar_label)
    finite = v[np.isfinite(v)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            val = v[i, j]
            if not math.isfinite(val):
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=9, color="black")
                continue
            dark = (val - lo) / (hi - lo) < 0.5 if hi > lo else True
            ax.text(j, i, format(val, fmt), ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(v.shape[1]), [str(c) for c in col_labels], rotation=30, ha="right")
    ax.set_yticks(range(v.shape[0]), [str(r) for r in row_labels])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, path)


def label_fraction_plot(
    rows: Sequence[Mapping[str, Any]],
    metric: str = "balanced_accuracy",
    group_key: str | None = None,
    title: str = "Linear probe vs. label fraction",
    path: PathLike | None = None,
) -> Figure:
    """Probe score against the fraction of training labels (log x axis).

    ``rows`` are dicts with ``fraction`` and ``metric`` (as from
    :func:`neurorep.evaluation.probe.label_fraction_curve`), optionally a group column (``group_key``,
    or the first of ``method``, ``model``, ``encoder``, ``paradigm``, ``name`` present) for one line
    per group; a ``group_key`` that a row lacks is an error (the lines would silently merge).
    Rows repeating a (group, fraction) pair, e.g. several seeds, are drawn as mean +/- SD.
    """
    if not rows:
        raise DataError("label_fraction_plot got no rows")
    for r, row in enumerate(rows):
        if "fraction" not in row or metric not in row:
            raise DataError(f"label_fraction_plot row {r} needs keys 'fraction' and {metric!r}; got {sorted(row)}")
    if group_key is None:
        group_key = next((g for g in ("method", "model", "encoder", "paradigm", "name") if g in rows[0]), None)
    elif any(group_key not in row for row in rows):
        raise DataError(f"label_fraction_plot: group key {group_key!r} is missing from some rows")
    groups: dict[str, dict[float, list[float]]] = {}
    for row in rows:
        g = str(row.get(group_key, "")) if group_key else ""
        groups.setdefault(g, {}).setdefault(float(row["fraction"]), []).append(float(row[metric]))
    fig = Figure(figsize=(6 if len(groups) <= 6 else 8, 4.2))
    ax = fig.subplots()
    all_fracs: set[float] = set()
    for (g, per_frac), colour in zip(groups.items(), _colours(len(groups))):
        fr = sorted(per_frac)
        all_fracs.update(fr)
        mean = [float(np.mean(per_frac[f])) for f in fr]
        sd = [float(np.std(per_frac[f], ddof=1)) if len(per_frac[f]) > 1 else 0.0 for f in fr]
        ax.errorbar(fr, mean, yerr=sd, marker="o", capsize=3, color=colour, label=g or metric)
    ax.set_xscale("log")
    ticks = sorted(all_fracs)
    ax.set_xticks(ticks, [f"{100 * f:g}%" for f in ticks])
    ax.minorticks_off()
    ax.set_xlabel("fraction of training labels")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    if len(groups) <= 6:
        ax.legend(fontsize=8)
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title)
    return _save(fig, path)
