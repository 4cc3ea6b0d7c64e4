"""The foundation recipe end to end on a tiny simulated HMS corpus: transfer, pretrain -> finetune, scratch, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurorep.config import load_config
from neurorep.errors import ConfigError, DataError
from neurorep.recipes.foundation import run_foundation
from neurorep.recipes.foundation.data import (
    HMSSegments,
    RandomCrops,
    patient_split,
    prepare_hms,
    segment_bounds,
)


@pytest.fixture(scope="module")
def hms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurorep.data.simulate.hms import simulate_hms

    out = tmp_path_factory.mktemp("hms")
    simulate_hms(out, n_subjects=6, seed=0, eegs_per_patient=1, duration_s=54.0, labels_per_eeg=2, progress=False)
    return out


def config(hms: Path, tmp: Path, **extra: object) -> dict:
    cfg = {
        "recipe": "foundation", "seed": 0, "stage": "transfer",
        "data": {"source": str(hms), "cache": str(tmp.parent / "cache"), "sfreq": 25.0, "h_freq": 10.0,
                 "crop_s": 8.0, "split": {"val": 0.2, "test": 0.2}},
        "model": {"preset": "tiny", "kwargs": {"d_model": 8, "n_layers": 1, "d_ff": 16, "patch_size": 25,
                                               "overlap": 12, "scale_factors": [1, 2]}},
        "pretrain": {"epochs": 1, "batch_size": 4, "crops_per_epoch": 8, "val_crops": 4, "checkpoint_every_n_steps": 1},
        "finetune": {"epochs": 2, "batch_size": 4, "freeze_epochs": 1, "head_init": "probe"},
        "progress": False,
    }
    cfg.update(extra)
    return cfg


def write(tmp: Path, cfg: dict, name: str = "cfg.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_data_segments_crops_and_patient_split(hms: Path, tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, config(hms, tmp_path)))
    corpus = prepare_hms(cfg.data, progress=False)
    assert len(corpus) == 12 and corpus.n_channels == 19 and corpus.sfreq == 25.0
    assert prepare_hms(cfg.data, progress=False).path == corpus.path  # cache reused
    split, train_recs = patient_split(corpus, cfg.data, 0)
    subj = corpus.rows["subject"]
    assert not set(subj[split.train]) & set(subj[split.test]) and not set(subj[split.val]) & set(subj[split.test])
    start, length = segment_bounds(cfg.data, corpus.sfreq)
    assert (start, length) == ((1250 - 200) // 2, 200)  # central 8 s of the 50-s segment at 25 Hz
    seg = HMSSegments(corpus, split.test, start, length)
    item = seg[0]
    assert item["x"].shape == (19, 200) and abs(float(item["y_soft"].sum()) - 1) < 1e-6
    j = int(split.test[0])
    rec = corpus.recording(int(corpus.rows["recording"][j]))
    a = int(corpus.rows["offset"][j]) + start
    assert np.array_equal(item["x"].numpy(), rec[:, a:a + 200])
    crops = RandomCrops(corpus, train_recs, 5, length, fixed_seed=1)
    assert len(crops) == 5 and crops[0]["x"].shape == (19, 200) and np.array_equal(crops[0]["x"], crops[0]["x"])


def test_transfer_run_writes_everything(hms: Path, tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, config(hms, tmp_path)))
    m = run_foundation(cfg, tmp_path / "run")
    run = tmp_path / "run"
    for f in ("config.yaml", "environment.json", "metrics.json", "pretrain/metrics.csv", "pretrain/export/best/encoder",
              "pretrain/checkpoints/last.ckpt", "finetune/model/model.safetensors", "finetune/test_predictions.safetensors",
              "finetune/plots/reliability.png", "finetune/plots/confusion.png", "finetune/plots/vote_shares.png"):
        assert (run / f).exists(), f
    assert list((run / "pretrain" / "checkpoints" / "steps").glob("*.ckpt"))  # every-N-steps checkpoints
    saved = json.loads((run / "metrics.json").read_text())
    s = saved["summary"]
    assert s["stage"] == "transfer" and s["kl_divergence"] >= 0 and 0 <= s["accuracy"] <= 1
    assert saved["pretrain"]["precision"] == "32-true" and saved["test"]["n_test"] == m["test"]["n_test"] > 0
    assert set(saved["test"]["per_class_auroc"]) == {"seizure", "lpd", "gpd", "lrda", "grda", "other"}
    # the saved classifier (encoder + head) reloads and reproduces the stored test probabilities
    import torch
    from safetensors.numpy import load_file

    from neurorep.encoders.eeg_foundation import EEGFoundationModel

    clf = EEGFoundationModel.from_pretrained(run / "finetune" / "model")
    pred = load_file(str(run / "finetune" / "test_predictions.safetensors"))
    corpus = prepare_hms(cfg.data, progress=False)
    start, length = segment_bounds(cfg.data, corpus.sfreq)
    x = torch.stack([HMSSegments(corpus, pred["index"], start, length)[i]["x"] for i in range(2)])
    with torch.no_grad():
        probs = clf.classify(x).softmax(-1).numpy()
    np.testing.assert_allclose(probs, pred["probs"][:2], atol=1e-5)
    # second stage from the pretrain run folder, and the scratch baseline, through the CLI
    from neurorep.cli import main

    ft = write(tmp_path, config(hms, tmp_path, stage="finetune", init_from=str(run)), "ft.yaml")
    assert main(["run", str(ft), "--out", str(tmp_path / "ft")]) == 0
    assert json.loads((tmp_path / "ft" / "metrics.json").read_text())["summary"]["stage"] == "finetune"
    sc = write(tmp_path, config(hms, tmp_path, stage="scratch", plots=False), "sc.yaml")
    assert main(["run", str(sc), "--out", str(tmp_path / "sc")]) == 0
    scratch = json.loads((tmp_path / "sc" / "metrics.json").read_text())
    assert "pretrain" not in scratch and scratch["test"]["pretrained"] is False


def test_bad_configs_fail_before_writing(hms: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="init_from"):
        run_foundation(load_config(write(tmp_path, config(hms, tmp_path, stage="finetune"))), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="unknown key 'finetune.lr_scale'"):
        load_config(write(tmp_path, config(hms, tmp_path, finetune={"lr_scale": 1})))
    bad = config(hms, tmp_path, stage="finetune", init_from=str(tmp_path / "nothing"))
    with pytest.raises(DataError, match="no saved encoder here"):
        run_foundation(load_config(write(tmp_path, bad)), tmp_path / "y")
    with pytest.raises(DataError, match="HMS folder does not exist"):
        d = config(hms, tmp_path)
        d["data"]["source"] = str(tmp_path / "missing")
        run_foundation(load_config(write(tmp_path, d)), tmp_path / "z")


@pytest.mark.slow
def test_benchmark_writes_report(hms: Path, tmp_path: Path) -> None:
    from neurorep.recipes.foundation import benchmark_foundation

    base = config(hms, tmp_path)
    overrides = [f"data.{k}={v}" for k, v in (("sfreq", 25.0), ("h_freq", 10.0), ("crop_s", 8.0),
                                              ("cache", tmp_path / "cache"))]
    overrides += ["model.kwargs={d_model: 8, n_layers: 1, d_ff: 16, patch_size: 25, overlap: 12, scale_factors: [1, 2]}",
                  "pretrain.epochs=1", "pretrain.crops_per_epoch=8", "pretrain.val_crops=4", "pretrain.batch_size=4",
                  "finetune.epochs=1", "finetune.batch_size=4", "data.split={val: 0.2, test: 0.2}"]
    del base
    report = benchmark_foundation(preset="quick", data=hms, out=tmp_path / "bench", seeds=1, overrides=overrides,
                                  progress=False)
    assert report.is_file() and (tmp_path / "bench" / "results.csv").is_file()
    table = (tmp_path / "bench" / "results.md").read_text()
    assert "Pretrain + fine-tune" in table and "From scratch" in table
    assert "| Band power + LR (votes) | 1 |" in table and "| Spectral + GB (votes) | 1 |" in table


def test_classic_rows_match_direct_scikit_learn(hms: Path, tmp_path: Path) -> None:
    """The band power + LR row equals scikit-learn's LR fitted by hand to the vote shares (one weighted
    copy of each segment per voted class) on the same segments and split, with the same KL and accuracy."""
    from scipy.signal import welch
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from neurorep.evaluation.soft_labels import kl_divergence
    from neurorep.recipes.foundation.classic import run_classic
    from neurorep.recipes.foundation.config import FoundationConfig

    cfg = FoundationConfig.model_validate(config(hms, tmp_path))
    m = run_classic(cfg, "bandpower_lr", tmp_path / "lr")
    corpus = prepare_hms(cfg.data, progress=False)
    split, _ = patient_split(corpus, cfg.data, cfg.data.split.seed)
    start, length = segment_bounds(cfg.data, corpus.sfreq)
    fit_rows = np.sort(np.concatenate([split.train, split.val]))

    def features(rows: np.ndarray) -> np.ndarray:
        x = np.stack([np.asarray(corpus.segment(int(j))[:, start:start + length], np.float64) for j in rows])
        f, p = welch(x, fs=corpus.sfreq, nperseg=round(2 * corpus.sfreq), axis=-1)
        bands = [(0.5, 4), (4, 8), (8, 12), (12, 16)]  # the classic bands starting below Nyquist (12.5 Hz)
        power = np.stack([p[..., (f >= lo) & (f < hi)].mean(-1) for lo, hi in bands], -1)
        return np.log(power + 1e-30).reshape(len(x), -1)

    votes = corpus.rows["votes"].astype(np.float64)
    share = votes / votes.sum(1, keepdims=True)
    w, k = np.nonzero(share[fit_rows] > 0)
    scaler = StandardScaler().fit(features(fit_rows))
    lr = LogisticRegression(max_iter=2000).fit(scaler.transform(features(fit_rows))[w], k,
                                               sample_weight=share[fit_rows][w, k])
    probs = np.zeros((len(split.test), len(corpus.classes)))
    probs[:, lr.classes_] = lr.predict_proba(scaler.transform(features(split.test)))
    # float32 inputs and the lbfgs tolerance: equal to about 1e-5
    assert m["test"]["kl_divergence"] == pytest.approx(kl_divergence(share[split.test], probs), rel=1e-3)
    assert m["test"]["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == corpus.rows["y"][split.test]))
    assert m["test"]["n_train"] == len(fit_rows) and (tmp_path / "lr" / "metrics.json").is_file()
    gb = run_classic(cfg, "spectral_gb", tmp_path / "gb")["test"]
    assert np.isfinite(gb["kl_divergence"]) and 0 <= gb["accuracy"] <= 1


def test_table_without_classic_rows_is_refused() -> None:
    from neurorep.recipes.foundation.classic import required_rows

    rows = [{"row": r} for r in ("From scratch", "Band power + LR (votes)", "Spectral + GB (votes)")]
    required_rows(rows)
    with pytest.raises(DataError, match=r"missing: Spectral \+ GB"):
        required_rows(rows[:2])
