"""HMS reader, segment extraction, bipolar montage and the simulated HMS corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurorep.data.montage import DOUBLE_BANANA, apply_montage, bipolar
from neurorep.data.readers import read_recording
from neurorep.data.readers.hms import (
    HMS_CHANNELS,
    HMS_CLASSES,
    VOTE_COLUMNS,
    extract_segment,
    fill_nans,
    read_hms_eeg,
    read_hms_labels,
)
from neurorep.errors import DataError
from tests.conftest import SHARED_DATA


def _write_eeg(path: Path, n: int = 12000, seed: int = 0, nan: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 30, (len(HMS_CHANNELS), n)).astype(np.float32)
    if nan:
        x[2, 100:110] = np.nan
    pd.DataFrame({c: x[i] for i, c in enumerate(HMS_CHANNELS)}).to_parquet(path, index=False)
    return x


def test_reader_converts_units_fills_nans_and_dispatches_by_extension(tmp_path: Path) -> None:
    raw = _write_eeg(tmp_path / "1.parquet", nan=True)
    rec = read_recording(tmp_path / "1.parquet")
    assert rec.ch_names == HMS_CHANNELS and rec.ch_types[-1] == "ecg" and rec.sfreq == 200.0
    assert np.isfinite(rec.data).all()
    np.testing.assert_allclose(rec.data[0], raw[0] * 1e-6, rtol=1e-6)
    # a NaN gap is linearly interpolated between its neighbours
    expected = np.interp(np.arange(100, 110), [99, 110], [raw[2, 99], raw[2, 110]]) * 1e-6
    np.testing.assert_allclose(rec.data[2, 100:110], expected, rtol=1e-5)
    assert rec.extra["nan_filled"][0][0] == 10


def test_all_nan_electrode_is_refused(tmp_path: Path) -> None:
    raw = _write_eeg(tmp_path / "2.parquet")
    raw[5, :] = np.nan
    pd.DataFrame({c: raw[i] for i, c in enumerate(HMS_CHANNELS)}).to_parquet(tmp_path / "2.parquet", index=False)
    with pytest.raises(DataError, match=rf"2.parquet: electrode column\(s\) {HMS_CHANNELS[5]} hold no finite value"):
        read_recording(tmp_path / "2.parquet")


def test_fill_nans_edges() -> None:
    filled, n = fill_nans(np.array([[np.nan, 1.0, np.nan, 3.0, np.nan]]))
    assert n == 3 and filled.tolist() == [[1.0, 1.0, 2.0, 3.0, 3.0]]


def test_reader_errors_name_the_file_and_column(tmp_path: Path) -> None:
    pd.DataFrame({"Fp1": [1.0, 2.0]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet.*missing F3"):
        read_hms_eeg(tmp_path / "bad.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="junk.parquet"):
        read_hms_eeg(tmp_path / "junk.parquet")


def test_segment_at_label_offset(tmp_path: Path) -> None:
    raw = _write_eeg(tmp_path / "2.parquet", n=12000)
    rec = read_hms_eeg(tmp_path / "2.parquet")
    seg = extract_segment(rec, 8.0)
    assert seg.shape == (20, 10000)
    np.testing.assert_allclose(seg[:, 0], raw[:, 1600] * 1e-6, rtol=1e-6)
    with pytest.raises(DataError, match="does not fit"):
        extract_segment(rec, 12.0)


def _labels(path: Path, **changes: object) -> Path:
    df = pd.DataFrame({"eeg_id": [1, 1, 2], "eeg_sub_id": [0, 1, 0], "eeg_label_offset_seconds": [0.0, 4.0, 0.0],
                       "expert_consensus": ["LPD", "LPD", "Other"], "patient_id": [7, 7, 8],
                       **{c: [0, 0, 1] for c in VOTE_COLUMNS}})
    df["lpd_vote"] = [3, 2, 0]
    for k, v in changes.items():
        df[k] = v
    df.to_csv(path, index=False)
    return path


def test_label_reader(tmp_path: Path) -> None:
    df = read_hms_labels(_labels(tmp_path / "train.csv"))
    assert df["y"].tolist() == [HMS_CLASSES.index("lpd")] * 2 + [HMS_CLASSES.index("other")]
    assert df["n_votes"].tolist() == [3, 2, 5]
    with pytest.raises(DataError, match="row 2 has invalid votes"):
        read_hms_labels(_labels(tmp_path / "t2.csv", lpd_vote=[-1, 2, 0]))
    pd.read_csv(_labels(tmp_path / "t3.csv")).drop(columns="patient_id").to_csv(tmp_path / "t3.csv", index=False)
    with pytest.raises(DataError, match="missing column.*patient_id"):
        read_hms_labels(tmp_path / "t3.csv")


def test_double_banana() -> None:
    names = HMS_CHANNELS[:19]
    data = np.arange(19, dtype=np.float32)[:, None] * np.ones((1, 5), np.float32)
    out, derivations = bipolar(data, names)
    assert out.shape == (18, 5) and derivations[0] == "Fp1-F7" and len(DOUBLE_BANANA) == 18
    assert out[0, 0] == names.index("Fp1") - names.index("F7")
    with pytest.raises(DataError, match="needs electrode 'T3', not found; channels are: Fp1"):
        bipolar(data[:18], [n for n in names if n != "T3"], DOUBLE_BANANA)


def test_simulated_corpus_layout_votes_and_patterns(tmp_path: Path) -> None:
    from neurorep.data.corpora import simulate

    files = simulate("hms", tmp_path / "sim", n_subjects=3, seed=1, eegs_per_patient=2, duration_s=52.0,
                     labels_per_eeg=1, nan_fraction=1.0, progress=False)
    assert len(files) == 6 and all(f.parent.name == "train_eegs" for f in files)
    df = read_hms_labels(tmp_path / "sim" / "train.csv")
    assert len(df) == 6 and df["patient_id"].nunique() == 3 and (df["eeg_label_offset_seconds"] <= 2).all()
    assert set(df["y"]) <= set(range(6)) and (df[VOTE_COLUMNS].sum(axis=1) >= 1).all()
    raw = pd.read_parquet(files[0])
    assert list(raw.columns) == HMS_CHANNELS and raw.dtypes.iloc[0] == np.float32
    assert all(pd.read_parquet(f).isna().any().any() for f in files)  # NaN gaps are part of the corpus
    # same seed, same patient
    from neurorep.data.simulate.hms import _patient

    a, b = _patient((5, 1, 0, 1, 50.0, 1, 0.0)), _patient((5, 1, 0, 1, 50.0, 1, 0.0))
    assert a[0] == b[0] and np.array_equal(a[1][0][1], b[1][0][1])


def test_simulated_patterns_are_lateralised_or_generalised() -> None:
    from neurorep.data.simulate.hms import LEFT, RIGHT, _pattern

    rng = np.random.default_rng(0)
    chans = HMS_CHANNELS[:19]
    left, right = [chans.index(c) for c in LEFT], [chans.index(c) for c in RIGHT]
    for cls, lateral in ((1, True), (2, False), (3, True), (4, False)):
        p = _pattern(rng, cls, 4000, 1.0)
        ratio = p[left].std() / p[right].std()
        assert (max(ratio, 1 / ratio) > 3) == lateral, (HMS_CLASSES[cls], ratio)
    assert np.abs(_pattern(rng, 5, 4000, 1.0)).max() == 0  # "other": background only
    seizure = _pattern(rng, 0, 8000, 1.0)
    assert seizure[:, -2000:].std() > 1.5 * seizure[:, :2000].std()  # grows and spreads


@pytest.mark.real_data
def test_real_hms_sample_reads_and_embeds() -> None:
    import torch

    from neurorep.models import create_model

    path = SHARED_DATA / "hms" / "sample_eeg_3911565283.csv"
    rec = read_hms_eeg(path)
    assert rec.data.shape == (20, 10000) and rec.duration == 50.0 and rec.ch_names == HMS_CHANNELS
    assert rec.extra["nan_filled"][0][0] == 0
    eeg = rec.data[:19] * 1e6
    assert -263 < eeg.min() < -262 and 190 < eeg.max() < 191  # µV range given in the data README
    banana = apply_montage(rec.pick(HMS_CHANNELS[:19]))
    assert banana.n_channels == 18
    torch.manual_seed(0)
    model = create_model("eeg_foundation", preset="tiny", n_channels=19, n_times=10000).eval()
    x = torch.from_numpy(np.clip(eeg / 50.0, -20, 20)).float()[None]
    with torch.no_grad():
        emb = model.get_embeddings(x)
    assert emb.shape == (1, 32) and torch.isfinite(emb).all()


def test_one_bad_eeg_is_skipped_and_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neurorep.data.simulate.hms import simulate_hms
    from neurorep.recipes.foundation.config import HMSDataConfig
    from neurorep.recipes.foundation.data import prepare_hms

    files = simulate_hms(tmp_path / "hms", n_subjects=3, seed=0, eegs_per_patient=1, duration_s=52.0,
                         labels_per_eeg=1, progress=False)
    bad = sorted(files)[0]
    bad.write_bytes(b"not parquet")
    cfg = HMSDataConfig(source=str(tmp_path / "hms"), cache=str(tmp_path / "cache"), sfreq=50.0)
    corpus = prepare_hms(cfg, progress=False)
    assert corpus.info.skipped and corpus.info.skipped[0][0] == str(bad)
    assert len(corpus.info.recordings) == len(files) - 1
    assert int(bad.stem) not in set(corpus.rows["eeg_id"].tolist())
    err = capsys.readouterr().err
    assert f"skipped {bad}" in err and "1 recording(s) skipped" in err
    with pytest.raises(DataError, match=str(bad.name)):
        prepare_hms(cfg.model_copy(update={"on_error": "raise", "cache": str(tmp_path / "cache2")}), progress=False)


def test_hms_source_prepares_windows_votes_and_whole_signals(tmp_path: Path) -> None:
    from neurorep.data.cache import prepare
    from neurorep.data.dataset import WindowDataset
    from neurorep.data.simulate.hms import simulate_hms
    from neurorep.data.sources import prepare_config

    simulate_hms(tmp_path / "hms", n_subjects=2, seed=0, eegs_per_patient=1, duration_s=52.0, labels_per_eeg=2,
                 progress=False)
    cfg = prepare_config("hms", tmp_path / "hms", {"sfreq": 25.0})
    cache = prepare(tmp_path / "hms", tmp_path / "cache", dataset="hms", cfg=cfg, progress=False).cache
    assert cache.info.extra_arrays == ["votes"] and cache.info.recording_arrays == ["signal"]
    assert cache.info.n_times == 50 * 25 and len(cache) == 4
    sample = WindowDataset(cache)[1]
    assert sample["x"].shape == (19, 1250) and sample["votes"].shape == (6,) and float(sample["votes"].sum()) > 0
    signal = cache.array("signal", 0)
    start = int(round(cache.meta["onset"][1] * 25.0))
    np.testing.assert_array_equal(sample["x"].numpy()[:, : signal.shape[1] - start], signal[:, start:start + 1250])
    with pytest.raises(DataError, match="no array 'nope'"):
        cache.array("nope", 0)
