"""Plots render without error; the HTML report is self-contained and holds images and tables."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation import plots
from neurorep.evaluation.report import Section, markdown_table, mean_sd, write_report

NAMES = ["W", "N1", "N2", "N3", "REM"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def emb() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 80)
    x = (rng.normal(size=(5, 64))[y] * 2 + rng.normal(size=(80, 64))).astype(np.float32)
    return x, y, np.repeat(np.arange(4), 20)


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embedding_scatter(emb, tmp_path: Path, method: str) -> None:
    x, y, s = emb
    fig = plots.embedding_scatter(x, y, s, NAMES, seed=0, method=method, max_points=60, path=tmp_path / "e.png")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert (tmp_path / "e.png").read_bytes().startswith(PNG)
    with pytest.raises(ConfigError, match="umap"):
        plots.embedding_scatter(x, y, s, NAMES, method="umap")


def test_confusion_matrix_plot(tmp_path: Path) -> None:
    cm = np.array([[5, 1, 0, 0, 0], [1, 3, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 2, 6, 0], [0, 1, 0, 0, 4]])
    fig = plots.confusion_matrix_plot(cm, NAMES, normalize=True, title="cm", path=tmp_path / "cm.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "83.3%\n5" in texts and "–" in texts  # row-normalised; the empty row is blank
    plots.confusion_matrix_plot(cm.tolist(), NAMES, normalize=False)
    with pytest.raises(DataError, match="5 x 5"):
        plots.confusion_matrix_plot(cm[:3], NAMES)


def test_hypnogram_stage_order(tmp_path: Path) -> None:
    assert [NAMES[i] for i in plots.stage_order(NAMES)] == ["W", "REM", "N1", "N2", "N3"]
    assert [n for n in np.array(["W", "NREM", "REM"])[plots.stage_order(["W", "NREM", "REM"])]] == ["W", "REM", "NREM"]
    rng = np.random.default_rng(1)
    y_true = np.repeat(rng.integers(0, 5, 40), 10)
    y_pred = np.where(rng.random(400) < 0.8, y_true, rng.integers(0, 5, 400))
    fig = plots.hypnogram_plot(y_true, y_pred, NAMES, epoch_seconds=30, path=tmp_path / "h.png")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["W", "REM", "N1", "N2", "N3"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first stage on top
    assert len(fig.axes) == 2 and "agreement" in fig._suptitle.get_text()
    assert len(plots.hypnogram_plot(y_true, None, NAMES).axes) == 1
    with pytest.raises(DataError, match="y_pred has 3 entries"):
        plots.hypnogram_plot(y_true, y_pred[:3], NAMES)


def test_learning_curves_from_dict_and_csv(tmp_path: Path) -> None:
    fig = plots.learning_curves({"train_loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.8, 0.7], "val_acc": [0.3, 0.5, 0.6]})
    assert len(fig.axes) == 2
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text("epoch,step,train_loss,val_loss,val_bal_acc\n0,9,1.2,,\n0,9,,1.3,0.4\n1,19,0.9,,\n1,19,,1.0,0.6\n")
    fig = plots.learning_curves(csv_path, path=tmp_path / "lc.png")
    lines = {ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines()}
    assert list(lines["val loss"].get_xdata()) == [9.0, 19.0]  # several rows per epoch: x is the step
    assert list(lines["val bal acc"].get_ydata()) == [0.4, 0.6]
    with pytest.raises(DataError, match="not found"):
        plots.learning_curves(tmp_path / "missing.csv")


def test_grid_heatmap_and_label_fraction_plot(tmp_path: Path) -> None:
    grid = np.array([[0.71, 0.74, np.nan], [0.69, 0.77, 0.75]])
    fig = plots.grid_heatmap(grid, ["masked", "contrastive"], ["cnn", "cnn_attn", "transformer"],
                             title="balanced accuracy", fmt=".2f", path=tmp_path / "g.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.77" in texts and "n/a" in texts
    with pytest.raises(DataError, match="shape"):
        plots.grid_heatmap(grid, ["a"], ["b"], title="")
    rows = [{"model": m, "fraction": f, "seed": s, "balanced_accuracy": 0.5 + f / 3 + 0.01 * s}
            for m in ("a", "b") for f in (0.01, 0.1, 1.0) for s in range(3)]
    fig = plots.label_fraction_plot(rows, path=tmp_path / "lf.png")
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    with pytest.raises(DataError, match="fraction"):
        plots.label_fraction_plot([{"accuracy": 1.0}])


def test_report_is_self_contained(tmp_path: Path) -> None:
    fig = plots.grid_heatmap(np.eye(2), ["a", "b"], ["c", "d"], title="g")
    png = tmp_path / "fig.png"
    fig.savefig(png)
    rows = [{"encoder": "cnn", "bal_acc": 0.81234, "kappa": 0.7}, {"encoder": "<tf>", "bal_acc": 0.8, "kappa": None}]
    out = write_report(
        tmp_path / "out" / "report.html",
        "Sleep <study>",
        [
            Section("Probe", text="first paragraph\n\nsecond & last", table=rows, figures=[fig, png]),
            Section("Markdown", table=markdown_table(rows, floatfmt=".2f")),
        ],
    )
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and "<style>" in doc
    assert "Sleep &lt;study&gt;" in doc and "&lt;tf&gt;" in doc and "second &amp; last" in doc
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', doc)
    assert len(images) == 2 and all(base64.b64decode(b).startswith(PNG) for b in images)
    assert "<td>0.812</td>" in doc and "<td>0.81</td>" in doc and doc.count("<table>") == 2
    assert "http" not in doc.replace("http-equiv", "")  # nothing fetched from elsewhere
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temporary file left
    with pytest.raises(DataError, match="PNG"):
        write_report(tmp_path / "r2.html", "t", [Section("x", figures=[tmp_path / "out" / "report.html"])])


def test_markdown_table_and_mean_sd() -> None:
    md = markdown_table([{"a": 1, "b": 0.5}, {"a": "x|y", "c": float("nan")}], floatfmt=".2f")
    assert md.splitlines() == ["| a | b | c |", "|---|---|---|", "| 1 | 0.50 |  |", "| x\\|y |  | — |"]
    assert markdown_table([{"a": 1, "b": 2}], columns=["b"]).splitlines()[0] == "| b |"
    assert mean_sd([0.8, 0.82, 0.816]) == f"{np.mean([0.8, 0.82, 0.816]):.3f} ± {np.std([0.8, 0.82, 0.816], ddof=1):.3f}"
    assert mean_sd([0.812, 0.812]) == "0.812 ± 0.000"
    assert mean_sd([0.5]) == "0.500" and mean_sd([]) == "—" and mean_sd([float("nan")]) == "—"
    assert mean_sd([0.5, float("nan")]) == "0.500"  # a missing value is left out, never printed as nan
    assert mean_sd([1.0, 2.0], fmt=".1f") == "1.5 ± 0.7"
