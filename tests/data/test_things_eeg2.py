"""Things-EEG-2: real-format files through the safe reader, malformed files, the cache, the simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.data.cache import WindowCache, prepare
from neurorep.data.corpora import simulate
from neurorep.data.dataset import WindowDataset
from neurorep.data.image_embeddings import ImageEmbeddings, load_embeddings, save_embeddings
from neurorep.data.readers.things_eeg2 import (
    find_subjects,
    read_concept_categories,
    read_image_metadata,
    read_things_eeg2_file,
)
from neurorep.data.sources_things import single_repetitions
from neurorep.errors import ConfigError, DataError


def convert_things_eeg2(root: Path, out: Path, progress: bool = False) -> WindowCache:
    """Prepare the things-eeg2 source (the one cache path) and return the cache."""
    return prepare(root, out, dataset="things-eeg2", progress=progress).cache


CH = ["Pz", "P3", "O1", "Oz"]
TIMES = np.round(np.arange(-0.2, 0.8, 0.01), 3)


def _eeg(n_cond: int, reps: int, seed: int, n_ch: int = 4) -> dict:
    data = np.random.default_rng(seed).normal(size=(n_cond, reps, n_ch, 100))
    return {"preprocessed_eeg_data": data, "ch_names": CH[:n_ch], "times": TIMES}


@pytest.fixture
def things_root(tmp_path: Path) -> Path:
    """Two subjects in the published layout (float64 data, as np.save of a dict), 6 train / 3 test images."""
    root = tmp_path / "things"
    for s in (1, 2):
        folder = root / "preprocessed_data" / f"sub-{s:02d}"
        folder.mkdir(parents=True)
        np.save(folder / "preprocessed_eeg_training.npy", _eeg(6, 4, s), allow_pickle=True)
        np.save(folder / "preprocessed_eeg_test.npy", _eeg(3, 80, 10 + s), allow_pickle=True)
    (root / "image_set").mkdir()
    np.save(root / "image_set" / "image_metadata.npy", {
        "train_img_concepts": [f"{i // 2 + 1:05d}_c{i // 2}" for i in range(6)],
        "train_img_files": [f"c{i // 2}_{i % 2 + 1:02d}s.jpg" for i in range(6)],
        "test_img_concepts": [f"{i + 10:05d}_t{i}" for i in range(3)],
        "test_img_files": [f"t{i}_01b.jpg" for i in range(3)]}, allow_pickle=True)
    return root


def test_reader_reads_published_layout(things_root: Path) -> None:
    subs = find_subjects(things_root)
    assert list(subs) == [1, 2] and subs[1].name == "sub-01"
    ep = read_things_eeg2_file(subs[1] / "preprocessed_eeg_training.npy")
    assert ep.data.shape == (6, 4, 4, 100) and ep.data.dtype == np.float32
    np.testing.assert_allclose(ep.data, _eeg(6, 4, 1)["preprocessed_eeg_data"], rtol=1e-6)
    assert ep.ch_names == CH and ep.sfreq == pytest.approx(100.0)
    meta = read_image_metadata(things_root)
    assert meta.train_files[:2] == ["c0_01s.jpg", "c0_02s.jpg"] and len(meta.test_concepts) == 3


@pytest.mark.parametrize(("payload", "message"), [
    ({"ch_names": CH, "times": TIMES}, "missing key.*preprocessed_eeg_data"),
    ({"preprocessed_eeg_data": np.zeros((6, 4, 100)), "ch_names": CH, "times": TIMES}, r"shape \(6, 4, 100\)"),
    ({"preprocessed_eeg_data": np.zeros((6, 4, 5, 100)), "ch_names": CH, "times": TIMES}, "5 channels .* lists 4"),
    ({"preprocessed_eeg_data": np.zeros((6, 4, 4, 90)), "ch_names": CH, "times": TIMES}, "90 time points"),
    ({"preprocessed_eeg_data": np.full((1, 1, 4, 100), np.nan), "ch_names": CH, "times": TIMES}, "non-finite"),
    ({"preprocessed_eeg_data": np.zeros((1, 1, 4, 100)), "ch_names": "Pz", "times": TIMES}, "ch_names must be a list"),
])
def test_malformed_files_name_the_problem(tmp_path: Path, payload: dict, message: str) -> None:
    path = tmp_path / "preprocessed_eeg_training.npy"
    np.save(path, payload, allow_pickle=True)
    with pytest.raises(DataError, match=message) as info:
        read_things_eeg2_file(path)
    assert str(path) in str(info.value)


def test_not_a_dict_and_bad_metadata(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((2, 3)))
    with pytest.raises(DataError, match="expected a saved dict"):
        read_things_eeg2_file(tmp_path / "a.npy")
    np.save(tmp_path / "image_metadata.npy", {"train_img_concepts": ["a"], "train_img_files": ["a", "b"],
                                             "test_img_concepts": [], "test_img_files": []}, allow_pickle=True)
    with pytest.raises(DataError, match="train_img_concepts has 1 entries but train_img_files has 2"):
        read_image_metadata(tmp_path / "image_metadata.npy")
    with pytest.raises(DataError, match="no Things-EEG-2 subject folders"):
        find_subjects(tmp_path)


def test_convert_to_safe_cache_once(things_root: Path, tmp_path: Path) -> None:
    cache = convert_things_eeg2(things_root, tmp_path / "cache", progress=False)
    assert cache.info.subjects == ["sub-01", "sub-02"] and cache.info.sfreq == 100.0
    assert [r.split for r in cache.info.recordings] == ["train", "test", "train", "test"]
    ds = WindowDataset(cache)
    assert len(ds) == 2 * (6 + 3)
    x0 = ds[0]["x"].numpy()
    np.testing.assert_allclose(x0, _eeg(6, 4, 1)["preprocessed_eeg_data"][0].mean(0), rtol=1e-5, atol=1e-6)
    reps = single_repetitions(cache, 1)
    assert reps.shape == (3, 80, 4, 100)
    images = cache.info.images
    assert images["test_img_files"] == ["t0_01b.jpg", "t1_01b.jpg", "t2_01b.jpg"]
    again = convert_things_eeg2(things_root, tmp_path / "cache", progress=False)
    assert again.path == cache.path and len(list((tmp_path / "cache").iterdir())) == 1
    # a condition count that disagrees with the image metadata is refused
    np.save(things_root / "preprocessed_data" / "sub-02" / "preprocessed_eeg_test.npy", _eeg(4, 80, 3),
            allow_pickle=True)
    with pytest.raises(DataError, match="4 test conditions, but image_metadata lists 3"):
        convert_things_eeg2(things_root, tmp_path / "cache2", progress=False)


def test_categories_csv(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("concept,category\n00001_aardvark,animal\nhammer,tool\n")
    cats = read_concept_categories(tmp_path / "c.csv")
    assert cats["aardvark"] == "animal" and cats["00001_aardvark"] == "animal" and cats["hammer"] == "tool"
    (tmp_path / "bad.csv").write_text("name,cat\n")
    with pytest.raises(DataError, match="expected columns 'concept' and 'category'"):
        read_concept_categories(tmp_path / "bad.csv")


@pytest.mark.parametrize("suffix", [".safetensors", ".npy"])
def test_embedding_files_round_trip_and_align(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    emb = ImageEmbeddings(rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32),
                          ["a", "b", "c", "d"], ["x", "y"], "test-model")
    save_embeddings(tmp_path / f"e{suffix}", emb)
    back = load_embeddings(tmp_path / f"e{suffix}")
    assert back.model == "test-model" and back.train_ids == emb.train_ids
    np.testing.assert_array_equal(back.test, emb.test)
    re = back.aligned_to(["d", "c", "b", "a"], ["y", "x"])
    np.testing.assert_array_equal(re.train[0], emb.train[3])
    with pytest.raises(DataError, match="no embedding .*'zz'"):
        back.aligned_to(["a", "zz"], ["x", "y"])


def test_simulated_corpus_layout_and_averaging_matters(tmp_path: Path) -> None:
    files = simulate("things-eeg2", tmp_path / "sim", n_subjects=2, seed=3, n_train_concepts=20,
                     images_per_concept=2, n_test_concepts=30, test_repetitions=40, progress=False)
    root = tmp_path / "sim"
    assert len(files) == 3 + 2 * 2
    ep = read_things_eeg2_file(root / "preprocessed_data" / "sub-02" / "preprocessed_eeg_test.npy")
    assert ep.data.shape == (30, 40, 17, 100) and len(ep.ch_names) == 17
    assert ep.times[0] == pytest.approx(-0.2) and ep.times[-1] == pytest.approx(0.79)
    meta = read_image_metadata(root)
    assert len(meta.train_files) == 40 and len(set(meta.test_concepts) & set(meta.train_concepts)) == 0
    cats = read_concept_categories(root / "concept_categories.csv")
    assert set(meta.test_concepts) <= set(cats)
    emb = load_embeddings(root / "image_embeddings" / "sim_clip_vit-b-32.safetensors")
    assert emb.train.shape == (40, 512) and emb.test_ids == meta.test_files and "simulated" in emb.model
    # category structure: same-category test images are more alike than different-category ones
    c = np.array([cats[k] for k in meta.test_concepts])
    s = emb.test @ emb.test.T
    same = (c[:, None] == c[None, :]) & ~np.eye(30, dtype=bool)
    assert s[same].mean() > s[~same & ~np.eye(30, dtype=bool)].mean() + 0.2
    # the image-specific part of the response is buried in single trials, visible in averages:
    # split-half reliability of the condition-wise response rises with the number of repetitions
    def reliability(n: int) -> float:
        a = ep.data[:, :n // 2].mean(1) - ep.data[:, :n // 2].mean((0, 1))
        b = ep.data[:, n // 2:n].mean(1) - ep.data[:, n // 2:n].mean((0, 1))
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    r2, r40 = reliability(2), reliability(40)
    assert r2 < 0.1 and r40 > 0.2 and r40 > 4 * r2, (r2, r40)


def test_simulator_rejects_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="n_latent"):
        simulate("things-eeg2", tmp_path / "x", n_subjects=1, n_latent=30)
    with pytest.raises(ConfigError, match="has no option 'n_concepts'"):
        simulate("things-eeg2", tmp_path / "x", n_subjects=1, n_concepts=30)


def test_download_offline_is_a_clear_error(tmp_path: Path) -> None:
    from neurorep.data.things_eeg2_download import download_things_eeg2, main

    with pytest.raises(DataError, match="cannot reach .*are you offline.*osf.io/3jk45"):
        download_things_eeg2(tmp_path / "dl", api="http://127.0.0.1:9", timeout=2, progress=False)
    with pytest.raises(DataError, match="unknown part 'eeg'"):
        download_things_eeg2(tmp_path / "dl", what=("eeg",))
    assert main(["--out", str(tmp_path / "dl"), "--timeout", "0.01", "--what", "image_set"]) == 2


@pytest.mark.real_data
def test_real_things_eeg2_subject_reads(shared_data: Path) -> None:
    root = shared_data / "things-eeg2"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    subs = find_subjects(root)
    ep = read_things_eeg2_file(subs[min(subs)] / "preprocessed_eeg_test.npy")
    assert ep.data.shape[1:] == (80, 17, 100) and len(ep.ch_names) == 17
    meta = read_image_metadata(root)
    assert len(meta.test_files) == ep.data.shape[0] == 200
