"""The one split helper: by subject/session/recording, shares, folds, split files, content-fingerprint leakage;
and the typed cache metadata (CacheInfo) read from info.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurorep.data.cache import WindowCache, prepare
from neurorep.data.cache_info import INFO_VERSION
from neurorep.data.manifest import write_manifest
from neurorep.data.splits import SplitTable, make_splits, read_split_file, split_groups
from neurorep.data.windows import PrepareConfig
from neurorep.errors import ConfigError, DataError, LeakageError


def _cache(folder: Path, out: Path) -> WindowCache:
    return prepare(folder, out, cfg=PrepareConfig(trim_wake_min=None), progress=False).cache


def test_cache_info_is_typed_with_fingerprints(sleep_folder: Path, tmp_path: Path) -> None:
    cache = _cache(sleep_folder, tmp_path / "c")
    info = cache.info
    assert info.version == INFO_VERSION and info.n_channels == 2 and info.sfreq == 100.0 and info.n_times == 3000
    assert info.window_s == 30.0 and info.label_kind == "class"
    assert info.sessions == ["SC400/1", "SC401/1", "SC402/1"]  # night 1 of each subject
    assert [Path(s).name for s in info.sources] == [f"SC4{s:02d}1E0-PSG.edf" for s in range(3)]
    fps = [r.fingerprint for r in info.recordings]
    assert all(isinstance(f, str) and len(f) == 64 for f in fps) and len(set(fps)) == 3


def test_old_and_broken_metadata_ask_for_a_rebuild(sleep_folder: Path, tmp_path: Path) -> None:
    cache = _cache(sleep_folder, tmp_path / "c")
    body = json.loads((cache.path / "info.json").read_text())
    old = {**body, "version": 2, "recordings": [{k: v for k, v in r.items() if k != "fingerprint"}
                                                for r in body["recordings"]]}
    (cache.path / "info.json").write_text(json.dumps(old))
    write_manifest(cache.path)
    assert WindowCache(cache.path).info.recordings[0].fingerprint is None  # version 2 is still read
    for bad, match in (({**body, "version": 1}, "older neurorep"), ({**body, "version": 99}, "newer neurorep"),
                       ({**body, "n_times": "x"}, "'n_times'"), ({**body, "recordings": [{"id": 0}]}, "recordings")):
        (cache.path / "info.json").write_text(json.dumps(bad))
        write_manifest(cache.path)
        with pytest.raises(DataError, match=f"{match}.*delete the cache folder to rebuild it"):
            WindowCache(cache.path)


def test_splits_by_session_and_recording_keep_groups_whole() -> None:
    subject = np.repeat(np.arange(4), 6)
    session = np.repeat(np.arange(8), 3)
    recording = np.repeat(np.arange(12), 2)
    table = SplitTable(subject, session, recording)
    for by, groups in (("session", session), ("recording", recording)):
        for sp in make_splits(table, by=by, folds=4, val=0.2, seed=1):
            sides = [set(groups[i].tolist()) for i in (sp.train, sp.val, sp.test)]
            assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
            assert len(sp.train) + len(sp.val) + len(sp.test) == len(subject)
    with pytest.raises(ConfigError, match="split.by"):
        make_splits(table, by="night")
    with pytest.raises(ConfigError, match="too few"):
        make_splits(SplitTable.of_subjects(np.array([0, 0, 1])), val=0.3, test=0.3)


def test_same_recording_filed_twice_is_refused_naming_both_files(sleep_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dup"
    shutil.copytree(sleep_folder, folder)
    # the night of SC400 filed again as another subject (same content, other name)
    shutil.copy(folder / "SC4001E0-PSG.edf", folder / "SC4091E0-PSG.edf")
    shutil.copy(folder / "SC4001EC-Hypnogram.edf", folder / "SC4091EC-Hypnogram.edf")
    cache = _cache(folder, tmp_path / "c")
    assert cache.subjects == ["SC400", "SC401", "SC402", "SC409"]
    leaked = 0
    for seed in range(6):
        try:
            sp = make_splits(cache, val=0.25, test=0.25, seed=seed)[0]
        except LeakageError as exc:
            assert "SC4001E0-PSG.edf" in str(exc) and "SC4091E0-PSG.edf" in str(exc)
            leaked += 1
            continue
        sides = split_groups(cache, sp)
        both = [k for k, v in sides.items() if {"SC400", "SC409"} & set(v)]
        assert len(both) == 1  # accepted only when both copies are on one side
    assert leaked > 0
    # the same file twice under one subject (as its second night): a session-wise split refuses it too
    for f in folder.glob("SC409*"):
        f.unlink()
    shutil.copy(folder / "SC4011E0-PSG.edf", folder / "SC4012E0-PSG.edf")
    shutil.copy(folder / "SC4011EC-Hypnogram.edf", folder / "SC4012EC-Hypnogram.edf")
    cache = _cache(folder, tmp_path / "c")
    assert "SC401/2" in cache.info.sessions
    with pytest.raises(LeakageError, match="same recording content.*SC401[12]E0-PSG.edf.*SC401[12]E0-PSG.edf"):
        for seed in range(10):
            make_splits(cache, by="session", val=0.2, test=0.2, seed=seed)


def test_split_file_is_read_and_validated(sleep_folder: Path, tmp_path: Path) -> None:
    cache = _cache(sleep_folder, tmp_path / "c")
    f = tmp_path / "split.json"
    f.write_text(json.dumps({"train": ["SC400"], "val": ["SC401"], "test": ["SC402"]}))
    sp = make_splits(cache, split_file=f)[0]
    assert split_groups(cache, sp) == {"train": ["SC400"], "val": ["SC401"], "test": ["SC402"]}
    f.write_text(json.dumps({"SC400": "train", "SC401": "train", "SC402": "test"}))
    sp = make_splits(cache, split_file=f, val=0.5, seed=0)[0]  # val drawn from the training subjects
    assert len(split_groups(cache, sp)["val"]) == 1 and split_groups(cache, sp)["test"] == ["SC402"]
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps({"train": [0, 1], "test": [2]}))
    assert set(cache.meta["recording"][make_splits(cache, by="recording", split_file=rec, val=0)[0].test]) == {2}
    rec.write_text(json.dumps({"0": "train", "1": "test", "2": "train"}))
    assert set(cache.meta["recording"][make_splits(cache, by="recording", split_file=rec, val=0)[0].test]) == {1}
    with pytest.raises(ConfigError, match="exclude each other"):
        make_splits(cache, by="recording", split_file=rec, folds=3)
    for body, err, match in (
            ({"train": ["SC400"], "test": ["SC400"]}, LeakageError, "SC400.*train and the test"),
            ({"train": ["SC400"], "test": ["SC499"]}, DataError, "subject 'SC499' is not in the data"),
            ({"train": ["SC400"], "holdout": ["SC401"]}, DataError, "unknown part 'holdout'"),
            ({"train": ["SC400"], "val": ["SC401"]}, DataError, "split.json: a split file needs a train and a test"),
            ({"train": 3}, DataError, "expected")):
        f.write_text(json.dumps(body))
        with pytest.raises(err, match=match):
            make_splits(cache, split_file=f)
    f.write_text("{nope")
    with pytest.raises(DataError, match="split.json: not a JSON split file"):
        read_split_file(f)
    with pytest.raises(DataError, match="split file not found"):
        read_split_file(tmp_path / "none.json")


def test_keep_apart_refuses_a_subject_on_the_training_and_test_side() -> None:
    table = SplitTable(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]), np.array([0, 1, 2, 3]), {"subject": ["a", "b"]})
    parts = {0: "train", 1: "test", 2: "train", 3: "test"}
    make_splits(table, by="recording", parts=parts, val=0)  # recordings never straddle
    with pytest.raises(LeakageError, match="subject a is in both the train and the test split"):
        make_splits(table, by="recording", parts=parts, val=0, keep_apart=("subject",))


def test_config_split_section_reaches_make_splits(sleep_folder: Path, tmp_path: Path) -> None:
    from neurorep.config import validate
    from neurorep.data.prepared import DataConfig, setup_data

    base = {"source": str(sleep_folder), "cache": str(tmp_path / "c"), "prepare": {"trim_wake_min": None}}
    prepared = setup_data(validate(DataConfig, {**base, "split": {"by": "recording", "folds": 3, "val": 0}}),
                          progress=False)
    assert len(prepared.splits) == 3 and all(len(s.val) == 0 for s in prepared.splits)
    f = tmp_path / "split.json"
    f.write_text(json.dumps({"train": ["SC400", "SC401"], "test": ["SC402"]}))
    one = setup_data(validate(DataConfig, {**base, "split": {"file": str(f), "val": 0}}), progress=False).splits
    assert split_groups(prepared.cache, one[0]) == {"train": ["SC400", "SC401"], "val": [], "test": ["SC402"]}
    with pytest.raises(ConfigError, match="split.by"):
        validate(DataConfig, {**base, "split": {"by": "night"}})
