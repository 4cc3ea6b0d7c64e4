"""Within-subject window folds, extra pretraining caches and the real-data presets of the ssl recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.config import validate
from neurorep.errors import DataError
from neurorep.sweep import resolve_preset
from neurorep.recipes.ssl import SSLConfig, run_ssl
from neurorep.recipes.ssl.grid import GridConfig

from tests.recipes.ssl_cache import ssvep_cache, write_cache

TINY_EEGNET = {"embed_dim": 8, "n_temporal": 4, "depth": 1, "temporal_kernel": 15, "separable_kernel": 7}


def _config(cache: Path, **extra: object) -> SSLConfig:
    cfg = {"data": {"source": str(cache), "split": {"folds": 2, "val": 0.2, "by": "window"}},
           "encoder": {"name": "eegnet", "kwargs": TINY_EEGNET},
           "objective": {"name": "contrastive", "kwargs": {"augmentations": "ssvep"}},
           "pretrain": {"epochs": 1, "batch_size": 16, "windows": "all"},
           "probe": {"label_fractions": [1.0]}, "latent": {"enabled": False}, "plots": False, "progress": False}
    cfg.update(extra)
    return validate(SSLConfig, cfg)


def test_window_folds_and_extra_caches_feed_pretraining(tmp_path: Path) -> None:
    cache = ssvep_cache(tmp_path / "a", n_subjects=1, per_class=10)
    rng = np.random.default_rng(1)
    extra = write_cache(tmp_path / "b" / "k1", [rng.standard_normal((20, 4, 256))], [np.full(20, -1)], ["01"],
                        ["13Hz", "17Hz", "rest"], 128.0, [f"O{i}" for i in range(4)])
    m = run_ssl(_config(cache, pretrain={"epochs": 1, "batch_size": 16, "windows": "all",
                                         "extra_caches": [str(extra)]}), tmp_path / "run")
    assert m["pretrain"]["n_windows"] == 34 + 20  # every window of the cache plus the extra cache's
    assert m["n_test"] == 15  # one subject: half of its 30 labelled windows are tested in fold 0
    assert 0 <= m["probe"]["1"]["balanced_accuracy"] <= 1


def test_extra_cache_of_another_montage_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    cache = ssvep_cache(tmp_path / "a", n_subjects=1, per_class=10)
    rng = np.random.default_rng(1)
    other = write_cache(tmp_path / "b" / "k1", [rng.standard_normal((20, 3, 256))], [np.full(20, -1)], ["01"],
                        ["13Hz", "17Hz", "rest"], 128.0, [f"O{i}" for i in range(3)])
    cfg = _config(cache, pretrain={"epochs": 1, "windows": "all", "extra_caches": [str(other)]})
    with pytest.raises(DataError, match="extra_caches must match") as exc:
        run_ssl(cfg, tmp_path / "run")
    assert str(other) in str(exc.value) and "3 channels" in str(exc.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("preset", "encoders", "paradigms"), [("ssvep-exo", ["shallow"], ["tcl", "rp"]),
                                                             ("eegmmidb", ["shallow"], ["mbp"])])
def test_real_data_presets_validate(preset: str, encoders: list[str], paradigms: list[str]) -> None:
    grid = resolve_preset("neurorep.recipes.ssl", preset, [], GridConfig)
    assert grid.encoders == encoders and grid.paradigms == paradigms
    assert grid.augmentations() == grid.task  # the task's augmentation preset (no band-stop)
    assert grid.base["pretrain"]["windows"] == "all"  # pretrained once per seed, shared by the folds
    # eegmmidb's folds test 12-13 trials: its preset also scores each seed over all folds' predictions
    assert grid.pool_folds == (preset == "eegmmidb") and grid.folds is not None
    # ... and averages each seed over 10 draws of its folds, so one lucky draw does not decide a row
    assert grid.base["data"]["split"].get("repeats", 1) == (10 if preset == "eegmmidb" else 1)


def test_benchmark_refuses_a_mismatched_extra_cache_before_writing(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from neurorep.cli import main

    cache = ssvep_cache(tmp_path / "a", n_subjects=1, per_class=10)
    rng = np.random.default_rng(1)
    other = write_cache(tmp_path / "b" / "k1", [rng.standard_normal((20, 3, 256))], [np.full(20, -1)], ["01"],
                        ["13Hz", "17Hz", "rest"], 128.0, [f"O{i}" for i in range(3)])
    out = tmp_path / "bench"
    assert main(["benchmark", "ssl", "--data", str(cache), "--out", str(out), "--preset", "eegmmidb",
                 "--set", f"pretrain.extra_caches=[{other}]"]) == 2
    err = capsys.readouterr().err
    assert "extra_caches must match" in err and err.count("\n") == 1
    assert not out.exists()
