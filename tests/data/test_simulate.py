"""Tests of the simulated Sleep-EDF-style corpus (neurorep.data.simulate)."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import edfio
import mne
import numpy as np
import pytest
from scipy.signal import butter, find_peaks, sosfiltfilt, welch

from neurorep.data.simulate import SIM_CHANNELS, simulate_night, simulate_sleep
from neurorep.data.simulate.hypnogram import RK_LABELS, merge_annotations, simulate_hypnogram, stage_fractions
from neurorep.data.simulate.params import draw_subject_params, night_params, night_rng
from neurorep.errors import ConfigError

W, N1, N2, N3, REM = range(5)


@pytest.fixture(scope="module")
def full_night():
    """One 8-hour night (signals and stages), shared by the physiology tests."""
    return simulate_night(subject=0, night=1, seed=0, hours=8.0)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A written corpus: 2 subjects x 2 nights of 1 hour."""
    out = tmp_path_factory.mktemp("sleep")
    pairs = simulate_sleep(out, n_subjects=2, seed=0, nights=2, hours=1.0, jobs=1, progress=False)
    return out, pairs


def _epochs(night, name: str) -> tuple[np.ndarray, float]:
    x, fs = night.signals[name]
    per = int(30 * fs)
    return x[: night.n_epochs * per].reshape(night.n_epochs, per), fs


def _relative_power(night, name: str, lo: float, hi: float) -> np.ndarray:
    x, fs = _epochs(night, name)
    f, p = welch(x, fs=fs, nperseg=int(4 * fs), axis=-1)
    total = p[:, (f >= 0.5) & (f <= 30)].sum(axis=1)
    return p[:, (f >= lo) & (f < hi)].sum(axis=1) / total


def _patient_field(path: Path) -> str:
    """The 80-character local patient identification field of an EDF header."""
    return path.read_bytes()[8:88].decode("ascii").strip()


def _median_by_stage(values: np.ndarray, stages: np.ndarray) -> dict[int, float]:
    return {s: float(np.median(values[stages == s])) for s in range(5)}


# ---- files -------------------------------------------------------------------------------------
def test_channels_constant():
    assert SIM_CHANNELS == {
        "EEG Fpz-Cz": 100.0,
        "EEG Pz-Oz": 100.0,
        "EOG horizontal": 100.0,
        "EMG submental": 100.0,
        "ECG": 256.0,
    }


def test_file_names_and_pairs(corpus):
    out, pairs = corpus
    names = [(p.name, h.name) for p, h in pairs]
    assert names == [
        ("SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"),
        ("SC4002E0-PSG.edf", "SC4002EC-Hypnogram.edf"),
        ("SC4011E0-PSG.edf", "SC4011EC-Hypnogram.edf"),
        ("SC4012E0-PSG.edf", "SC4012EC-Hypnogram.edf"),
    ]
    assert all(p.exists() and h.exists() for p, h in pairs)
    assert sorted(os.listdir(out)) == sorted(n for pair in names for n in pair)  # no temporary files


def test_psg_readable_by_mne_and_edfio(corpus):
    _, pairs = corpus
    psg, hyp = pairs[0]
    raw = mne.io.read_raw_edf(psg, preload=False, verbose="error")
    assert raw.ch_names == list(SIM_CHANNELS)
    edf = edfio.read_edf(psg)
    assert {s.label: s.sampling_frequency for s in edf.signals} == SIM_CHANNELS
    assert all(s.physical_dimension == "uV" for s in edf.signals)
    assert edf.data_record_duration == 30.0
    assert re.match(r"^X [FM] X (Female|Male)_\d+yr$", _patient_field(psg))
    ann = mne.read_annotations(hyp)
    assert set(ann.description) <= set(RK_LABELS)
    assert np.allclose(np.mod(ann.duration, 30.0), 0.0) and np.all(ann.duration > 0)
    assert np.allclose(ann.onset[1:], ann.onset[:-1] + ann.duration[:-1])  # contiguous
    assert list(ann.description[1:]) != list(ann.description[:-1]) or len(ann) == 1
    assert np.isclose(ann.onset[-1] + ann.duration[-1], raw.n_times / raw.info["sfreq"])
    assert np.isclose(edf.duration, 3600.0)


