from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurorep.config import load_config
from neurorep.errors import ConfigError
from neurorep.recipes.sleep_ssl import benchmark_sleep_ssl, run_sleep_ssl

from tests.recipes.conftest import TINY, make_config, write_config


def test_ssl_run_writes_everything(corpus: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, make_config(corpus, tmp_path)))
    m = run_sleep_ssl(cfg, tmp_path / "run")
    run = tmp_path / "run"
    for f in ("config.yaml", "environment.json", "metrics.json", "embeddings/test.safetensors",
              "embeddings/test_predictions.safetensors", "pretrain/metrics.csv", "pretrain/export/final/encoder",
              "plots/embedding.png", "plots/confusion.png", "plots/hypnogram.png", "plots/learning_curves.png"):
        assert (run / f).exists(), f
    assert list((run / "pretrain" / "tb").glob("events.out.tfevents.*"))
    saved = json.loads((run / "metrics.json").read_text())
    assert set(saved["probe"]) == {"0.1", "1"} and 0 <= saved["probe"]["1"]["balanced_accuracy"] <= 1
    assert saved["summary"]["bal_acc@1"] == m["summary"]["bal_acc@1"]
    assert "knn_accuracy" in saved["latent"]
    # the resolved config reloads to the same object
    assert load_config(run / "config.yaml") == cfg
    # the latent benchmark can be recomputed from the stored embeddings by a second command
    from neurorep.cli import main

    assert main(["evaluate", str(run), "--out", str(tmp_path / "ev")]) == 0
    again = json.loads((tmp_path / "ev" / "latent.json").read_text())
    assert again["knn_accuracy"] == saved["latent"]["knn_accuracy"] and (tmp_path / "ev" / "embedding.png").exists()


def test_supervised_and_random_rows(corpus: Path, tmp_path: Path) -> None:
    sup = run_sleep_ssl(load_config(write_config(tmp_path, make_config(corpus, tmp_path, method="supervised", plots=False))),
                        tmp_path / "sup")
    assert set(sup["supervised"]) == {"1"} and "bal_acc@1" in sup["summary"]
    rnd = run_sleep_ssl(load_config(write_config(tmp_path, make_config(corpus, tmp_path, method="random", plots=False))),
                        tmp_path / "rnd")
    assert "pretrain" not in rnd and "bal_acc@0.1" in rnd["summary"]


def test_same_seed_same_metrics(corpus: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, make_config(corpus, tmp_path, plots=False)))
    a = run_sleep_ssl(cfg, tmp_path / "a")["summary"]
    b = run_sleep_ssl(cfg, tmp_path / "b")["summary"]
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN-aware equality


def test_existing_run_refused_and_unknown_name_leaves_nothing(corpus: Path, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, make_config(corpus, tmp_path, plots=False, latent={"enabled": False})))
    run_sleep_ssl(cfg, tmp_path / "r")
    with pytest.raises(ConfigError, match="already holds a run; pass --overwrite"):
        run_sleep_ssl(cfg, tmp_path / "r")
    bad = make_config(corpus, tmp_path)
    bad["encoder"] = {"name": "cnnn"}
    proc = subprocess.run([sys.executable, "-m", "neurorep.cli", "run", str(write_config(tmp_path, bad)), "--out",
                           str(tmp_path / "never")], capture_output=True, text=True)
    assert proc.returncode == 2 and "did you mean 'cnn'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "never").exists()


def test_grid_writes_table_and_report(corpus: Path, tmp_path: Path) -> None:
    sets = ["encoders=[cnn]", "paradigms=[crl]", f"encoder_kwargs={json.dumps(TINY)}",
            f"data.cache={tmp_path / 'cache'}", "data.prepare.trim_wake_min=null",
            "pretrain.epochs=1", "pretrain.max_windows=64", "finetune.epochs=1", "finetune.max_windows=64",
            "finetune.label_fractions=[0.1,1.0]", "probe.max_train=200", "latent.enabled=false"]
    report = benchmark_sleep_ssl("quick", data=corpus, out=tmp_path / "grid", seeds=1, overrides=sets, progress=False)
    out = tmp_path / "grid"
    assert report == out / "report.html" and report.read_text().count("data:image/png;base64") >= 3
    table = (out / "results.md").read_text()
    for row in ("Random init", "Supervised", "CRL"):
        assert f"| {row} | cnn | 1 |" in table
    for row in ("Band power + LR", "Spectral + GB"):  # the sleep classic baselines, on the same windows
        assert f"| {row} | - | 1 |" in table
    assert len((out / "results.csv").read_text().splitlines()) == 6
    with pytest.raises(ConfigError, match="unknown preset 'quik'"):
        benchmark_sleep_ssl("quik", data=corpus, out=tmp_path / "g2")


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "configs" / "sleep-ssl").glob("*.yaml")))
def test_shipped_configs_validate(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.recipe == "sleep-ssl"
