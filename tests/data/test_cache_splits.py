from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from neurorep.data import cache as cache_mod
from neurorep.data.cache import COMPLETE, WindowCache, prepare
from neurorep.data.dataset import WindowDataset
from neurorep.data.splits import check_disjoint_subjects, make_splits
from neurorep.data.windows import PrepareConfig
from neurorep.errors import DataError, LeakageError
from tests.conftest import write_hypnogram, write_psg


def test_prepare_then_reuse(sleep_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rep = prepare(sleep_folder, tmp_path / "cache", cfg=PrepareConfig(trim_wake_min=None), progress=False)
    assert not rep.reused and len(rep.cache) > 0
    info = rep.cache.info
    assert info.ch_names == ["EEG Fpz-Cz", "EEG Pz-Oz"] and info.subjects == ["SC400", "SC401", "SC402"]
    # second call must not read any EDF
    monkeypatch.setattr(cache_mod, "_run_all", lambda *a, **k: pytest.fail("re-read the EDF files"))
    again = prepare(sleep_folder, tmp_path / "cache", cfg=PrepareConfig(trim_wake_min=None), progress=False)
    assert again.reused and again.cache.path == rep.cache.path
    # other settings -> another cache
    monkeypatch.undo()
    other = prepare(sleep_folder, tmp_path / "cache", cfg=PrepareConfig(scheme="3class"), progress=False)
    assert other.cache.path != rep.cache.path


def test_dataset_samples_are_dicts_matching_cache(sleep_folder: Path, tmp_path: Path) -> None:
    c = prepare(sleep_folder, tmp_path / "c", progress=False).cache
    ds = WindowDataset(c)
    s = ds[5]
    assert set(s) == {"x", "y", "subject", "recording", "index"}
    rec, local = int(c.meta["recording"][5]), int(c.meta["local"][5])
    np.testing.assert_array_equal(s["x"].numpy(), c.windows(rec)[local])
    assert int(s["y"]) == int(c.meta["y"][5])
    assert isinstance(c.windows(rec), np.memmap)


def test_interrupted_prepare_leaves_no_complete_cache(sleep_folder: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_mod, "_write_tables", boom)
    with pytest.raises(KeyboardInterrupt):
        prepare(sleep_folder, tmp_path / "c", progress=False)
    assert not any((p / COMPLETE).exists() for p in (tmp_path / "c").iterdir())
    assert not list((tmp_path / "c").iterdir())  # partial folder removed
    monkeypatch.undo()
    assert not prepare(sleep_folder, tmp_path / "c", progress=False).reused


def test_stale_partial_from_dead_process_is_ignored(sleep_folder: Path, tmp_path: Path) -> None:
    rep = prepare(sleep_folder, tmp_path / "c", progress=False)
    key = rep.cache.path.name
    partial = tmp_path / "c" / f".{key}.partial-999999"
    partial.mkdir()
    (partial / "x").mkdir()
    import shutil

    shutil.rmtree(rep.cache.path)
    again = prepare(sleep_folder, tmp_path / "c", progress=False)
    assert not again.reused and not partial.exists()
    with pytest.raises(DataError, match="not a complete neurorep cache"):
        WindowCache(tmp_path / "c")


def test_bad_recording_skip_or_raise(sleep_folder: Path, tmp_path: Path) -> None:
    write_psg(sleep_folder / "SC4091E0-PSG.edf", 3)
    write_hypnogram(sleep_folder / "SC4091EC-Hypnogram.edf", ["Sleep stage 2"] * 9)  # longer than its PSG
    with pytest.raises(DataError, match="SC4091"):
        prepare(sleep_folder, tmp_path / "c", on_error="raise", progress=False)
    rep = prepare(sleep_folder, tmp_path / "c", on_error="skip", progress=False)
    assert len(rep.skipped) == 1 and "SC4091E0" in rep.skipped[0][0]
    assert len(rep.cache.info.recordings) == 3


def test_parallel_prepare_equals_serial(sleep_folder: Path, tmp_path: Path) -> None:
    a = prepare(sleep_folder, tmp_path / "a", jobs=1, progress=False).cache
    b = prepare(sleep_folder, tmp_path / "b", jobs=2, progress=False).cache
    for r in range(3):
        np.testing.assert_array_equal(a.windows(r), b.windows(r))
    np.testing.assert_array_equal(a.meta["y"], b.meta["y"])


def test_readonly_cache_root(sleep_folder: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running with permissions that ignore the read-only mode")
        with pytest.raises(DataError, match="not writable"):
            prepare(sleep_folder, ro, progress=False)
    finally:
        os.chmod(ro, 0o700)


def test_subject_split_and_kfold_disjoint() -> None:
    subjects = np.repeat(np.arange(10), 7)
    sp = make_splits(subjects, val=0.2, test=0.2, seed=3)[0]
    parts = [set(subjects[i]) for i in (sp.train, sp.val, sp.test)]
    assert all(not (a & b) for a, b in [(parts[0], parts[1]), (parts[0], parts[2]), (parts[1], parts[2])])
    assert len(sp.train) + len(sp.val) + len(sp.test) == len(subjects)
    assert make_splits(subjects, seed=3)[0].test.tolist() == make_splits(subjects, seed=3)[0].test.tolist()
    folds = make_splits(subjects, folds=5, seed=0)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(subjects)))


def test_leaking_split_is_refused() -> None:
    subjects = np.array([0, 0, 1, 1, 2, 2])
    with pytest.raises(LeakageError, match="subject 1 is in both the train and the test split"):
        check_disjoint_subjects(subjects, {"train": np.array([0, 1, 2]), "test": np.array([3, 4, 5])})


def test_leaking_concepts_are_refused() -> None:
    concepts = np.array(["dog", "cat", "cup", "dog"], dtype=object)
    check_disjoint_subjects(concepts, {"train": np.array([0, 1, 3]), "test": np.array([2])}, what="concept")
    with pytest.raises(LeakageError, match="concept dog is in both the train and the test split"):
        check_disjoint_subjects(concepts, {"train": np.array([0, 1]), "test": np.array([2, 3])}, what="concept")


def test_batched_fetch_equals_single_items(sleep_folder: Path, tmp_path: Path) -> None:
    from torch.utils.data import DataLoader

    cache = prepare(sleep_folder, tmp_path / "c", progress=False).cache
    ds = WindowDataset(cache, np.arange(len(cache))[::-1][: len(cache) - 2])  # reversed, spans recordings
    items = [5, 0, len(ds) - 1, 17, 5]
    batched = ds.__getitems__(items)
    for i, got in zip(items, batched, strict=True):
        want = ds[i]
        assert set(got) == set(want)
        for k in want:
            assert torch.equal(got[k], want[k]) and got[k].dtype == want[k].dtype, k
    a = next(iter(DataLoader(ds, batch_size=8, shuffle=False)))
    b = {k: torch.stack([ds[i][k] for i in range(8)]) for k in a}
    assert all(torch.equal(a[k], b[k]) for k in a)
