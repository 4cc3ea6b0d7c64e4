"""MASS layout: R&K 20-s -> 30-s rule, simulated corpus, reader, channel choice, R-peaks / IHR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.data.heart_rate import detect_rpeaks, ihr_series
from neurorep.data.readers.mass import (
    pair_mass,
    read_mass,
    read_mass_annotations,
    resolve_channel,
)
from neurorep.data.recording import Annotations
from neurorep.data.rk_epochs import rk20_to_30, split_30_to_20
from neurorep.errors import DataError

W, N1, N2, N3, N4, R = (f"Sleep stage {s}" for s in "W1234R")


def test_rk20_dominant_and_agree_rules() -> None:
    stages = [W, N1, N2, N2, N2, N3]  # 6 x 20 s = 4 windows of 30 s, from onset 12 s
    ann = Annotations(12 + 20.0 * np.arange(6), np.full(6, 20.0), stages)
    dom = rk20_to_30(ann, "dominant")
    np.testing.assert_allclose(dom.onset, 12 + 30.0 * np.arange(4))
    assert dom.description == [W, N2, N2, N3]  # windows take epochs 0, 2, 3, 5
    assert rk20_to_30(ann, "agree").description == ["Sleep stage ?", "Sleep stage ?", N2, "Sleep stage ?"]
    merged = Annotations([0.0, 40.0], [40.0, 80.0], [W, N2])  # multi-epoch annotations are split
    assert rk20_to_30(merged).description == [W, N2, N2, N2]


def test_rk20_round_trip_and_grid_errors() -> None:
    rng = np.random.default_rng(0)
    stages = [[W, N1, N2, N3, N4, R][k] for k in rng.integers(0, 6, 41)]
    twenty = split_30_to_20(stages)
    ann = Annotations(20.0 * np.arange(len(twenty)), np.full(len(twenty), 20.0), twenty)
    assert rk20_to_30(ann).description == stages[: len(twenty) * 20 // 30]
    with pytest.raises(DataError, match="not on the 20-s epoch grid"):
        rk20_to_30(Annotations([0.0, 25.0], [20.0, 20.0], [W, W]))


def test_resolve_channel() -> None:
    labels = ["EEG C4-LER", "EEG O2-LER", "ECG I", "EMG Chin"]
    assert resolve_channel(labels, "EEG C4") == "EEG C4-LER"
    assert resolve_channel(labels, "ecg") == "ECG I"
    assert resolve_channel(labels, "EEG C4-LER") == "EEG C4-LER"
    with pytest.raises(DataError, match="ambiguous"):
        resolve_channel(["EEG C4-LER", "EEG C4-CLE"], "EEG C4")
    with pytest.raises(DataError, match="not found.*EEG C4-LER"):
        resolve_channel(labels, "EEG C3")


@pytest.fixture(scope="module")
def mass_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurorep.data.corpora import simulate

    out = tmp_path_factory.mktemp("mass")
    simulate("mass", out, n_subjects=2, seed=3, hours=0.5, progress=False)
    return out


def test_simulated_mass_layout_and_alignment(mass_folder: Path) -> None:
    from neurorep.data.simulate.mass import simulate_mass_night

    pairs = pair_mass(mass_folder)
    assert [(p.parent.name, p.name, s) for p, _, s, _ in pairs] == [
        ("SS2", "01-02-0001 PSG.edf", "SS2"), ("SS3", "01-03-0002 PSG.edf", "SS3")]
    for psg, base, subset, sid in pairs:
        night = simulate_mass_night(int(sid[-4:]) - 1, 3, 0.5)
        rec = read_mass(psg, ["EEG C4", "ECG"][:1], base, sid, subset)
        assert rec.ch_names == ["EEG C4"]
        ann = rec.annotations
        assert ann.onset[0] == 0.0 and np.all(ann.duration == 30.0)
        # every 30-s window's stage is the simulated stage of that epoch (epoch 0 is not scored)
        rk = [("Sleep stage 3" if subset == "SS3" and s == N4 else s) for s in night.rk_stages[1:]]
        rk = ["Sleep stage ?" if s == "Movement time" else s for s in rk]
        assert ann.description == rk[: len(ann.description)]
        assert len(ann.description) >= len(rk) - 2
        # the signal starts at the first scored epoch: compare with the simulated EEG of epoch 1
        sim = night.signals["EEG Fpz-Cz"][0][3000:3100].astype(np.float32)
        np.testing.assert_allclose(rec.data[0, :100], sim, atol=2e-7)
    with pytest.raises(DataError, match="epochs last"):
        read_mass_annotations_fake(mass_folder)


def read_mass_annotations_fake(folder: Path) -> None:
    import edfio

    bad = folder / "bad Base.edf"
    edfio.Edf([], annotations=[edfio.EdfAnnotation(0, 10.0, W), edfio.EdfAnnotation(10, 10.0, W)]).write(bad)
    try:
        read_mass_annotations(bad)
    finally:
        bad.unlink()


def test_mass_heart_rate_carries_less_stage_information() -> None:
    """MASS nights scale the heart rate's stage levels down (and add drift); the defaults (1, 0) give
    exactly simulate_night, whose hypnogram the MASS night shares."""
    from neurorep.data.simulate import cardiac
    from neurorep.data.simulate.params import draw_subject_params, night_rng
    from neurorep.data.simulate.signals import NightContext

    n = 3000  # 300 s at 10 Hz: first half wake, second half N3
    weights = np.zeros((5, n))
    weights[0, : n // 2] = 1.0
    weights[3, n // 2:] = 1.0
    z = np.zeros(n)
    ctx = NightContext(n_ctrl=n, duration=n / 10.0, weights=weights, depth=z, arousal=z, movement=z, eyes_open=z,
                       phasic=z, resp_phase=np.arange(n) / 10.0 / 4.0, hours=z)
    params = draw_subject_params(0, 0)

    def contrast(**kw: float) -> float:
        hr = cardiac.heart_rate(ctx, params, night_rng(0, 0, 1, "ecg"), **kw)
        return float(hr[: n // 2].mean() - hr[n // 2:].mean())

    base = contrast()
    assert base == pytest.approx(contrast(stage_scale=1.0, drift_bpm=0.0))  # defaults draw the same numbers
    assert contrast(stage_scale=0.4) == pytest.approx(base - 0.6 * 10.5, abs=1e-6)  # W - N3 = 7 + 3.5 bpm
    drifted = cardiac.heart_rate(ctx, params, night_rng(0, 0, 1, "ecg"), drift_bpm=3.0)
    assert not np.allclose(drifted, cardiac.heart_rate(ctx, params, night_rng(0, 0, 1, "ecg")))


@pytest.mark.slow  # neurokit2 R-peak detection on 30 min of ECG: a few seconds
def test_rpeaks_and_ihr_match_simulated_beats(mass_folder: Path) -> None:
    from neurorep.data.simulate import simulate_night

    night = simulate_night(1, 1, 3, 0.5)
    ecg, fs = night.signals["ECG"]
    peaks = detect_rpeaks(ecg, fs)
    true = night.beat_times
    dist = np.abs(true[:, None] - peaks[None, :]).min(1) if len(peaks) < 5000 else None
    assert dist is not None and np.mean(dist < 0.05) > 0.95
    assert abs(len(peaks) - len(true)) < 0.05 * len(true)
    hr = ihr_series(true, 60.0, fs=4.0)
    rr = np.diff(true)
    k = np.searchsorted(true, 30.0)  # at a beat time the series equals 60 / the RR interval it closes
    assert hr[int(round(true[k] * 4))] == pytest.approx(60.0 / rr[k - 1], rel=0.05)
    with pytest.raises(DataError):
        ihr_series(np.array([0.0, 1.0]), 10.0)


@pytest.mark.slow  # prepares the IHR cache (neurokit2 R-peaks): ~5-20 s
def test_mass_sources_pair_up(mass_folder: Path, tmp_path: Path) -> None:
    from neurorep.data.cache import prepare
    from neurorep.data.sources import detect_dataset
    from neurorep.data.windows import PrepareConfig
    from neurorep.recipes.kd_sleep.data import check_paired

    assert detect_dataset(mass_folder) == "mass"
    eeg = prepare(mass_folder, tmp_path, "mass", PrepareConfig(channels=["EEG C4"], sfreq=50.0, keep_unlabelled=True,
                                                               scheme="3class"), progress=False).cache
    ihr = prepare(mass_folder, tmp_path, "mass-ihr", PrepareConfig(channels=["ECG"], sfreq=None, l_freq=None,
                                                                   h_freq=None, keep_unlabelled=True, scheme="3class"),
                  progress=False).cache
    assert ihr.info.n_times == 120 and eeg.info.n_times == 1500
    check_paired(eeg, ihr)
    assert eeg.classes == ["W", "NREM", "REM"]


def test_teacher_outputs_travel_with_their_sequences(mass_folder: Path, tmp_path: Path) -> None:
    """Teacher outputs computed once on the EEG sequences come with the matching student samples."""
    import torch

    from neurorep.data.cache import prepare
    from neurorep.data.windows import PrepareConfig
    from neurorep.errors import DataError as DE
    from neurorep.recipes.kd_sleep.data import PairedSequences, WithTeacherOutputs

    eeg = prepare(mass_folder, tmp_path, "mass", PrepareConfig(channels=["EEG C4"], sfreq=50.0, keep_unlabelled=True,
                                                               scheme="3class"), progress=False).cache
    ihr = prepare(mass_folder, tmp_path, "mass", PrepareConfig(channels=["ECG"], sfreq=10.0, l_freq=None, h_freq=None,
                                                               keep_unlabelled=True, scheme="3class"),
                  progress=False).cache  # raw ECG at 10 Hz: a cheap stand-in for the student input
    rows = np.arange(len(ihr))
    student = PairedSequences({"ecg": ihr}, rows, 5, 3)
    both = PairedSequences({"eeg": eeg, "ecg": ihr}, rows, 5, 3)
    ds = WithTeacherOutputs(student, PairedSequences({"eeg": eeg}, rows, 5, 3),
                            lambda x: {"teacher_m": x.mean(dim=(1, 2)), "teacher_v": x[:, 0, ::300]}, batch_size=4)
    assert len(ds) == len(student) > 4
    for i in (0, 3, len(ds) - 1):
        item, ref = ds[i], both[i]
        assert set(item) == set(student[i]) | {"teacher_m", "teacher_v"}
        torch.testing.assert_close(item["teacher_m"], ref["eeg"].mean())
        torch.testing.assert_close(item["teacher_v"], ref["eeg"][0, ::300])
        torch.testing.assert_close(item["ecg"], ref["ecg"])
    with pytest.raises(DE, match="different sequences"):
        WithTeacherOutputs(student, PairedSequences({"eeg": eeg}, rows, 5, 5), lambda x: {"m": x})
