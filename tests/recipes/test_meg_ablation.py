"""meg-ablation recipe: one run end to end, part-wise pretraining, cache, splits, the benchmark grid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from neurorep.config import validate
from neurorep.errors import ConfigError, DataError, LeakageError
from neurorep.recipes.meg_ablation import MegAblationConfig, run_meg_ablation
from neurorep.recipes.meg_ablation.config import MegPrepareConfig
from neurorep.recipes.meg_ablation.data import prepare_meg, split_windows

SFREQ = 500.0
TINY_ENCODER = {"frame": 10, "grid_size": 16, "cnn_channels": [4], "embed_dim": 8, "n_layers": 1, "n_heads": 2}


@pytest.fixture(scope="module")
def meg_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurorep.data.corpora import simulate

    out = tmp_path_factory.mktemp("meg")
    simulate("meg", out, n_subjects=3, seconds=2.0, sfreq=SFREQ, test_subjects=1, intra_train=2, intra_test=1,
             cross_train=1, cross_test=1, progress=False)
    return out


def make_cfg(corpus: Path, tmp: Path, **extra: object) -> MegAblationConfig:
    d = {"recipe": "meg-ablation", "seed": 0, "setting": "intra",
         "data": {"source": str(corpus), "cache": str(tmp / "cache"),
                  "prepare": {"sfreq_in": SFREQ, "sfreq": 50.0, "window_s": 1.0, "stride_s": 0.5},
                  "val_fraction": 0.5},
         "encoder": {"name": "meg_cnn_transformer", "kwargs": TINY_ENCODER},
         "pretrain": {"epochs": 1, "batch_size": 8}, "finetune": {"epochs": 1, "batch_size": 8},
         "progress": False}
    d.update(extra)
    return validate(MegAblationConfig, d)


def test_run_writes_everything(meg_corpus: Path, tmp_path: Path) -> None:
    cfg = make_cfg(meg_corpus, tmp_path, pretraining={"denoising": True, "masked_sequence": True})
    m = run_meg_ablation(cfg, tmp_path / "run")
    run = tmp_path / "run"
    for f in ("config.yaml", "environment.json", "metrics.json", "predictions/test.safetensors",
              "pretrain_1_denoising/metrics.csv", "pretrain_2_masked_sequence/metrics.csv",
              "finetune/export/final/encoder/model.safetensors", "plots/confusion.png"):
        assert (run / f).exists(), f
    saved = json.loads((run / "metrics.json").read_text())
    assert [s["part"] for s in saved["pretrain"]] == ["spatial", "sequence"]
    t = saved["test"]
    assert saved["n_test"] == t["n"] == int(np.sum(t["confusion"])) and 0 <= t["macro_f1"] <= 1
    assert saved["summary"]["macro_f1"] == m["summary"]["macro_f1"]
    assert saved["pretraining"] == {"denoising": True, "masked_sensor": False, "masked_sequence": True}
    with pytest.raises(ConfigError, match="already holds a run"):
        run_meg_ablation(cfg, run)


@pytest.mark.parametrize(("names", "changed", "kept"), [(["denoising"], "spatial", "sequence"),
                                                        (["masked_sequence"], "sequence", "spatial")])
def test_pretraining_initialises_only_its_part(meg_corpus: Path, tmp_path: Path, names: list[str], changed: str,
                                               kept: str) -> None:
    from neurorep.data.dataset import WindowDataset
    from neurorep.encoders.meg_cnn_transformer import part_state
    from neurorep.recipes.meg_ablation.data import setup_meg
    from neurorep.recipes.meg_ablation.pipeline import build_encoder, pretrain_stage

    cfg = make_cfg(meg_corpus, tmp_path)
    cache = setup_meg(cfg.data, "intra", progress=False)
    split = split_windows(cache, 0.5, 0, cross=False)
    torch.manual_seed(0)
    enc = build_encoder(cfg, cache)
    before = {p: part_state(enc, p) for p in ("spatial", "sequence")}
    pretrain_stage(cfg, enc, names, WindowDataset(cache, split.train), WindowDataset(cache, split.val),
                   tmp_path / "stage", resume=False)
    after = {p: part_state(enc, p) for p in ("spatial", "sequence")}
    assert all(torch.equal(before[kept][k], after[kept][k]) for k in before[kept])  # incl. BatchNorm statistics
    assert any(not torch.equal(before[changed][k], after[changed][k]) for k in before[changed])
    assert all(p.requires_grad for p in enc.parameters())  # nothing left frozen


def test_cache_is_reused_and_holds_the_windows(meg_corpus: Path, tmp_path: Path) -> None:
    cfg = MegPrepareConfig(sfreq_in=SFREQ, sfreq=50.0, window_s=1.0, stride_s=0.5)
    a = prepare_meg(meg_corpus / "Cross", tmp_path, cfg, progress=False)
    mtime = (a.path / "info.json").stat().st_mtime_ns
    b = prepare_meg(meg_corpus / "Cross", tmp_path, cfg, progress=False)
    assert a.path == b.path and (b.path / "info.json").stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob(".*partial*"))
    assert sorted({r.part for r in a.info.recordings}) == ["test1", "train"] and a.info.n_times == 50
    # 2-s files at 50 Hz, 1-s windows every 0.5 s -> 3 windows per file
    assert len(a) == 3 * 8 and (a.windows(0).shape == (3, 248, 50))
    x = a.windows(0)
    assert isinstance(x, np.memmap) or isinstance(getattr(x, "base", None), np.memmap)
    np.testing.assert_allclose(x[1, :, :25], x[0, :, 25:], atol=1e-6)  # overlapping windows agree
    split = split_windows(a, 0.5, 0, cross=True)
    assert {a.info.recording(int(r)).part for r in a.meta["recording"][split.test]} == {"test1"}
    assert list(split.test_parts) == ["test1"] and np.array_equal(split.test_parts["test1"], split.test)
    assert len(split.val) == 0 and len(split.train) == 12  # one recording per class: none can be held out
    intra = prepare_meg(meg_corpus / "Intra", tmp_path, cfg, progress=False)
    s = split_windows(intra, 0.5, 0, cross=False)
    held = {int(r) for r in intra.meta["recording"][s.val]}
    assert len(held) == 4 and sorted(intra.meta["y"][s.val][::3].tolist()) == [0, 1, 2, 3]  # one per class
    assert not held & {int(r) for r in intra.meta["recording"][s.train]}


def test_cross_split_refuses_a_test_subject_seen_in_training(meg_corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "Cross"
    shutil.copytree(meg_corpus / "Cross", root)
    train_file = next((root / "train").glob("rest_*.h5"))
    shutil.copy(train_file, root / "test1" / train_file.name.replace("_1.h5", "_9.h5"))
    cache = prepare_meg(root, tmp_path / "cache", MegPrepareConfig(sfreq_in=SFREQ, sfreq=50.0), progress=False)
    with pytest.raises(LeakageError, match="both the train and the test split"):
        split_windows(cache, 0.0, 0, cross=True)
    # Intra-style use allows a subject on both sides, but not the same recording (content) on both
    with pytest.raises(LeakageError, match=r"same recording content.*train/rest_.*test1/rest_"):
        split_windows(cache, 0.0, 0, cross=False)
    (root / "test1" / train_file.name.replace("_1.h5", "_9.h5")).unlink()
    other = prepare_meg(root, tmp_path / "cache", MegPrepareConfig(sfreq_in=SFREQ, sfreq=50.0), progress=False)
    split_windows(other, 0.0, 0, cross=False)


def test_data_and_config_errors(meg_corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected a train/ folder and test/"):
        prepare_meg(meg_corpus / "Intra" / "train", tmp_path, MegPrepareConfig(), progress=False)
    with pytest.raises(DataError, match="MEG setting folder not found"):
        prepare_meg(tmp_path / "nothing", tmp_path, MegPrepareConfig(), progress=False)
    with pytest.raises(ConfigError, match="unknown objective 'masked'"):
        make_cfg(meg_corpus, tmp_path, objectives={"masked": {}})
    with pytest.raises(ConfigError, match="has no spatial/sequence parts"):
        run_meg_ablation(make_cfg(meg_corpus, tmp_path, encoder={"name": "cnn"},
                                  pretraining={"denoising": True}), tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_results_table_layout() -> None:
    from neurorep.recipes.meg_ablation.grid import results_table

    rows = [{"Setting": "Intra", "Method": "Network", "Denoising": d, "Masked MEG": "-", "Masked sequence": "-", "macro_f1": f,
             "accuracy": f} for d, f in (("✓", 0.8), ("✓", 0.6), ("-", 0.5))]
    table = results_table(rows)
    assert "### Intra" in table
    assert "| Method | Denoising | Masked MEG | Masked sequence | n | F1 (macro) | Accuracy |" in table
    assert "| Network | ✓ | - | - | 2 | 0.700 ± 0.141 |" in table  # mean and sample sd over seeds


@pytest.mark.slow
def test_benchmark_grid_end_to_end(meg_corpus: Path, tmp_path: Path) -> None:
    from neurorep.recipes.meg_ablation import benchmark_meg_ablation

    overrides = ["rows=['000','111']", "seeds=1", f"data.cache={tmp_path / 'cache'}", f"data.prepare.sfreq_in={SFREQ}",
                 "data.prepare.sfreq=50.0", "data.prepare.window_s=1.0", "data.val_fraction=0.5",
                 f"encoder.kwargs={json.dumps(TINY_ENCODER)}", "pretrain.epochs=1", "finetune.epochs=1",
                 "pretrain.max_windows=16", "finetune.max_windows=16"]
    report = benchmark_meg_ablation("quick", data=meg_corpus, out=tmp_path / "bench", overrides=overrides,
                                    progress=False)
    out = tmp_path / "bench"
    assert report == out / "report.html" and report.stat().st_size > 10000
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 4 + 4 and {r["Setting"] for r in rows} == {"Intra", "Cross"}
    md = (out / "results.md").read_text()
    assert "### Intra" in md and "### Cross" in md and md.count("| ✓ | ✓ | ✓ |") == 2
    for name in ("Band power + LR", "Tangent space + LR"):
        assert md.count(f"| {name} | - | - | - | 1 |") == 2


def test_classic_rows_match_direct_scikit_learn_and_pyriemann(meg_corpus: Path, tmp_path: Path) -> None:
    """Each classic row equals the same pipeline built by hand (scipy Welch + LR; pyriemann OAS + tangent
    space + LR) on the run's training + validation windows, scored on its test windows."""
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from scipy.signal import welch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurorep.data.dataset import WindowDataset
    from neurorep.evaluation.metrics import classification_metrics
    from neurorep.recipes.meg_ablation.classic import run_classic

    cfg = make_cfg(meg_corpus, tmp_path, setting="cross")
    cache = prepare_meg(meg_corpus / "Cross", tmp_path / "cache", cfg.data.prepare, progress=False)
    split = split_windows(cache, cfg.data.val_fraction, cfg.seed, cross=True)
    fit_set = WindowDataset(cache, np.sort(np.concatenate([split.train, split.val])))
    test = WindowDataset(cache, split.test)
    x, xt = fit_set.load_all().astype(np.float64), test.load_all().astype(np.float64)
    lr = dict(class_weight="balanced", max_iter=2000)

    def bandpower(w: np.ndarray) -> np.ndarray:
        f, p = welch(w, fs=cache.info.sfreq, nperseg=w.shape[-1], axis=-1)
        bands = [(0.5, 4), (4, 8), (8, 12), (12, 16), (16, 30)]  # the bands that start below Nyquist (25 Hz)
        power = np.stack([p[..., (f >= lo) & (f < hi)].mean(-1) for lo, hi in bands], -1)
        return np.log(power + 1e-30).reshape(len(w), -1)

    band_lr = make_pipeline(StandardScaler(), LogisticRegression(**lr)).fit(bandpower(x), fit_set.labels)
    direct = {"bandpower_lr": band_lr.predict(bandpower(xt)),
              "tangent_lr": make_pipeline(Covariances("oas"), TangentSpace(metric="riemann"), StandardScaler(),
                                          LogisticRegression(**lr)).fit(x, fit_set.labels).predict(xt)}
    for name, y_pred in direct.items():
        m = run_classic(cfg, name, tmp_path / name)
        assert m["n_test"] == len(split.test) and m["n_train"] == len(fit_set)
        expected = classification_metrics(test.labels, y_pred, cache.classes)
        assert m["test"]["macro_f1"] == pytest.approx(expected["macro_f1"])
        assert m["test"]["confusion"] == expected["confusion"]
        assert (tmp_path / name / "metrics.json").is_file()


def test_table_without_classic_rows_is_refused() -> None:
    from neurorep.recipes.meg_ablation.classic import required_rows

    rows = [{"Setting": "Intra", "Method": m} for m in ("Network", "Band power + LR", "Tangent space + LR")]
    required_rows(rows)
    with pytest.raises(DataError, match="missing: Tangent space"):
        required_rows([*rows[:2], {"Setting": "Cross", "Method": "Band power + LR"}, *rows[2:]])
