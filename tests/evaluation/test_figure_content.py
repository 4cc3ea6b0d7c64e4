"""Each report figure plots what its caption says: series names, axis labels, no nan text, no overlaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.evaluation import plots
from neurorep.evaluation.soft_label_plots import reliability_diagram, vote_distribution_plot
from tests.evaluation.figure_checks import check_figure, data_axes, legend_labels

CLASSES = ["W", "N1", "N2", "N3", "REM"]
RNG = np.random.default_rng(0)


def test_embedding_map() -> None:
    emb, y = RNG.normal(size=(60, 8)), np.repeat(np.arange(5), 12)
    facts = check_figure(plots.embedding_scatter(emb, y, np.tile(np.arange(3), 20), CLASSES, method="pca"))
    assert facts["legends"][0] == CLASSES and facts["xlabels"] == ["PC 1", "PC 1"]


def test_confusion_matrix_with_an_empty_class_shows_a_dash() -> None:
    cm = np.array([[5, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 7, 1, 0], [0, 0, 2, 4, 0], [0, 0, 0, 0, 3]])
    facts = check_figure(plots.confusion_matrix_plot(cm, CLASSES))
    assert facts["xlabels"] == ["predicted"] and facts["ylabels"] == ["true"] and "–" in facts["texts"]


def test_hypnogram_panels() -> None:
    y = RNG.integers(0, 5, 120)
    facts = check_figure(plots.hypnogram_plot(y, y[::-1], CLASSES))
    assert facts["ylabels"] == ["true", "predicted"] and facts["xlabels"][-1] == "time (hours)"


def test_learning_curves_keep_the_learning_rate_off_the_loss_axis(tmp_path: Path) -> None:
    csv = tmp_path / "metrics.csv"  # as MetricsHistory writes it: one row per epoch
    csv.write_text("epoch,step,lr,train/loss,train/nt_xent,val/loss,val/pos_sim\n0,10,0.0005,2.0,2.0,2.1,0.5\n"
                   "1,20,0.001,1.5,1.5,1.7,0.7\n2,30,0.0008,1.2,1.2,1.4,0.8\n")
    fig = plots.learning_curves(csv, title="Pretraining curves")
    facts = check_figure(fig)
    by_label = dict(zip(facts["ylabels"], facts["legends"], strict=True))
    assert by_label == {"loss": ["train loss", "train nt xent", "val loss"], "metric value": ["val pos sim"],
                        "learning rate": ["lr"]}
    loss_ax = data_axes(fig)[0]
    assert list(loss_ax.get_lines()[0].get_xdata()) == [1.0, 2.0, 3.0] and facts["xlabels"][0] == "epoch"
    assert data_axes(fig)[2].get_yscale() == "log"


def test_grid_heatmap_names_its_axes() -> None:
    grid = np.array([[0.5, np.nan], [0.6, 0.7]])
    facts = check_figure(plots.grid_heatmap(grid, ["CRL", "MP"], ["cnn", "transformer"], title="bal. acc",
                                            xlabel="encoder", ylabel="method"))
    assert facts["xlabels"] == ["encoder"] and facts["ylabels"] == ["method"] and "n/a" in facts["texts"]


def _grid_rows(seeds: int) -> list[dict]:
    rows = []
    for method, base in (("Random init", 0.4), ("Supervised", 0.5), ("CRL", 0.6)):
        for encoder in ("cnn", "transformer"):
            for seed in range(seeds):
                rows.append({"row": method, "encoder": encoder, "seed": seed, "method": "ssl",
                             **{f"bal_acc@{f:g}": base + f / 10 + 0.01 * seed for f in (0.01, 0.1, 1.0)}})
    return rows


@pytest.mark.parametrize("seeds", [1, 2])
def test_sleep_ssl_label_fraction_curves_have_one_line_per_method(seeds: int) -> None:
    from neurorep.recipes.sleep_ssl.report import label_fraction_figures

    figs = label_fraction_figures(_grid_rows(seeds))
    assert len(figs) == 2  # one per encoder
    for fig, encoder in zip(figs, ("cnn", "transformer"), strict=True):
        facts = check_figure(fig)
        assert facts["legends"][0] == ["Random init", "Supervised", "CRL"]
        assert facts["titles"][0].endswith(encoder) and facts["ylabels"] == ["balanced accuracy"]
        ax = data_axes(fig)[0]
        means = sorted(float(np.mean(c.lines[0].get_ydata())) for c in ax.containers)  # one errorbar line each
        assert len(means) == 3 and means[0] < means[1] < means[2]  # three separate lines, not one average


def test_label_fraction_plot_refuses_a_group_key_the_rows_lack() -> None:
    from neurorep.errors import DataError

    with pytest.raises(DataError, match="group key 'method'"):
        plots.label_fraction_plot([{"fraction": 0.1, "balanced_accuracy": 0.5}], group_key="method")


def test_sleep_ssl_table_with_one_seed_has_no_nan() -> None:
    from neurorep.recipes.sleep_ssl.grid import results_table

    from tests.evaluation.figure_checks import NAN

    table = results_table([{**r, "knn_accuracy": float("nan")} for r in _grid_rows(1)])
    assert not NAN.search(table) and "±" not in table and "0.700" in table


def test_sleep_ssl_prediction_titles_are_readable() -> None:
    from neurorep.recipes.sleep_ssl.plots import prediction_title

    assert prediction_title("probe_1") == "linear probe, 100% of the labels"
    assert prediction_title("finetune_0.1") == "fine-tuned, 10% of the labels"


def test_foundation_seed_axis_is_categorical() -> None:
    from neurorep.recipes.foundation.report import _kl_by_seed

    rows = [{"row": r, "seed": s, "kl_divergence": 1.0 + 0.1 * s + (0.05 if r == "scratch" else 0),
             "prior_kl_divergence": 1.2} for r in ("From scratch", "Pretrain + fine-tune") for s in (0, 1, 2)]
    fig = _kl_by_seed(rows)
    facts = check_figure(fig)
    ax = data_axes(fig)[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["seed 0", "seed 1", "seed 2"]
    assert facts["legends"][0][:2] == ["From scratch", "Pretrain + fine-tune"]
    assert all(line.get_linestyle() == "None" for line in ax.get_lines()[:2])  # seeds are not joined


def test_eeg_image_retrieval_captions_do_not_overlap() -> None:
    from neurorep.recipes.eeg_image.plots import retrieval_examples

    n = 30
    sim = RNG.normal(size=(n, n))
    concepts = [f"{i:05d}_concept_with_a_long_name_{i}" for i in range(n)]
    categories = [["animal", "food", "tool"][i % 3] for i in range(n)]
    fig = retrieval_examples(sim, concepts, categories, n=4, k=5)
    from tests.evaluation.figure_checks import texts

    texts(fig)
    renderer = fig.canvas.get_renderer()
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    panels = [ax.get_window_extent(renderer) for ax in fig.axes]
    for i, title in enumerate(titles):
        assert not any(title.overlaps(p) for j, p in enumerate(panels) if j != i), f"caption {i} overlaps a tile"


def test_eeg_image_bar_and_curve_figures() -> None:
    from neurorep.recipes.eeg_image.plots import category_figure, kway_figure, repetition_figure
    from neurorep.recipes.eeg_image.report import finetune_curve_figure

    kway = {f"{w}-way": {"top1": 0.5, "chance_top1": 1 / w} for w in (2, 4, 50)}
    assert check_figure(kway_figure(kway))["xlabels"] == ["retrieval task (candidates per query)"]
    check_figure(category_figure({"animal": {"n": 10, "top5": 0.4}, "food": {"n": 5, "top5": 0.2}}))
    check_figure(repetition_figure([{"repetitions": r, "top1": 0.1 * r} for r in (1, 5, 20)], 200))
    rows = [{"kind": k, "subj_training_ratio": r, "top1_200": 0.1 * r, "chance_top1_200": 0.005}
            for k in ("finetune", "scratch") for r in (0.25, 1.0)]  # one seed: no sd
    facts = check_figure(finetune_curve_figure(rows))
    assert {"fine-tune from inter-subject model", "from scratch", "chance"} == set(facts["legends"][0])


def test_meg_figures_and_stage_titles() -> None:
    from neurorep.recipes.meg_ablation.plots import stage_title
    from neurorep.recipes.meg_ablation.report import f1_bars

    rows = [{"Setting": "Intra", "denoising": d, "masked_sensor": False, "masked_sequence": False,
             "macro_f1": 0.6 + 0.1 * d} for d in (False, True)]  # one seed each
    facts = check_figure(f1_bars(rows, "Intra"))
    assert facts["xlabels"] == ["pretraining combination"]
    assert stage_title("pretrain_1_denoising+masked_sensor") == "Pretraining stage 1: denoising + masked MEG"
    assert stage_title("finetune") == "Fine-tuning (classification)"


def test_kd_sleep_feature_maps() -> None:
    from neurorep.recipes.kd_sleep.plots import tsne_side_by_side

    y = np.repeat(np.arange(3), 20)
    runs = {"ECG base": {"bottleneck": RNG.normal(size=(60, 4)), "y": y},
            "KD student": {"bottleneck": RNG.normal(size=(60, 4)), "y": y}}
    facts = check_figure(tsne_side_by_side(runs, ["W", "NREM", "REM"], max_points=60))
    assert facts["titles"] == ["ECG base", "KD student"] and facts["legends"][0] == ["W", "NREM", "REM"]


def test_soft_label_figures() -> None:
    p = RNG.dirichlet(np.ones(6), size=50)
    y = RNG.integers(0, 6, 50)
    facts = check_figure(reliability_diagram(p, y))
    assert facts["ylabels"] == ["accuracy", "share"]
    facts = check_figure(vote_distribution_plot(RNG.dirichlet(np.ones(6), size=50), p, list("abcdef")))
    assert facts["legends"][0] == ["experts (vote share)", "model (probability)"]
    assert legend_labels(data_axes(reliability_diagram(p, y))[0])[0] == "perfect calibration"
