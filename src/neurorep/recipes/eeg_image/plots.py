"""Figures of one eeg-image run: similarity matrix, retrieval examples, k-way accuracy, categories, repetitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from neurorep.evaluation import plots
from neurorep.recipes.base import RunPlots

__all__ = ["kway_figure", "plots_from_run", "repetition_figure", "retrieval_examples", "similarity_figure", "write_run_plots"]


def similarity_figure(sim: np.ndarray, categories: list[str], title: str = "EEG x image cosine similarity") -> Figure:
    """Queries x candidates similarity, both sorted by category (block structure = category information)."""
    order = np.argsort(np.asarray(categories), kind="stable")
    s = sim[np.ix_(order, order)]
    fig = Figure(figsize=(6.2, 5.4))
    ax = fig.subplots()
    im = ax.imshow(s, cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="cosine similarity")
    cats = np.asarray(categories)[order]
    edges = [i for i in range(1, len(cats)) if cats[i] != cats[i - 1]]
    for e in edges:
        ax.axhline(e - 0.5, color="white", lw=0.3)
        ax.axvline(e - 0.5, color="white", lw=0.3)
    ax.set_xlabel("candidate image (sorted by category)")
    ax.set_ylabel("EEG test query (sorted by category)")
    ax.set_title(title)
    return fig


def retrieval_examples(sim: np.ndarray, concepts: list[str], categories: list[str], files: list[str] | None = None,
                       image_dir: Path | None = None, n: int = 6, k: int = 5, seed: int = 0) -> Figure:
    """For ``n`` queries, the top-``k`` retrieved images (thumbnail when the file exists, else a labelled tile).

    A green frame marks the right image, orange one of the same category.
    """
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(sim), min(n, len(sim)), replace=False))
    fig = Figure(figsize=(1.9 * (k + 1), 2.1 * len(pick)), layout="constrained")  # room for two-line captions
    axes = fig.subplots(len(pick), k + 1, squeeze=False)
    uniq = sorted(set(categories))
    colours = {c: plots._colours(len(uniq), "tab20")[i] for i, c in enumerate(uniq)}
    for row, q in enumerate(pick):
        top = np.argsort(-sim[q], kind="stable")[:k]
        _tile(axes[row, 0], q, concepts, categories, files, image_dir, colours, f"query: {_short(concepts[q])}",
              "black")
        for j, c in enumerate(top):
            edge = "green" if c == q else ("orange" if categories[c] == categories[q] else "lightgrey")
            _tile(axes[row, j + 1], c, concepts, categories, files, image_dir, colours,
                  f"#{j + 1} {_short(concepts[c])}\n{sim[q, c]:.2f}", edge)
    fig.suptitle(f"zero-shot retrieval: top-{k} of {sim.shape[1]} (green = right image, orange = same category)")
    return fig


def _short(concept: str) -> str:
    return concept.split("_", 1)[-1][:18]


def _tile(ax: Any, i: int, concepts: list[str], categories: list[str], files: list[str] | None,
          image_dir: Path | None, colours: dict[str, Any], title: str, edge: str) -> None:
    img = None
    if files is not None and image_dir is not None:
        p = image_dir / concepts[i] / files[i]
        if p.is_file():
            import matplotlib.image as mpimg

            img = mpimg.imread(p)
    if img is not None:
        ax.imshow(img)
    else:
        ax.set_facecolor(colours[categories[i]])
        ax.text(0.5, 0.5, categories[i], ha="center", va="center", fontsize=7, transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(edge)
        spine.set_linewidth(3 if edge != "lightgrey" else 1)
    ax.set_title(title, fontsize=7)


def kway_figure(retrieval: dict[str, dict[str, float]], title: str = "k-way retrieval accuracy vs chance") -> Figure:
    """Bars of top-k accuracy for each way, chance marked with a black line."""
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    ways = list(retrieval)
    keys = sorted({k for m in retrieval.values() for k in m if k.startswith("top")})
    width = 0.8 / max(1, len(keys))
    for j, key in enumerate(keys):
        xs = [i + j * width for i, w in enumerate(ways) if key in retrieval[w]]
        vals = [retrieval[w][key] for w in ways if key in retrieval[w]]
        chance = [retrieval[w][f"chance_{key}"] for w in ways if key in retrieval[w]]
        ax.bar(xs, vals, width=width, label=key)
        ax.hlines(chance, [x - width / 2 for x in xs], [x + width / 2 for x in xs], colors="black")
    ax.set_xticks([i + width * (len(keys) - 1) / 2 for i in range(len(ways))], ways)
    ax.set_ylim(0, 1)
    ax.set_xlabel("retrieval task (candidates per query)")
    ax.set_ylabel("accuracy (black line: chance)")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig


def category_figure(per_category: dict[str, dict[str, Any]], key: str = "top5") -> Figure:
    """Per-category retrieval accuracy (horizontal bars, sorted)."""
    items = sorted(per_category.items(), key=lambda kv: kv[1].get(key, 0.0))
    fig = Figure(figsize=(6, 0.22 * len(items) + 1.2))
    ax = fig.subplots()
    ax.barh([f"{c} (n={m['n']})" for c, m in items], [m.get(key, 0.0) for _, m in items], color="tab:blue")
    ax.set_xlabel(f"{key} accuracy ({sum(m['n'] for _, m in items)}-way, all candidates)")
    ax.set_ylabel("higher-level category (test concepts)")
    ax.set_title(f"retrieval {key} per higher-level category")
    ax.tick_params(axis="y", labelsize=7)
    return fig


def repetition_figure(curve: list[dict[str, Any]], n_way: int) -> Figure:
    """Top-k accuracy against the number of test repetitions averaged."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.subplots()
    reps = [c["repetitions"] for c in curve]
    for key in sorted(k for k in curve[0] if k.startswith("top")):
        ax.plot(reps, [c[key] for c in curve], marker="o", label=key)
        ax.axhline(min(int(key[3:]), n_way) / n_way, ls=":", color="grey")
    ax.set_xscale("log")
    ax.set_xticks(reps, [str(r) for r in reps])
    ax.minorticks_off()
    ax.set_xlabel("test repetitions averaged")
    ax.set_ylabel(f"{n_way}-way accuracy (dotted: chance)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("averaging repetitions")
    return fig


def write_run_plots(folder: Path, run: RunPlots) -> dict[str, str]:
    """Write the run's PNGs into ``folder``; returns name -> file name. ``run.classes`` are the test
    concepts, ``run.arrays["similarity"]`` the EEG-image similarities, ``run.extra`` holds ``categories``,
    ``files`` and ``image_dir`` (the test images)."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics, arrays, concepts, seed = run.metrics, run.arrays, run.classes, run.seed
    categories, files, image_dir = run.extra["categories"], run.extra.get("files"), run.extra.get("image_dir")
    curves_csv = run.curve()
    figs: dict[str, Figure] = {
        "similarity": similarity_figure(arrays["similarity"], categories),
        "retrieval_examples": retrieval_examples(arrays["similarity"], concepts, categories, files, image_dir,
                                                 seed=seed),
        "kway": kway_figure(metrics["retrieval"]),
    }
    if len(set(categories)) > 1:
        figs["categories"] = category_figure(metrics["per_category"])
    if metrics.get("repetition_curve"):
        figs["repetitions"] = repetition_figure(metrics["repetition_curve"], int(arrays["similarity"].shape[1]))
    if curves_csv is not None:
        figs["learning_curves"] = plots.learning_curves(curves_csv, title="Training curves (CLIP alignment)")
    written = {}
    for name, fig in figs.items():
        fig.savefig(folder / f"{name}.png", dpi=100, bbox_inches="tight")
        written[name] = f"{name}.png"
    return written


def plots_from_run(run_dir: Path) -> dict[str, str]:
    """Write a finished run's figures from its ``metrics.json``, ``config.yaml`` and stored arrays."""
    import json

    from safetensors import safe_open

    from neurorep.config import read_yaml

    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cfg = read_yaml(run_dir / "config.yaml")
    path = run_dir / "embeddings" / "test.safetensors"
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (a safetensors handle, not a dict)
    sub = "test_images" if cfg.get("separate_test", True) else "training_images"
    return write_run_plots(run_dir / "plots", RunPlots(
        arrays=arrays, classes=json.loads(meta["concepts"]), metrics=metrics, curves=[run_dir / "train" / "metrics.csv"],
        seed=int(cfg.get("seed", 0)), extra={"categories": json.loads(meta["categories"]),
                                              "files": json.loads(meta["files"]),
                                              "image_dir": Path(cfg["data"]["source"]) / "image_set" / sub}))
