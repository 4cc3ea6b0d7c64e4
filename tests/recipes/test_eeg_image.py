"""The eeg-image recipe end to end on a tiny simulated Things-EEG-2 corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

from neurorep.config import load_config
from neurorep.errors import ConfigError
from neurorep.recipes.eeg_image import run_eeg_image

TINY_ENC = {"name": "resnet1d", "kwargs": {"embed_dim": 8, "widths": [4, 8], "blocks": 1}}


@pytest.fixture(scope="module")
def things(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurorep.data.corpora import simulate

    out = tmp_path_factory.mktemp("things")
    simulate("things-eeg2", out, n_subjects=3, seed=0, n_train_concepts=30, images_per_concept=2,
             n_test_concepts=12, test_repetitions=6, embed_dim=32, n_latent=8, progress=False)
    return out


def make_config(things: Path, tmp: Path, **extra: object) -> dict:
    cfg = {"recipe": "eeg-image", "seed": 0,
           "data": {"source": str(things), "cache": str(tmp.parent / "cache")},
           "subject_id": [1], "encoder": TINY_ENC,
           "objective": {"name": "clip", "kwargs": {"temperature": 0.1, "pool": "flatten"}},
           "train": {"epochs": 2, "batch_size": 16, "warmup_epochs": 1, "val_fraction": 0.2},
           "eval": {"ways": [2, 4, 12], "ks": [1, 5], "n_draws": 3, "repetitions": [1, 6]},
           "progress": False, "threads": 1}
    cfg.update(extra)
    return cfg


def write_config(tmp: Path, cfg: dict, name: str = "cfg.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_run_writes_everything(things: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, make_config(things, tmp_path)))
    m = run_eeg_image(cfg, tmp_path / "run")
    run = tmp_path / "run"
    for f in ("config.yaml", "environment.json", "metrics.json", "embeddings/test.safetensors", "train/metrics.csv",
              "train/export/best/encoder/model.safetensors", "train/export/best/objective/model.safetensors",
              "plots/similarity.png", "plots/retrieval_examples.png", "plots/kway.png", "plots/repetitions.png",
              "plots/categories.png", "plots/learning_curves.png"):
        assert (run / f).exists(), f
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["setting"] == "intra" and saved["n_test"] == 12 and saved["n_candidates"] == 12
    assert "simulated CLIP" in saved["embedding_model"]
    r = saved["retrieval"]
    assert set(r) == {"2-way", "4-way", "12-way"} and r["12-way"]["chance_top1"] == pytest.approx(1 / 12)
    assert r["12-way"]["chance_top5"] == pytest.approx(5 / 12) and "top5" not in r["4-way"]
    assert [c["repetitions"] for c in saved["repetition_curve"]] == [1, 6]
    assert sum(v["n"] for v in saved["per_category"].values()) == 12
    # stored arrays reproduce the stored metric
    arr = load_file(str(run / "embeddings" / "test.safetensors"))
    sim = arr["similarity"]
    top1 = float((sim.argmax(1) == np.arange(12)).mean())
    assert top1 == pytest.approx(r["12-way"]["top1"]) and m["summary"]["top1_12"] == r["12-way"]["top1"]
    assert load_config(run / "config.yaml") == cfg


def test_ratio_inter_subject_and_held_out_concepts(things: Path, tmp_path: Path) -> None:
    full = run_eeg_image(load_config(write_config(tmp_path, make_config(things, tmp_path, plots=False))),
                         tmp_path / "a")
    half = run_eeg_image(load_config(write_config(tmp_path, make_config(
        things, tmp_path, plots=False, subj_training_ratio=0.5, subject_id=[1, 2], test_subject=3))), tmp_path / "b")
    assert half["setting"] == "inter" and half["train_subjects"] == [1, 2] and half["test_subject"] == 3
    assert half["n_train"] == 2 * round(0.5 * full["n_train"])
    held = run_eeg_image(load_config(write_config(tmp_path, make_config(
        things, tmp_path, plots=False, separate_test=False))), tmp_path / "c")
    assert held["n_test"] == 6 and "repetition_curve" not in held  # 30 concepts // 5 held out
    assert held["n_train_concepts"] == 30 - 6 - round(0.2 * 24)


def test_finetune_starts_from_the_checkpoint(things: Path, tmp_path: Path) -> None:
    src = run_eeg_image(load_config(write_config(tmp_path, make_config(things, tmp_path, plots=False))),
                        tmp_path / "pre")
    frozen = make_config(things, tmp_path, plots=False, init_from=str(tmp_path / "pre"), subject_id=[2],
                         train={"epochs": 1, "batch_size": 16, "lr": 1e-12, "min_lr": 1e-13, "warmup_epochs": 0,
                                "weight_decay": 0.0, "val_fraction": 0.2})
    ft = run_eeg_image(load_config(write_config(tmp_path, frozen)), tmp_path / "ft")
    assert ft["summary"]["init"] == "checkpoint" and src["summary"]["init"] == "scratch"
    a = load_file(str(tmp_path / "pre" / "train" / "export" / "best" / "objective" / "model.safetensors"))
    b = load_file(str(tmp_path / "ft" / "train" / "export" / "final" / "objective" / "model.safetensors"))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-6)


def test_bad_settings_are_one_line_errors(things: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, make_config(things, tmp_path, subject_id=[7])))
    with pytest.raises(ConfigError, match="subject_id: subject 7 is not in"):
        run_eeg_image(cfg, tmp_path / "x")
    with pytest.raises(ConfigError, match="subj_training_ratio"):
        load_config(write_config(tmp_path, make_config(things, tmp_path, subj_training_ratio=0)))
    bad = make_config(things, tmp_path)
    bad["encoder"] = {"name": "resnet1"}
    proc = subprocess.run([sys.executable, "-m", "neurorep.cli", "run", str(write_config(tmp_path, bad)), "--out",
                           str(tmp_path / "never")], check=False, capture_output=True, text=True)
    assert proc.returncode == 2 and "did you mean 'resnet1d'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "never").exists()


def test_benchmark_grid_writes_table_curve_and_report(things: Path, tmp_path: Path) -> None:
    from neurorep.recipes.eeg_image.grid import benchmark_eeg_image

    sets = ["subjects=[1,2]", "target_subject=2", "ratios=[0.5,1.0]", f"data.cache={tmp_path / 'cache'}",
            f"encoder={json.dumps(TINY_ENC)}", "train.epochs=1", "train.batch_size=16", "eval.ways=[2,12]",
            "eval.repetitions=[1,6]", "eval.n_draws=2"]
    report = benchmark_eeg_image("quick", data=things, out=tmp_path / "grid", overrides=sets, progress=False)
    out = tmp_path / "grid"
    assert report == out / "report.html" and report.read_text().count("data:image/png;base64") >= 4
    table = (out / "results.md").read_text()
    for row in ("Intra-subject | 1 |", "Intra-subject | 2 |", "Inter-subject (zero-shot) | 2 |",
                "Fine-tune from inter | 2 | 0.5 |", "From scratch | 2 | 1.0 |", "| Chance |"):
        assert row in table, row
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 2 + 1 + 2 * 2 + 3  # a ridge row beside each intra/inter row
    for row in ("Ridge (EEG features -> image embedding), intra-subject | 1 |",
                "Ridge (EEG features -> image embedding), intra-subject | 2 |",
                "Ridge (EEG features -> image embedding), inter-subject | 2 |"):
        assert row in table, row
    ridge = [r for r in rows if r.get("method") == "classic"]
    assert all(0 <= r["top1_12"] <= 1 and r["chance_top1_12"] == pytest.approx(1 / 12) for r in ridge)
    ft = [r for r in rows if r["kind"] == "finetune"]
    assert all(r["init"] == "checkpoint" for r in ft) and (out / "finetune_curve.csv").is_file()


@pytest.mark.slow
def test_quick_scale_alignment_is_far_above_chance(tmp_path: Path) -> None:
    """The quick-preset model on simulated subject 1: 200-way retrieval well above chance, helped by averaging."""
    preset = yaml.safe_load((Path(__file__).parents[2] / "src/neurorep/recipes/eeg_image/presets/quick.yaml").read_text())
    cfg = {**preset["base"], "recipe": "eeg-image", "subject_id": [1], "plots": False, "progress": False}
    cfg["data"] = {"source": str(tmp_path / "data"), "cache": str(tmp_path / "cache"),
                   "simulate": {**preset["base"]["data"]["simulate"], "subjects": 1}}
    m = run_eeg_image(load_config(write_config(tmp_path, cfg)), tmp_path / "run")["summary"]
    assert m["top1_200"] >= 8 * m["chance_top1_200"] and m["top5_200"] >= 4 * m["chance_top5_200"]
    assert m["top1_200@80rep"] > m["top1_200@1rep"]


def test_ridge_row_matches_a_direct_scikit_learn_fit(things: Path, tmp_path: Path) -> None:
    """The classic row's retrieval equals ridge (scikit-learn) on the same features, scored by hand."""
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    from neurorep.evaluation.baselines import LogBandPower
    from neurorep.recipes.eeg_image.classic import run_ridge
    from neurorep.recipes.eeg_image.data import setup_run_data

    cfg = load_config(write_config(tmp_path, make_config(things, tmp_path)))
    m = run_ridge(cfg, tmp_path / "ridge")
    data = setup_run_data(cfg, progress=False)
    x, xq = data.train.windows.load_all().astype(np.float64), _queries(data)
    sfreq = data.cache.info.sfreq

    def feats(w: np.ndarray) -> np.ndarray:
        edges = np.linspace(0, w.shape[-1], 21).round().astype(int)
        bins = np.stack([w[..., a:b].mean(-1) for a, b in zip(edges[:-1], edges[1:])], -1).reshape(len(w), -1)
        return np.hstack([bins, LogBandPower(sfreq, segment_s=0.5).transform(w)])

    scaler = StandardScaler().fit(feats(x))
    target = data.emb.train[data.train.windows.labels]
    ridge = RidgeCV(alphas=np.logspace(-1, 6, 15)).fit(scaler.transform(feats(x)), target)
    pred = ridge.predict(scaler.transform(feats(xq)))
    sim = (pred / np.linalg.norm(pred, axis=1, keepdims=True)) @ (
        data.candidates / np.linalg.norm(data.candidates, axis=1, keepdims=True)).T
    assert m["alpha"] == pytest.approx(ridge.alpha_)
    assert m["retrieval"]["12-way"]["top1"] == pytest.approx(float(np.mean(sim.argmax(1) == np.arange(len(sim)))))
    assert (tmp_path / "ridge" / "metrics.json").is_file()


def _queries(data: object) -> np.ndarray:
    """The test queries (repetitions averaged), as the recipe reads them."""
    from neurorep.data.dataset import WindowDataset

    return WindowDataset(data.cache, data.test_rows).load_all().astype(np.float64)  # type: ignore[attr-defined]


def test_table_without_its_classic_rows_is_refused() -> None:
    from neurorep.errors import DataError
    from neurorep.evaluation.classic_rows import require_rows

    rows = [{"row": "Intra-subject"}, {"row": "Ridge (EEG features -> image embedding), intra-subject"}]
    require_rows(rows, ["Ridge (EEG features -> image embedding), intra-subject"])
    with pytest.raises(DataError, match="missing: Ridge .*inter-subject"):
        require_rows(rows, ["Ridge (EEG features -> image embedding), inter-subject"])
    with pytest.raises(DataError, match="none configured"):
        require_rows(rows, [])
