"""The generic ssl recipe and `neurorep benchmark ssl` on a prepared (event-locked) cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurorep.cli import main
from neurorep.config import validate
from neurorep.errors import DataError
from neurorep.recipes.ssl import SSLConfig, run_ssl
from neurorep.recipes.ssl.grid import check_classic_rows

from tests.recipes.ssl_cache import ssvep_cache, write_cache

TINY_CNN = {"cnn": {"n_filters": 8, "embed_dim": 16, "n_convs": 1, "first_kernel": 32, "first_stride": 4,
                    "first_pool": 4, "last_pool": 2}}
TINY = ["--seeds", "1", "--set", "folds=2", "--set", "paradigms=[crl]", "--set", f"encoder_kwargs={json.dumps(TINY_CNN)}",
        "--set", "pretrain.epochs=1", "--set", "pretrain.max_windows=64", "--set", "finetune.epochs=1",
        "--set", "finetune.max_windows=64", "--set", "latent.enabled=false"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ssvep_cache(tmp_path_factory.mktemp("ssvep"))


def test_benchmark_ssl_cli_writes_table_with_classic_rows(cache: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    # --data may name the cache itself or the folder `data prepare --out` wrote it into
    assert main(["benchmark", "ssl", "--data", str(cache.parent), "--out", str(out), "--preset", "quick",
                 "--set", "task=ssvep", *TINY]) == 0
    table = (out / "results.md").read_text()
    for row, encoder in (("Random init", "cnn"), ("Supervised", "cnn"), ("CRL", "cnn"), ("Band power + LR", "-"),
                         ("Tangent space + LR", "-"), ("CCA", "-"), ("FBCCA", "-")):
        assert f"| {row} | {encoder} | 2 |" in table, table  # one row per fold, mean +- sd
    rows = json.loads((out / "results.json").read_text())
    cca = [r for r in rows if r["row"] == "CCA"]
    assert {r["fold"] for r in cca} == {0, 1} and all(r["bal_acc@1"] > 0.6 for r in cca)  # 3 classes: chance 0.33
    # the contrastive rows used the SSVEP view preset, sized from the cache's rate
    cfg = (out / "runs" / "crl_cnn_s0_f0" / "config.yaml").read_text()
    assert "augmentations: ssvep" in cfg and "recipe: ssl" in cfg
    assert (out / "report.html").is_file()


def test_benchmark_ssl_refuses_bad_data(cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.fif").write_bytes(b"not a cache")
    assert main(["benchmark", "ssl", "--data", str(raw), "--out", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert "not a neurorep window cache" in err and "neurorep data prepare" in err and err.count("\n") == 1
    assert main(["benchmark", "ssl", "--out", str(tmp_path / "o2")]) == 2
    assert "needs --data CACHE" in capsys.readouterr().err
    # an encoder that cannot take the cache's window is named before anything is written
    assert main(["benchmark", "ssl", "--data", str(cache), "--out", str(tmp_path / "o3"), *TINY,
                 "--set", "encoders=[transformer]"]) == 2
    err = capsys.readouterr().err
    assert "encoder transformer cannot take this cache" in err and "256 samples" in err
    for name in ("o1", "o2", "o3"):
        assert not (tmp_path / name).exists()


def test_single_channel_cache_refuses_spatial_baselines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    one = write_cache(tmp_path / "c" / "k1", [rng.standard_normal((10, 1, 256)) for _ in range(3)],
                      [np.arange(10) % 2 for _ in range(3)], ["a", "b", "c"], ["x", "y"], 128.0, ["Cz"])
    assert main(["benchmark", "ssl", "--data", str(one), "--out", str(tmp_path / "o"), "--set", "task=motor",
                 *TINY]) == 2
    assert "'csp_lda' needs at least 2 channels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_table_without_classic_rows_is_refused() -> None:
    rows = [{"row": "CRL", "method": "ssl"}, {"row": "Band power + LR", "method": "classic"}]
    check_classic_rows(rows, ["bandpower_lr"])
    with pytest.raises(DataError, match="classic baseline row.*missing: Tangent space \\+ LR"):
        check_classic_rows(rows, ["bandpower_lr", "tangent_lr"])


def _run_config(cache: Path, **extra: object) -> SSLConfig:
    cfg = {"recipe": "ssl", "data": {"source": str(cache), "split": {"folds": 2, "val": 0.25}},
           "encoder": {"name": "cnn", "kwargs": TINY_CNN["cnn"]}, "objective": {"name": "contrastive"},
           "pretrain": {"epochs": 1, "batch_size": 16, "max_windows": 32, "max_val_windows": 16},
           "probe": {"label_fractions": [1.0]}, "latent": {"enabled": False}, "plots": False, "progress": False}
    cfg.update(extra)
    return validate(SSLConfig, cfg)


def test_pretraining_on_every_window_is_an_option(cache: Path, tmp_path: Path) -> None:
    default = run_ssl(_run_config(cache), tmp_path / "train")
    everything = run_ssl(_run_config(cache, pretrain={"epochs": 1, "batch_size": 16, "max_windows": 32,
                                                      "windows": "all"}), tmp_path / "all")
    n_cache = 4 * (3 * 8 + 4)
    assert everything["n_train"] == n_cache > default["n_train"]
    # 2 folds of 4 subjects, 1 for validation: one training subject, whose unlabelled windows are
    # part of the default pretraining set too
    assert default["n_train"] == 3 * 8 + 4


def test_empty_split_part_is_refused_before_training(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = [np.full(10, -1), np.arange(10) % 2, np.arange(10) % 2]  # the first subject has no labels at all
    c = write_cache(tmp_path / "c" / "k2", [rng.standard_normal((10, 2, 256)) for _ in range(3)], y,
                    ["a", "b", "c"], ["x", "y"], 128.0, ["C3", "C4"])
    cfg = _run_config(c, data={"source": str(c), "split": {"folds": 3, "val": 0.3}})
    messages = []
    for fold in range(3):  # the unlabelled subject is the test, the validation or the training part
        with pytest.raises(DataError, match="has no labelled") as exc:
            run_ssl(cfg.model_copy(update={"fold": fold}), tmp_path / f"r{fold}")
        messages.append(str(exc.value))
        assert not (tmp_path / f"r{fold}").exists()
    for part in ("training", "validation", "test"):
        assert sum(f"no labelled {part} windows" in m for m in messages) == 1, messages
