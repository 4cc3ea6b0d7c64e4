"""masked_band_power and segment_contrastive inside the ssl recipe: grid names, the cache's rate, one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurorep.config import validate
from neurorep.objectives import list_objectives
from neurorep.recipes.ssl import SSLConfig, run_ssl
from neurorep.recipes.ssl.config import PARADIGMS
from neurorep.recipes.ssl.grid import METHOD_LABELS, GridConfig
from neurorep.recipes.ssl.pipeline import build_objective
from neurorep.data.cache import WindowCache

from tests.recipes.ssl_cache import ssvep_cache


def test_grid_paradigms_name_the_new_objectives() -> None:
    assert PARADIGMS["mbp"] == "masked_band_power" and PARADIGMS["scl"] == "segment_contrastive"
    assert set(PARADIGMS.values()) <= set(list_objectives())
    assert set(PARADIGMS) <= set(METHOD_LABELS)
    assert validate(GridConfig, {"paradigms": ["mbp", "scl"]}).paradigms == ["mbp", "scl"]


def _config(cache: Path, name: str, kwargs: dict[str, object]) -> SSLConfig:
    return validate(SSLConfig, {
        "data": {"source": str(cache), "split": {"folds": 2, "val": 0.2}},
        "encoder": {"name": "shallow", "kwargs": {"n_temporal": 2, "n_spatial": 4, "temporal_kernel": 9,
                                                  "pool": 32, "pool_stride": 16}},
        "objective": {"name": name, "kwargs": kwargs},
        "pretrain": {"epochs": 1, "batch_size": 8, "windows": "all"},
        "probe": {"label_fractions": [1.0]}, "latent": {"enabled": False}, "plots": False, "progress": False})


@pytest.mark.parametrize(("name", "kwargs", "part"), [
    ("masked_band_power", {"mask": "channels", "patch_seconds": 0.5, "bands": [[8, 13], [13, 30]]},
     "masked_band_power"),
    ("masked_band_power", {"patch_seconds": 0.5}, "explained"),
    ("segment_contrastive", {"segment_seconds": 1.0}, "nt_xent"),
])
def test_objective_pretrains_and_probes_in_the_ssl_recipe(tmp_path: Path, name: str, kwargs: dict[str, object],
                                                          part: str) -> None:
    cache = ssvep_cache(tmp_path / "c", n_subjects=4, per_class=4)
    cfg = _config(cache, name, kwargs)
    objective = build_objective(cfg, WindowCache(next(p for p in cache.rglob("COMPLETE")).parent).info)
    assert objective.config["sfreq"] == 128.0  # the cache's rate, not the default
    metrics = run_ssl(cfg, tmp_path / "run")
    assert metrics["pretrain"]["epochs"] == 1
    header = (tmp_path / "run" / "pretrain" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert f"train/{part}" in header and f"val/{part}" in header
    assert 0.0 <= metrics["summary"]["bal_acc@1"] <= 1.0
