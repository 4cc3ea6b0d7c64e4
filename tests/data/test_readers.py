from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.data.readers import read_recording
from neurorep.data.readers.dreams import read_dreams_hypnogram
from neurorep.data.readers.edf import (
    infer_ch_type,
    pair_sleep_edf,
    read_annotations_edf,
    read_edf,
    subject_from_sleep_edf,
)
from neurorep.data.recording import Recording
from neurorep.errors import DataError
from tests.conftest import write_hypnogram, write_psg


def test_read_edf_values_in_volts(tmp_path: Path) -> None:
    import edfio

    x = np.linspace(-100, 100, 3000)
    edfio.Edf([edfio.EdfSignal(x, 100, label="EEG Fpz-Cz", physical_dimension="uV",
                               physical_range=(-200, 200))]).write(tmp_path / "a.edf")
    rec = read_edf(tmp_path / "a.edf")
    assert rec.data.dtype == np.float32 and rec.data.shape == (1, 3000)
    np.testing.assert_allclose(rec.data[0], x * 1e-6, atol=200e-6 / 32767 * 2)
    assert rec.ch_types == ["eeg"] and rec.sfreq == 100


def test_mixed_rates_go_to_extra_and_channel_pick(tmp_path: Path) -> None:
    write_psg(tmp_path / "p.edf", 2, ecg=True)
    rec = read_edf(tmp_path / "p.edf")
    assert rec.ch_names == ["EEG Fpz-Cz", "EEG Pz-Oz"] and "ECG" in rec.extra and rec.extra["ECG"][1] == 200
    rec2 = read_edf(tmp_path / "p.edf", channels=["eeg pz-oz"])
    assert rec2.ch_names == ["EEG Pz-Oz"]
    both = read_edf(tmp_path / "p.edf", channels=["EEG Pz-Oz", "ECG"])  # two rates: resampled to the higher
    assert both.ch_names == ["EEG Pz-Oz", "ECG"] and both.sfreq == 200
    assert any("EEG Pz-Oz resampled from 100 Hz to 200 Hz" in n for n in both.notes)
    np.testing.assert_allclose(both.data[1], rec.extra["ECG"][0], atol=1e-9)


def test_missing_channel_lists_found_and_closest(tmp_path: Path) -> None:
    write_psg(tmp_path / "p.edf", 1)
    with pytest.raises(DataError, match=r"channels are: EEG Fpz-Cz, EEG Pz-Oz \(did you mean 'EEG Fpz-Cz'\?\)"):
        read_edf(tmp_path / "p.edf", channels=["EEG Fpz-Oz"])


@pytest.mark.parametrize("content,match", [
    (b"", "not an EDF file"),
    (b"hello world, this is not an EDF" * 20, "not an EDF file"),
    (b"0       " + b"x" * 300, "corrupt EDF header"),
])
def test_malformed_bytes(tmp_path: Path, content: bytes, match: str) -> None:
    p = tmp_path / "bad.edf"
    p.write_bytes(content)
    with pytest.raises(DataError, match=match) as info:
        read_edf(p)
    assert str(p) in str(info.value)


def test_truncated_edf(tmp_path: Path) -> None:
    write_psg(tmp_path / "p.edf", 4)
    raw = (tmp_path / "p.edf").read_bytes()
    (tmp_path / "t.edf").write_bytes(raw[: len(raw) - 1000])
    with pytest.raises(DataError, match="truncated EDF"):
        read_edf(tmp_path / "t.edf")


def test_header_claiming_more_records(tmp_path: Path) -> None:
    write_psg(tmp_path / "p.edf", 2)
    raw = bytearray((tmp_path / "p.edf").read_bytes())
    raw[236:244] = b"99      "
    (tmp_path / "m.edf").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="truncated EDF"):
        read_edf(tmp_path / "m.edf")


def test_dispatcher_names_known_formats(tmp_path: Path) -> None:
    (tmp_path / "x.xyz").write_text("x")
    with pytest.raises(DataError, match=r"known formats are: \.bdf, \.cnt, \.edf, \.fif, \.gdf, .*\.set, .*\.vhdr"):
        read_recording(tmp_path / "x.xyz")