def test_hypnogram_is_annotation_only(corpus):
    _, pairs = corpus
    hyp = edfio.read_edf(pairs[0][1])
    assert hyp.num_signals == 0
    assert len(hyp.annotations) >= 2


def test_written_values_match_simulation(corpus):
    _, pairs = corpus
    night = simulate_night(0, 1, seed=0, hours=1.0)
    edf = edfio.read_edf(pairs[0][0])
    for sig in edf.signals:
        expected = night.signals[sig.label][0] * 1e6
        step = (sig.physical_range.max - sig.physical_range.min) / 65535
        assert np.max(np.abs(sig.data - expected)) <= step


def test_overwrite_keeps_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "SC4001E0-PSG.edf").write_bytes(b"stale")
    simulate_sleep(tmp_path, n_subjects=1, seed=0, hours=0.5, progress=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert edfio.read_edf(tmp_path / "SC4001E0-PSG.edf").num_signals == 5
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_parallel_matches_serial(tmp_path):
    a = simulate_sleep(tmp_path / "a", n_subjects=2, seed=3, hours=0.5, jobs=1, progress=False)
    b = simulate_sleep(tmp_path / "b", n_subjects=2, seed=3, hours=0.5, jobs=2, progress=False)
    for (pa, ha), (pb, hb) in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
        assert ha.read_bytes() == hb.read_bytes()


@pytest.mark.parametrize(
    "kwargs",
    [{"n_subjects": 0}, {"n_subjects": 101}, {"nights": 3}, {"hours": 0.1}, {"jobs": 0}],
)
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        simulate_sleep(tmp_path, progress=False, **kwargs)


def test_bad_night_arguments():
    with pytest.raises(ConfigError):
        simulate_night(100, 1, 0)
    with pytest.raises(ConfigError):
        simulate_night(0, 3, 0)


@pytest.mark.real_data
def test_vocabulary_matches_real_hypnograms(corpus, shared_data):
    real = sorted(glob.glob(str(shared_data / "sleep-edf" / "hypnograms" / "*-Hypnogram.edf")))[:4]
    if not real:
        pytest.skip("no real Sleep-EDF hypnograms under the shared data folder")
    for path in real:
        edf = edfio.read_edf(path)
        assert edf.num_signals == 0
        assert {a.text for a in edf.annotations} <= set(RK_LABELS)
    pattern = re.compile(r"^X [FM] X (Female|Male)_\d+yr$")
    assert pattern.match(_patient_field(Path(real[0])))
    assert pattern.match(_patient_field(corpus[1][0][1]))


# ---- determinism -------------------------------------------------------------------------------
def test_deterministic_and_subject_specific():
    a = simulate_night(1, 1, seed=5, hours=0.5)
    b = simulate_night(1, 1, seed=5, hours=0.5)
    c = simulate_night(2, 1, seed=5, hours=0.5)
    d = simulate_night(1, 2, seed=5, hours=0.5)
    for name in SIM_CHANNELS:
        assert np.array_equal(a.signals[name][0], b.signals[name][0])
        assert a.signals[name][0].dtype == np.float64
        assert not np.allclose(a.signals[name][0], c.signals[name][0])
        assert not np.allclose(a.signals[name][0], d.signals[name][0])
    assert a.rk_stages == b.rk_stages
    assert a.params == d.params and a.params != c.params  # traits belong to the subject
    assert a.start.date() < d.start.date()


def test_annotations_merge():
    rk = ["Sleep stage W"] * 3 + ["Sleep stage 1"] + ["Sleep stage 2"] * 2
    assert merge_annotations(rk) == [
        (0.0, 90.0, "Sleep stage W"),
        (90.0, 30.0, "Sleep stage 1"),
        (120.0, 60.0, "Sleep stage 2"),
    ]


# ---- stage model -------------------------------------------------------------------------------
def test_stage_proportions_across_subjects():
    fractions = []
    for subject in range(8):
        params = draw_subject_params(0, subject)
        rng = night_rng(0, subject, 1, "hypnogram")
        hyp = simulate_hypnogram(960, params, night_params(params, 1, rng), rng)
        fractions.append(list(stage_fractions(hyp.stages).values()))
        assert set(hyp.rk_stages) <= set(RK_LABELS)
        assert hyp.stages[0] == W and hyp.stages[hyp.sleep_onset] != W
        assert 10 <= hyp.sleep_onset <= 60  # sleep latency 5-30 min
    w, n1, n2, n3, rem = np.mean(fractions, axis=0)
    assert 0.05 <= w <= 0.16
    assert 0.025 <= n1 <= 0.08
    assert 0.40 <= n2 <= 0.56
    assert 0.12 <= n3 <= 0.22
    assert 0.18 <= rem <= 0.27


def test_stage_architecture(full_night):
    st = full_night.stages
    frac = stage_fractions(st)
    assert 0.04 <= frac["W"] <= 0.18 and 0.02 <= frac["N1"] <= 0.09
    assert 0.38 <= frac["N2"] <= 0.58 and 0.07 <= frac["N3"] <= 0.26 and 0.15 <= frac["REM"] <= 0.30
    half = st.size // 2
    assert (st[:half] == N3).sum() > 2 * (st[half:] == N3).sum()
    assert (st[half:] == REM).sum() > 1.5 * (st[:half] == REM).sum()
    assert st[-1] == W
    rk = np.array(full_night.rk_stages)
    assert {"Sleep stage 3", "Sleep stage 4"} <= set(rk)
    assert full_night.depth[rk == "Sleep stage 4"].min() > full_night.depth[rk == "Sleep stage 3"].max()
    # REM episodes (REM epochs less than 15 min apart) lengthen over the night
    rem = np.flatnonzero(st == REM)
    episodes = [e.size for e in np.split(rem, np.flatnonzero(np.diff(rem) > 30) + 1)]
    assert len(episodes) >= 3 and episodes[0] < max(episodes[1:])


def test_scoring_is_a_noisy_reading_of_the_state():
    """The hypnogram agrees with the physiological state like a human scorer (most errors at transitions)."""
    agree, near_err, far_err, per_stage = [], [], [], np.zeros((2, 5))
    for subject in range(8):
        params = draw_subject_params(0, subject)
        rng = night_rng(0, subject, 1, "hypnogram")
        hyp = simulate_hypnogram(960, params, night_params(params, 1, rng), rng, night_rng(0, subject, 1, "scorer"))
        assert hyp.state.shape == hyp.stages.shape and hyp.state.dtype == np.int8
        ok = hyp.stages == hyp.state
        agree.append(ok.mean())
        change = np.zeros(hyp.n_epochs, dtype=bool)
        change[1:] = hyp.state[1:] != hyp.state[:-1]
        near = change | np.roll(change, -1) | np.roll(change, 1)
        near_err.append(1 - ok[near].mean())
        far_err.append(1 - ok[~near].mean())
        for s in range(5):
            per_stage[:, s] += ((hyp.state == s) & ok).sum(), (hyp.state == s).sum()
    assert 0.8 <= np.mean(agree) <= 0.95
    assert np.mean(near_err) > 3 * np.mean(far_err)
    recall = per_stage[0] / per_stage[1]
    assert recall.argmin() == N1 and recall[N1] < 0.75  # N1 is the stage scorers agree on least


def test_signals_follow_the_state(full_night):
    assert full_night.state is not None and full_night.state.shape == full_night.stages.shape
    assert 0.8 <= np.mean(full_night.state == full_night.stages) < 1.0
    delta = _relative_power(full_night, "EEG Fpz-Cz", 0.5, 4.0)
    by_state = _median_by_stage(delta, full_night.state)
    assert by_state[N3] > by_state[N2] > by_state[W]


def test_subject_traits_vary():
    params = [draw_subject_params(0, s) for s in range(20)]
    gain = np.array([p.eeg_gain[0] for p in params])
    assert gain.max() / gain.min() > 2.0  # amplitude differs by more than a factor 2 between subjects
    alpha = np.array([p.alpha_amp for p in params])
    assert alpha.min() < 6.0 and alpha.max() > 15.0  # some subjects have weak alpha
    assert np.ptp([p.alpha_freq for p in params]) > 2.0
    assert np.ptp([p.spindle_density for p in params]) > 3.0


# ---- physiology ----------------------------------------------------------------------------------
def test_eeg_band_powers_follow_stages(full_night):
    st = full_night.stages
    delta = _median_by_stage(_relative_power(full_night, "EEG Fpz-Cz", 0.5, 4.0), st)
    sigma = _median_by_stage(_relative_power(full_night, "EEG Fpz-Cz", 11.0, 16.0), st)
    alpha = _median_by_stage(_relative_power(full_night, "EEG Pz-Oz", 8.0, 12.0), st)
    theta = _median_by_stage(_relative_power(full_night, "EEG Fpz-Cz", 4.0, 8.0), st)
    assert delta[N3] > delta[N2] > delta[W]
    assert sigma[N2] > sigma[N3] and sigma[N2] > sigma[REM]
    assert alpha[W] > alpha[N2] and alpha[W] > alpha[N3]
    assert theta[N1] > theta[N2] and theta[REM] > theta[N2]


def test_within_stage_variability(full_night):
    """Stages overlap: light N3 borders deep N2, and N2 epochs range from no to many spindles."""
    st = full_night.stages
    delta = _relative_power(full_night, "EEG Fpz-Cz", 0.5, 4.0)
    assert np.percentile(delta[st == N3], 10) < np.percentile(delta[st == N2], 90)
    sigma = _relative_power(full_night, "EEG Fpz-Cz", 11.0, 16.0)[st == N2]
    assert np.percentile(sigma, 90) > 2.5 * np.percentile(sigma, 10)
    alpha = _relative_power(full_night, "EEG Pz-Oz", 8.0, 12.0)
    assert np.percentile(alpha[st == W], 25) < np.percentile(alpha[st == N1], 75)  # eyes-open wake, alpha in N1


def test_slow_wave_amplitude(full_night):
    x, _ = _epochs(full_night, "EEG Fpz-Cz")
    p2p = (np.percentile(x, 99, axis=1) - np.percentile(x, 1, axis=1)) * 1e6
    rk = np.array(full_night.rk_stages)
    assert np.median(p2p[rk == "Sleep stage 3"]) > 75.0
    assert np.median(p2p[rk == "Sleep stage 4"]) > np.median(p2p[rk == "Sleep stage 3"])
    assert np.median(p2p[rk == "Sleep stage 2"]) < np.median(p2p[rk == "Sleep stage 3"])


def test_emg_and_eog_follow_stages(full_night):
    st = full_night.stages
    emg, _ = _epochs(full_night, "EMG submental")
    rms = _median_by_stage(np.sqrt((emg**2).mean(axis=1)), st)
    assert rms[W] > rms[N2] > rms[REM]
    eog, _ = _epochs(full_night, "EOG horizontal")
    sd = _median_by_stage(eog.std(axis=1), st)
    assert sd[REM] > sd[N2] and sd[W] > sd[N2]


def test_heart_rate_from_ecg(full_night):
    x, fs = full_night.signals["ECG"]
    y = sosfiltfilt(butter(3, [5.0, 30.0], "band", fs=fs, output="sos"), x)
    peaks, _ = find_peaks(y, distance=int(0.33 * fs), height=0.4 * np.percentile(y, 99.9))
    assert abs(peaks.size - full_night.beat_times.size) < 0.02 * full_night.beat_times.size
    t = peaks / fs
    hr = 60.0 / np.diff(t)
    epoch = (t[1:] // 30).astype(int)
    per_epoch = np.bincount(epoch, hr, minlength=full_night.n_epochs) / np.maximum(
        np.bincount(epoch, minlength=full_night.n_epochs), 1
    )
    st = full_night.stages[: per_epoch.size]
    med = _median_by_stage(per_epoch, st)
    assert med[W] > med[N3] + 3.0
    assert med[REM] > med[N3]
    assert 40.0 < med[N2] < 90.0
