"""Window pairs for the temporal-context objectives, the shallow log-power encoder, pretraining
once per grid (windows=all) and per-subject re-centring of the probe's embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neurorep.config import validate
from neurorep.data.cache import WindowCache
from neurorep.data.dataset import WindowDataset
from neurorep.encoders import create_encoder
from neurorep.errors import DataError
from safetensors.numpy import load_file

from neurorep.recipes.ssl import SSLConfig, run_ssl
from neurorep.recipes.ssl.pairs import PairWindows, pair_loader
from neurorep.recipes.ssl.pipeline import recentre

from tests.recipes.ssl_cache import ssvep_cache, write_cache

CLASSES = ["13Hz", "17Hz", "rest"]


def _continuous(path: Path, n_rec: int = 3, n: int = 12) -> WindowCache:
    """``n_rec`` recordings of ``n`` windows 4 s apart (onsets 0, 4, 8, ...), two subjects."""
    rng = np.random.default_rng(0)
    write_cache(path / "k", [rng.standard_normal((n, 2, 32)) for _ in range(n_rec)], [np.full(n, -1)] * n_rec,
                [f"s{i % 2}" for i in range(n_rec)], CLASSES, 16.0, ["O1", "O2"])
    return WindowCache(path / "k")


def test_pairs_come_from_one_recording_at_the_right_distances(tmp_path: Path) -> None:
    cache = _continuous(tmp_path)
    pairs = PairWindows([WindowDataset(cache)], tau_pos=4.0, tau_neg=12.0, seed=0)
    m = cache.meta
    onset, rec = m["onset"], m["recording"]
    assert len(pairs) == 36  # every window has a neighbour 4 s away and one 12 s or more away
    for k in pairs.anchors:
        for near in (True, False):
            j = pairs.partner(int(k), near)
            a, b = int(pairs.row[k]), int(pairs.row[j])
            assert rec[a] == rec[b] and a != b
            gap = abs(onset[a] - onset[b])
            assert gap <= 4.0 if near else gap >= 12.0
    item = pairs[0]
    assert set(item) == {"x", "x_pair", "target"} and item["x"].shape == (2, 32)
    targets = torch.stack([pairs[i]["target"] for i in range(len(pairs))])
    assert 0 < targets.mean() < 1  # both kinds are drawn


def test_tau_min_keeps_near_partners_apart(tmp_path: Path) -> None:
    cache = _continuous(tmp_path)
    pairs = PairWindows([WindowDataset(cache)], tau_pos=8.0, tau_neg=None, seed=0, tau_min=8.0)
    onset = cache.meta["onset"]
    gaps = {abs(onset[int(pairs.row[k])] - onset[int(pairs.row[pairs.partner(int(k), True)])]) for k in pairs.anchors}
    assert gaps == {8.0}  # only the windows exactly 8 s away qualify


def test_recording_batches_hold_one_recording(tmp_path: Path) -> None:
    cache = _continuous(tmp_path)
    pairs = PairWindows([WindowDataset(cache)], tau_pos=4.0, tau_neg=None, seed=0)
    batches = list(pair_loader(pairs, {"batch_from": "recording"}, 6, 24, seed=1).batch_sampler)
    assert len(batches) == 4
    for b in batches:
        assert len({int(pairs.group[pairs.anchors[i]]) for i in b}) == 1


def test_windows_without_a_neighbour_are_refused_clearly(tmp_path: Path) -> None:
    cache = _continuous(tmp_path)
    with pytest.raises(DataError, match="partner within 1 s"):
        PairWindows([WindowDataset(cache)], tau_pos=1.0, tau_neg=None, seed=0)


def test_shallow_embedding_is_log_power_of_filtered_signals() -> None:
    enc = create_encoder("shallow", n_channels=2, n_times=64, n_temporal=2, n_spatial=3, temporal_kernel=5, pool=64,
                         pool_stride=64, window_norm=False).eval()
    x = torch.randn(4, 2, 64)
    h = enc.bn(enc.spatial(enc.temporal(x.unsqueeze(1)))).squeeze(2)  # [B, D, T]
    expected = torch.log((h ** 2).mean(dim=2).clamp_min(1e-6))
    assert torch.allclose(enc(x), expected, atol=1e-5)


def _config(cache: Path, extra: Path, **kw: object) -> SSLConfig:
    cfg = {"data": {"source": str(cache), "split": {"folds": 2, "val": 0.2}},
           "encoder": {"name": "shallow", "kwargs": {"n_temporal": 2, "n_spatial": 4, "temporal_kernel": 9,
                                                      "pool": 32, "pool_stride": 16}},
           "objective": {"name": "temporal_contrastive", "kwargs": {"tau_pos": 4.0}},
           "pretrain": {"epochs": 1, "batch_size": 8, "windows": "all", "extra_caches": [str(extra)]},
           "probe": {"label_fractions": [1.0]}, "latent": {"enabled": False}, "plots": False, "progress": False}
    cfg.update(kw)
    return validate(SSLConfig, cfg)


def test_pretraining_with_windows_all_runs_once_for_every_fold(tmp_path: Path) -> None:
    cache = ssvep_cache(tmp_path / "a", n_subjects=4, per_class=4)
    rng = np.random.default_rng(1)
    extra = write_cache(tmp_path / "b" / "k1", [rng.standard_normal((10, 4, 256)) for _ in range(2)],
                        [np.full(10, -1)] * 2, ["01", "02"], CLASSES, 128.0, [f"O{i}" for i in range(4)])
    m0 = run_ssl(_config(cache, extra), tmp_path / "runs" / "f0")
    m1 = run_ssl(_config(cache, extra, fold=1), tmp_path / "runs" / "f1")
    assert "epochs" in m0["pretrain"] and m1["pretrain"]["reused"]
    emb0, emb1 = (load_file(str(tmp_path / "runs" / f / "embeddings" / "test.safetensors")) for f in ("f0", "f1"))
    # the pretraining does not depend on the fold: fold 1 pretrained on its own embeds its test windows
    # as fold 1 with the weights stored by fold 0
    m2 = run_ssl(_config(cache, extra, fold=1, pretrain={"epochs": 1, "batch_size": 8, "windows": "all",
                                                         "extra_caches": [str(extra)], "reuse": False}),
                 tmp_path / "other" / "f1")
    emb2 = load_file(str(tmp_path / "other" / "f1" / "embeddings" / "test.safetensors"))
    assert "epochs" in m2["pretrain"]
    np.testing.assert_allclose(emb1["embedding"], emb2["embedding"], rtol=1e-4, atol=1e-5)
    assert emb0["embedding"].shape[1] == 4


def test_recentre_removes_each_subjects_mean() -> None:
    emb = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0], [12.0, 2.0]])
    out = recentre(emb, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(out, [[-1, -1], [1, 1], [-1, -1], [1, 1]])


def test_benchmark_refuses_temporal_objective_without_continuous_windows(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from neurorep.cli import main

    cache = ssvep_cache(tmp_path / "a", n_subjects=3, per_class=4)  # event-locked windows 4 s apart
    out = tmp_path / "bench"
    assert main(["benchmark", "ssl", "--data", str(cache), "--out", str(out), "--preset", "ssvep-exo",
                 "--set", "paradigms=[tcl]", "--set", "objective_kwargs={tcl: {tau_pos: 1.0}}"]) == 2
    err = capsys.readouterr().err
    assert "no window has a partner within 1 s" in err and err.count("\n") == 1
    assert not out.exists()


def test_shared_pretraining_lock_waits_for_the_weights_and_takes_over_a_dead_holder(tmp_path: Path) -> None:
    import os
    import subprocess
    import threading

    from neurorep.recipes.ssl.pipeline import _wait_for_other_fold

    stored = tmp_path / "_pretrained" / "abc.safetensors"
    assert _wait_for_other_fold(stored) is False  # first fold: pretrains, holds the lock
    assert stored.with_suffix(".lock").read_text() == str(os.getpid())
    done: list[bool] = []
    waiter = threading.Thread(target=lambda: done.append(_wait_for_other_fold(stored)))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive()  # second fold waits while the first pretrains
    stored.write_bytes(b"weights")
    stored.with_suffix(".lock").unlink()
    waiter.join(10)
    assert done == [True]
    other = tmp_path / "_pretrained" / "def.safetensors"
    proc = subprocess.Popen(["true"])
    proc.wait()
    other.with_suffix(".lock").write_text(str(proc.pid))
    assert _wait_for_other_fold(other) is False  # the dead holder's lock is taken over