def test_hypnogram_round_trip_and_pairing(tmp_path: Path) -> None:
    write_psg(tmp_path / "SC4001E0-PSG.edf", 3)
    write_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", ["Sleep stage W", "Sleep stage W", "Sleep stage 2"])
    ann = read_annotations_edf(tmp_path / "SC4001EC-Hypnogram.edf")
    assert ann.description == ["Sleep stage W", "Sleep stage 2"]
    np.testing.assert_allclose(ann.onset, [0, 60]) and np.testing.assert_allclose(ann.duration, [60, 30])
    pairs = pair_sleep_edf(tmp_path)
    assert [(p.name, h.name) for p, h in pairs] == [("SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf")]
    assert subject_from_sleep_edf("SC4012E0-PSG.edf") == ("SC401", "2")


def test_psg_without_hypnogram_is_named(tmp_path: Path) -> None:
    write_psg(tmp_path / "SC4001E0-PSG.edf", 1)
    with pytest.raises(DataError, match="SC4001E0-PSG.edf"):
        pair_sleep_edf(tmp_path)


def test_mne_round_trip() -> None:
    rng = np.random.default_rng(0)
    rec = Recording(rng.normal(size=(2, 500)).astype(np.float32) * 1e-5, 100.0, ["Fz", "EOG"], ["eeg", "eog"])
    back = Recording.from_mne(rec.to_mne())
    np.testing.assert_allclose(back.data, rec.data, rtol=1e-6)
    assert back.ch_types == ["eeg", "eog"] and back.sfreq == 100.0


def test_infer_ch_type() -> None:
    assert [infer_ch_type(n) for n in ["EEG Fpz-Cz", "O1-A1", "EOG horizontal", "EMG submental", "EKG", "PULSE"]] == [
        "eeg", "eeg", "eog", "emg", "ecg", "misc"]


@pytest.mark.real_data
def test_real_sleep_edf_hypnograms(shared_data: Path) -> None:
    from neurorep.data.info import scoring_epochs

    def stage_epoch_counts(ann):  # type: ignore[no-untyped-def]
        return scoring_epochs(ann, 30.0)

    counts = stage_epoch_counts(read_annotations_edf(shared_data / "sleep-edf/hypnograms/SC4001EC-Hypnogram.edf"))
    assert counts == {"Sleep stage 1": 58, "Sleep stage 2": 250, "Sleep stage 3": 101, "Sleep stage 4": 119,
                      "Sleep stage ?": 230, "Sleep stage R": 125, "Sleep stage W": 1997}
    total = 0
    for f in sorted((shared_data / "sleep-edf/hypnograms").glob("*.edf")):
        ann = read_annotations_edf(f)
        assert ann.end == 86400.0
        total += sum(stage_epoch_counts(ann).values())
    assert total == 57600


@pytest.mark.real_data
def test_real_dreams(shared_data: Path) -> None:
    rec = read_edf(shared_data / "dreams/excerpt3.edf", channels=["C3-A1"])
    assert rec.sfreq == 50 and rec.n_times == 90000
    # 'UV' (upper case) is micro-volts: C3-A1 spans -204.00 .. 183.99 µV
    assert rec.data.min() == pytest.approx(-204.0e-6, abs=1e-8)
    assert rec.data.max() == pytest.approx(183.99e-6, abs=1e-8)
    full = read_edf(shared_data / "dreams/excerpt3.edf")
    assert full.n_channels == 15 and set(full.extra) == {"hypnogram", "event_pneumo", "hypnogram_aut",
                                                          "event_pneumo_aut", "event_neuro"}
    hyp = read_dreams_hypnogram(shared_data / "dreams/Hypnogram_excerpt3.txt")
    assert hyp.end == 1800.0
    # the 1-Hz hypnogram channel equals the text file at every position (5 samples per code)
    codes_txt = np.repeat([int(v) for v in (shared_data / "dreams/Hypnogram_excerpt3.txt").read_text().split()[1:]], 5)
    np.testing.assert_array_equal(np.round(full.extra["hypnogram"][0]).astype(int), codes_txt)
