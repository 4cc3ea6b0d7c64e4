"""The meg-ablation grid report: the 8-row tables, F1 bars, per-class confusion matrices, sensor images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from neurorep.data.cache import WindowCache
from neurorep.data.dataset import WindowDataset
from neurorep.data.sensor_grid import grid_for
from neurorep.evaluation import plots
from neurorep.evaluation.report import Section, markdown_table, write_report
from neurorep.recipes.meg_ablation.plots import class_images_figure, sensor_grid_figure

SHORT = {"denoising": "D", "masked_sensor": "M", "masked_sequence": "S"}


def combo_label(row: dict[str, Any]) -> str:
    if row.get("method") == "classic":  # a classic baseline row: its name
        return str(row["Method"])
    on = [SHORT[k] for k in SHORT if row.get(k)]
    return "+".join(on) if on else "none"


def f1_bars(rows: list[dict[str, Any]], setting: str) -> Figure:
    """Macro-F1 mean +- sd over seeds, one bar per combination."""
    sub = [r for r in rows if r["Setting"] == setting]
    labels = list(dict.fromkeys(combo_label(r) for r in sub))
    vals = [[r["macro_f1"] for r in sub if combo_label(r) == lab] for lab in labels]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.bar(labels, [np.mean(v) for v in vals], yerr=[np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in vals],
           capsize=3, color="#4c72b0")
    for i, v in enumerate(vals):
        ax.scatter([i] * len(v), v, color="k", s=10, zorder=3)
    ax.set_xlabel("pretraining combination")
    ax.set_ylabel("macro-F1 (test)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{setting}: D = denoising, M = masked MEG, S = masked sequence")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _confusions(out: Path, rows: list[dict[str, Any]], setting: str) -> list[tuple[str, np.ndarray, list[str]]]:
    """Summed test confusion matrices over seeds, one per combination."""
    acc: dict[str, np.ndarray] = {}
    classes: list[str] = []
    for r in rows:
        if r["Setting"] != setting:
            continue
        m = json.loads((out / r["run"] / "metrics.json").read_text())
        classes = m["classes"]
        cm = np.asarray(m["test"]["confusion"], dtype=np.int64)
        key = combo_label(r)
        acc[key] = acc.get(key, 0) + cm
    return [(k, v, classes) for k, v in acc.items()]


def per_class_rows(out: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-class F1 (mean over seeds) for every setting and combination."""
    table: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in rows:
        m = json.loads((out / r["run"] / "metrics.json").read_text())
        table.setdefault((r["Setting"], combo_label(r)), []).append(m["test"]["per_class_f1"])
    result = []
    for (setting, combo), values in table.items():
        result.append({"setting": setting, "pretraining": combo,
                       **{c: float(np.mean([v[c] for v in values])) for c in values[0]}})
    return result


def write_grid_report(out: Path, rows: list[dict[str, Any]], grid_cfg: dict[str, Any], seconds: float,
                      caches: dict[str, WindowCache]) -> Path:
    """Write ``out/report.html`` (self-contained) and return its path."""
    from neurorep.recipes.meg_ablation.grid import setting_table

    n_combos = len(grid_cfg["rows"])
    sections = [Section(
        "Study",
        text=(f"{len(rows)} runs ({n_combos} pretraining combinations x {', '.join(grid_cfg['settings'])} x "
              f"{grid_cfg['seeds']} seed(s)) in {seconds / 60:.1f} min. Each run pretrains the enabled parts "
              "(denoising and masked MEG initialise the CNN over sensor images, masked sequence the transformer), "
              "then trains the whole model end to end and scores every test window. Intra: the same subject in "
              "train and test; Cross: unseen test subjects (all test folders pooled). Values are mean ± sd over "
              "seeds (each seed also draws its own validation recordings)."))]
    for setting in dict.fromkeys(r["Setting"] for r in rows):
        sections.append(Section(f"{setting}: pretraining ablation", table=setting_table(rows, setting)))
    for setting in dict.fromkeys(r["Setting"] for r in rows):
        figs: list[Any] = [f1_bars(rows, setting)]
        for combo, cm, classes in _confusions(out, rows, setting):
            figs.append(plots.confusion_matrix_plot(cm, classes, normalize=True,
                                                    title=f"{setting}, pretraining {combo} (summed over seeds)"))
        sections.append(Section(f"{setting}: F1 and per-class confusion matrices", figures=figs))
    pcr = per_class_rows(out, rows)
    if pcr:
        sections.append(Section("Per-class F1 (mean over seeds)", table=markdown_table(pcr, floatfmt=".3f")))
    parts = [c for c in rows[0] if c.startswith("macro_f1_test")]
    if parts:
        part_rows = [{"setting": r["Setting"], "pretraining": combo_label(r), "seed": r["seed"],
                      **{p: r.get(p) for p in parts}} for r in rows if any(p in r for p in parts)]
        sections.append(Section("Cross: macro-F1 per test folder", table=markdown_table(part_rows, floatfmt=".3f")))
    cache = next(iter(caches.values()))
    n_channels = cache.info.n_channels
    if n_channels == 248:
        grid = grid_for(248, size=int(grid_cfg["base"].get("encoder", {}).get("kwargs", {}).get("grid_size", 20)))
        figs = [sensor_grid_figure(grid), class_images_figure(grid, _class_power(cache), cache.classes)]
        sections.append(Section("Sensor images", text="Each of the 248 sensors gets its own cell (nearest free cell "
                                "of the Magnes 3600 layout shipped with MNE); empty cells are zero.", figures=figs))
    curves = sorted((out / rows[-1]["run"]).glob("plots/curves_*.png"))
    if curves:
        last = rows[-1]
        sections.append(Section(f"Learning curves: {last['Setting']}, pretraining {combo_label(last)}, "
                                f"seed {last['seed']}", text=f"Run folder {last['run']}.",
                                figures=[str(p) for p in curves]))
    return write_report(out / "report.html", "neurorep meg-ablation benchmark", sections)


def _class_power(cache: WindowCache, per_class: int = 40, band: tuple[float, float] = (8.0, 13.0)) -> np.ndarray:
    """Share of each sensor's power in ``band`` (alpha), mean over up to ``per_class`` training windows: ``[K, C]``."""
    train_recs = [r.id for r in cache.info.recordings if r.part == "train"]
    train = np.flatnonzero(np.isin(cache.meta["recording"], train_recs))
    y = cache.meta["y"]
    sfreq = cache.info.sfreq
    out = []
    for k in range(len(cache.classes)):
        idx = train[y[train] == k][:per_class]
        if not len(idx):
            out.append(np.full(cache.info.n_channels, np.nan))
            continue
        x = WindowDataset(cache, idx).load_all()
        spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
        f = np.fft.rfftfreq(x.shape[-1], 1 / sfreq)
        sel = (f >= band[0]) & (f < band[1])
        out.append((spec[..., sel].sum(-1) / np.maximum(spec[..., 1:].sum(-1), 1e-12)).mean(0))
    return np.asarray(out)
