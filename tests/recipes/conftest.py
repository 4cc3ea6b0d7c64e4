"""Fixtures shared by the recipe tests: a small simulated corpus and tiny run configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TINY = {"cnn": {"n_filters": 8, "embed_dim": 16, "n_convs": 1}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurorep.data.simulate import simulate_sleep

    out = tmp_path_factory.mktemp("sim")
    simulate_sleep(out, n_subjects=5, seed=0, hours=1.0, progress=False)
    return out


def make_config(corpus: Path, tmp: Path, **extra: object) -> dict:
    cfg = {
        "recipe": "sleep-ssl", "seed": 0, "method": "ssl",
        "data": {"source": str(corpus), "cache": str(tmp / "cache"),
                 "prepare": {"sfreq": 50.0, "h_freq": 20.0, "trim_wake_min": None}, "split": {"val": 0.2, "test": 0.2}},
        "encoder": {"name": "cnn", "kwargs": TINY["cnn"]},
        "objective": {"name": "contrastive", "kwargs": {"sfreq": 50.0}},
        "pretrain": {"epochs": 1, "batch_size": 32, "max_windows": 64, "max_val_windows": 32},
        "probe": {"label_fractions": [0.1, 1.0], "max_train": 200},
        "finetune": {"epochs": 1, "batch_size": 32, "max_windows": 64, "max_val_windows": 32,
                     "label_fractions": [1.0]},
        "progress": False,
    }
    cfg.update(extra)
    return cfg


def write_config(tmp: Path, cfg: dict) -> Path:
    path = tmp / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


