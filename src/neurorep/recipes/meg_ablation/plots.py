"""Figures of the meg-ablation recipe: confusion matrices, learning curves, the sensor grid, sensor images."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from neurorep.data.sensor_grid import SensorGrid, magnes_positions
from neurorep.evaluation import plots
from neurorep.recipes.base import RunPlots


def write_run_plots(folder: Path, run: RunPlots) -> dict[str, str]:
    """Confusion matrix of the test windows and learning curves of every stage (``run.curves``, one CSV
    per stage folder), as PNGs in ``folder``."""
    metrics, classes = run.metrics, run.classes
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    fig = plots.confusion_matrix_plot(metrics["test"]["confusion"], classes, normalize=True,
                                      title=f"{metrics['setting']}: test confusion")
    fig.savefig(folder / "confusion.png", dpi=110, bbox_inches="tight")
    written["confusion"] = "confusion.png"
    for csv in run.curves:
        name = f"curves_{csv.parent.name}.png"
        plots.learning_curves(csv, title=stage_title(csv.parent.name)).savefig(folder / name, dpi=100,
                                                                                bbox_inches="tight")
        written[name.removesuffix(".png")] = name
    return written


STAGE_WORDS = {"denoising": "denoising", "masked_sensor": "masked MEG", "masked_sequence": "masked sequence"}


def stage_title(folder: str) -> str:
    """``pretrain_1_denoising+masked_sensor`` -> ``Pretraining stage 1: denoising + masked MEG``."""
    if folder == "finetune":
        return "Fine-tuning (classification)"
    parts = folder.split("_", 2)
    if parts[0] == "pretrain" and len(parts) == 3:
        names = " + ".join(STAGE_WORDS.get(n, n.replace("_", " ")) for n in parts[2].split("+"))
        return f"Pretraining stage {parts[1]}: {names}"
    return folder.replace("_", " ")


def sensor_grid_figure(grid: SensorGrid) -> Figure:
    """Left: the Magnes layout coloured by sensor number; right: the same colours on the grid cells."""
    xy = magnes_positions()
    fig = Figure(figsize=(10, 4.6))
    ax1, ax2 = fig.subplots(1, 2)
    colour = np.arange(len(xy))
    ax1.scatter(xy[:, 0], xy[:, 1], c=colour, cmap="viridis", s=18)
    ax1.set_title("Magnes 3600 layout (MNE): front up, left left")
    ax1.set_aspect("equal")
    img = np.full((grid.height, grid.width), np.nan)
    img[grid.rows, grid.cols] = colour
    ax2.imshow(img, origin="lower", cmap="viridis")
    ax2.set_title(f"{grid.height}x{grid.width} sensor image (row 0 = back, at the bottom)")
    for ax in (ax1, ax2):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def class_images_figure(grid: SensorGrid, power: np.ndarray, classes: list[str]) -> Figure:
    """A per-sensor value per class ``power [K, C]`` (e.g. alpha share) drawn as one sensor image per class."""
    fig = Figure(figsize=(3 * len(classes), 3.2))
    axes = np.atleast_1d(fig.subplots(1, len(classes)))
    for ax, p, name in zip(axes, power, classes, strict=True):
        img = np.full((grid.height, grid.width), np.nan)
        img[grid.rows, grid.cols] = p
        ax.imshow(img, origin="lower", cmap="magma")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Share of 8-13 Hz power per sensor (training windows), front up")
    return fig
