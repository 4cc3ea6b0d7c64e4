"""Real files read right: each case here was read silently wrong (or crashed) before, and is now read
as MNE reads it or refused with a clear message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from neurorep.cli import main
from neurorep.data.readers.edf import align_annotations, describe_edf, read_annotations_edf, read_edf
from neurorep.data.recording import Annotations
from neurorep.data.windows import PrepareConfig, make_windows
from neurorep.errors import DataError
from tests.conftest import SHARED_DATA
from tests.data.edf_writer import EdfSpec, Sig, tal, write

RNG = np.random.default_rng(0)


def _sig(label: str, spr: int, n_records: int, unit: bytes = b"uV") -> Sig:
    return Sig(label, RNG.integers(-3000, 3000, spr * n_records), spr, unit=unit)


def _mne(path: Path):  # type: ignore[no-untyped-def]
    import mne

    read = mne.io.read_raw_bdf if path.suffix == ".bdf" else mne.io.read_raw_edf
    return read(path, preload=True, verbose="error")


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_sleep_edf_layout_reads_eeg_not_the_many_slow_channels(tmp_path: Path, suffix: str) -> None:
    """Two EEG/EOG channels at 100 Hz and four at 1 Hz (Sleep-EDF): the EEG is the data."""
    sigs = [_sig("EEG Fpz-Cz", 100, 30), _sig("EOG horizontal", 100, 30)]
    sigs += [_sig(n, 1, 30, unit=b"") for n in ("Resp oro-nasal", "EMG submental", "Temp rectal", "Event marker")]
    path = write(tmp_path / f"psg{suffix}", EdfSpec(sigs, 30, bdf=suffix == ".bdf"))
    rec = read_edf(path)
    assert rec.ch_names == ["EEG Fpz-Cz", "EOG horizontal"] and rec.sfreq == 100 and rec.n_times == 3000
    assert sorted(rec.extra) == ["EMG submental", "Event marker", "Resp oro-nasal", "Temp rectal"]
    assert all(sf == 1.0 and len(x) == 30 for x, sf in rec.extra.values())
    both = read_edf(path, channels=["EEG Fpz-Cz", "Resp oro-nasal"])  # two rates: works, at the higher
    assert both.sfreq == 100 and both.data.shape == (2, 3000)
    rows = {r["channel"]: r["sfreq"] for r in describe_edf(path)["channels_table"]}  # type: ignore[union-attr]
    assert rows == {"EEG Fpz-Cz": 100, "EOG horizontal": 100, "Resp oro-nasal": 1, "EMG submental": 1,
                    "Temp rectal": 1, "Event marker": 1}


@pytest.mark.parametrize("unit,factor", [(b"\xb5V", 1e-6), (b"\xc2\xb5V", 1e-6), (b"\xce\xbcV", 1e-6),
                                         (b"\x83\xcaV", 1e-6), (b"uV", 1e-6), (b"UV", 1e-6), (b"mV", 1e-3),
                                         (b"V", 1.0), (b"nV", 1e-9)])
def test_every_micro_volt_spelling_is_scaled(tmp_path: Path, unit: bytes, factor: float) -> None:
    sig = Sig("EEG Cz", np.array([1000, -2000, 3000, 0] * 25), 100, unit=unit)
    path = write(tmp_path / "u.edf", EdfSpec([sig], 1))
    rec = read_edf(path)
    step = 6553.5 / 65535
    np.testing.assert_allclose(rec.data[0], sig.digital * step * factor, rtol=1e-6)
    assert not rec.unknown_units
    if unit in (b"\xb5V", b"uV", b"mV"):  # spellings MNE scales: same numbers
        np.testing.assert_allclose(rec.data[0], _mne(path).get_data()[0], rtol=1e-6)


def test_unknown_unit_warns_in_info_and_is_refused_by_prepare_unless_assumed(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "u.edf", EdfSpec([_sig("EEG Cz", 100, 40, unit=b"")], 40))
    rec = read_edf(path)
    assert rec.unknown_units == {"EEG Cz": ""}
    info = describe_edf(path)
    assert any("EEG Cz: unit '' is not a voltage" in w for w in info["warnings"])  # type: ignore[union-attr]
    cfg = PrepareConfig(window_s=10, keep_unlabelled=True, trim_wake_min=None)
    with pytest.raises(DataError, match=r"u.edf: channels without a voltage unit: EEG Cz \(''\); set assume_unit"):
        make_windows(rec, cfg)
    ok = make_windows(rec, cfg.model_copy(update={"assume_unit": "uV", "scaling": "none", "l_freq": None,
                                                   "h_freq": None, "sfreq": None}))
    np.testing.assert_allclose(ok.x[0, 0], rec.data[0, :1000] * 1e-6, rtol=1e-6)
    assert main(["data", "prepare", str(path), "--out", str(tmp_path / "c"), "--dataset", "edf",
                 "--keep-unlabelled", "--window", "10"]) == 2
    assert "set assume_unit (--assume-unit)" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())
    assert main(["data", "prepare", str(path), "--out", str(tmp_path / "c"), "--dataset", "edf",
                 "--keep-unlabelled", "--window", "10", "--assume-unit", "uV"]) == 0


def _gapped(tmp_path: Path, suffix: str = ".edf") -> Path:
    """EDF+D: 6 records of 10 s at 0, 10, 20, then 50, 60, 70 s (a 20-s gap); labels at 5 s and 55 s."""
    onsets = [0, 10, 20, 50, 60, 70]
    tals = [tal(t) for t in onsets]
    tals[0] += tal(5, ["before gap"], 1.0)
    tals[3] += tal(55, ["after gap"], 2.0)
    x = np.arange(6 * 1000) % 2000 - 1000
    return write(tmp_path / f"gap{suffix}", EdfSpec([Sig("EEG Cz", x, 1000)], 6, record_duration=10.0,
                                                     reserved=b"BDF+D" if suffix == ".bdf" else b"EDF+D",
                                                     tals=tals, bdf=suffix == ".bdf"))


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_edf_plus_d_reads_as_segments_with_true_annotation_times(tmp_path: Path, suffix: str) -> None:
    rec = read_edf(_gapped(tmp_path, suffix))
    assert rec.segments == [(0.0, 0, 3000), (50.0, 3000, 3000)]
    assert rec.gaps == [(30.0, 20.0)] and rec.end_time == 80.0
    assert list(rec.annotations.description) == ["before gap", "after gap"]
    np.testing.assert_allclose(rec.annotations.onset, [5.0, 55.0])  # not 35 s as if the records were joined
    info = describe_edf(rec.source)
    assert info["gaps"] == [{"at_s": 30.0, "length_s": 20.0}]


def test_windows_never_straddle_a_gap(tmp_path: Path) -> None:
    rec = read_edf(_gapped(tmp_path))
    cfg = PrepareConfig(window_s=20, keep_unlabelled=True, trim_wake_min=None, sfreq=None, l_freq=None,
                        h_freq=None, scaling="none")
    w = make_windows(rec, cfg)
    np.testing.assert_allclose(w.onset, [0.0, 60.0])  # [20, 40) and [40, 60) touch the gap
    np.testing.assert_allclose(w.x[1, 0], rec.data[0, 3000 + 1000: 3000 + 3000], rtol=1e-6)


def test_overlapping_edf_plus_records_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "o.edf", EdfSpec([Sig("EEG Cz", np.zeros(200), 100)], 2, reserved=b"EDF+D",
                                             tals=[tal(0), tal(0.5)]))
    with pytest.raises(DataError, match="o.edf: data record 2 starts at 0.500000 s, before record 1 ends"):
        read_edf(path)


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_trigger_channels_hold_codes_not_volts(tmp_path: Path, suffix: str) -> None:
    codes = np.array([0, 4096, 0, 3, 255, 0] * 50)
    trig = Sig("Status", codes, 100, unit=b"uV", physical=(-32768, 32767) if suffix == ".edf" else (-8388608, 8388607),
               digital_range=(-32768, 32767) if suffix == ".edf" else (-8388608, 8388607))
    path = write(tmp_path / f"t{suffix}", EdfSpec([_sig("EEG Cz", 100, 3), trig], 3, bdf=suffix == ".bdf"))
    rec = read_edf(path)
    assert rec.ch_types == ["eeg", "stim"]
    np.testing.assert_array_equal(rec.data[1], codes)  # 4096, not 0.004096 V
    np.testing.assert_array_equal(rec.data[1], _mne(path).get_data(picks=["Status"])[0])
    cfg = PrepareConfig(window_s=1, keep_unlabelled=True, trim_wake_min=None, sfreq=50)
    w = make_windows(rec, cfg)  # never band-passed or scaled; held when resampled
    assert set(np.unique(w.x[:, 1])) <= {0, 3, 255, 4096}


def test_duplicate_labels_are_made_unique_like_mne(tmp_path: Path) -> None:
    sigs = [_sig("EEG F1-Ref", 100, 2), _sig("EEG F2-Ref", 100, 2), _sig("EEG F1-Ref", 100, 2)]
    path = write(tmp_path / "d.edf", EdfSpec(sigs, 2))
    rec = read_edf(path)
    assert rec.ch_names == ["EEG F1-Ref-0", "EEG F2-Ref", "EEG F1-Ref-1"] == _mne(path).ch_names
    assert any("appears 2 times" in n for n in rec.notes)
    with pytest.raises(DataError, match=r"channel 'EEG F1-Ref' appears 2 times in the file; ask for one of "
                                        r"EEG F1-Ref-0, EEG F1-Ref-1"):
        read_edf(path, channels=["EEG F1-Ref"])
    np.testing.assert_array_equal(read_edf(path, channels=["eeg f1-ref-1"]).data, rec.data[2:3])


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_annotation_only_files_are_described_not_crashed_on(tmp_path: Path, suffix: str, capsys) -> None:  # type: ignore[no-untyped-def]
    stages = [tal(0), tal(0, ["Sleep stage W"], 60.0) + tal(60, ["Sleep stage 2"], 30.0)]
    path = write(tmp_path / f"SC4001EC-Hypnogram{suffix}", EdfSpec([], 1, record_duration=0, reserved=b"EDF+C",
                                                                   tals=stages[1:], bdf=suffix == ".bdf"))
    with pytest.raises(DataError, match="holds no signals, only annotations"):
        read_edf(path)
    ann = read_annotations_edf(path)
    assert list(ann.description) == ["Sleep stage W", "Sleep stage 2"]
    assert main(["data", "info", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"kind": "hypnogram"' in out and '"N2": 1' in out


def test_hypnogram_starting_later_is_shifted_and_one_of_another_night_refused() -> None:
    rec_start = dt.datetime(2020, 1, 1, 22, 0, 0)
    from neurorep.data.recording import Recording

    rec = Recording(np.zeros((1, 100 * 3600), np.float32), 100.0, ["EEG Cz"], ["eeg"], meas_date=rec_start, source="p")
    later = Annotations([0.0], [30.0], ["Sleep stage W"], orig_time=rec_start + dt.timedelta(seconds=90))
    shifted = align_annotations(rec, later, "h.edf")
    np.testing.assert_allclose(shifted.onset, [90.0])
    assert any("start +90 s" in n for n in rec.notes)
    other = Annotations([0.0], [30.0], ["Sleep stage W"], orig_time=rec_start + dt.timedelta(days=1))
    with pytest.raises(DataError, match=r"h.edf: its start time .* outside the recording"):
        align_annotations(rec, other, "h.edf")
    same = Annotations([0.0], [30.0], ["Sleep stage W"], orig_time=rec_start)
    assert align_annotations(rec, same, "h.edf") is same


def test_sleep_edf_pair_with_a_later_hypnogram_is_aligned_in_prepare(tmp_path: Path) -> None:
    """A PSG starting at 04.05.06 and a hypnogram starting 60 s later: stages move by 60 s."""
    from neurorep.data.sources import get_source

    folder = tmp_path / "s"
    folder.mkdir()
    write(folder / "SC4001E0-PSG.edf", EdfSpec([_sig("EEG Fpz-Cz", 100, 10 * 30), _sig("EEG Pz-Oz", 100, 10 * 30)],
                                               10, record_duration=30.0))
    hyp = [tal(0) + tal(0, ["Sleep stage W"], 60.0) + tal(60, ["Sleep stage 2"], 120.0)]
    write(folder / "SC4001EC-Hypnogram.edf", EdfSpec([], 1, record_duration=0, reserved=b"EDF+C", tals=hyp,
                                                     start=(b"01.02.03", b"04.06.06")))
    src, items = get_source("auto", folder)
    rec = src.load(items[0], None)
    np.testing.assert_allclose(rec.annotations.onset, [60.0, 120.0])


def test_slpdb_movement_code_m_is_dropped_not_fatal(tmp_path: Path) -> None:
    from neurorep.data.readers.slpdb import read_slpdb_annotations

    an = tmp_path / "slp99.an"
    rows = ["Elapsed time  Sample #  Type  Sub Chan  Num\tAux"]
    for k, code in enumerate(["W", "1", "M", "2", "MT", "R"]):
        rows.append(f"    0:{k * 30:02d}.000      {k * 7500 + 1}     \"    0    0    0\t{code}")
    an.write_text("\n".join(rows) + "\n")
    ann = read_slpdb_annotations(an)
    assert list(ann.description).count("Movement time") == 2


@pytest.mark.real_data
def test_peer_files_read_as_mne_reads_them() -> None:
    from tests.data.edf_parity import compare_file

    files = sorted(p for p in (SHARED_DATA / "peer-edf").rglob("*") if p.suffix in (".edf", ".bdf"))
    assert len(files) == 22
    problems = {p.name: compare_file(p) for p in files}
    assert not {k: v for k, v in problems.items() if v}


@pytest.mark.real_data
def test_info_and_prepare_agree_on_real_layouts(tmp_path: Path) -> None:
    from neurorep.data.cache import prepare
    from neurorep.data.info import describe_path

    for name in ("dreams", "slpdb"):
        info = describe_path(SHARED_DATA / name)
        counts = info["windows (30 s, as prepare makes them)"]
        cache = prepare(SHARED_DATA / name, tmp_path / name, progress=False).cache
        assert cache.info.label_counts == counts, name
    slp = prepare(SHARED_DATA / "slpdb", tmp_path / "slpdb", progress=False).cache
    assert slp.info.sfreq == 4.0 and slp.info.n_times == 120  # heart rate: not resampled to 100 Hz


def test_dreams_text_export_is_read(tmp_path: Path) -> None:
    from neurorep.data.readers import read_recording
    from neurorep.data.sources import get_source

    x = np.round(RNG.normal(0, 30, 1800 * 50), 4)
    (tmp_path / "excerpt3.txt").write_text("[C3-A1]\r\n" + "\r\n".join(f"{v:.4f}" for v in x) + "\r\n")
    (tmp_path / "Hypnogram_excerpt3.txt").write_text("[Hypnogram]\r\n" + "\r\n".join(["5"] * 120 + ["2"] * 240) + "\r\n")
    rec = read_recording(tmp_path / "excerpt3.txt")
    assert rec.ch_names == ["C3-A1"] and rec.sfreq == 50.0
    np.testing.assert_allclose(rec.data[0], x * 1e-6, rtol=1e-6)
    src, items = get_source("auto", tmp_path)
    assert src.name == "dreams" and len(items) == 1
    assert src.load(items[0], None).annotations.end == 1800.0
    (tmp_path / "odd.txt").write_text("hello\n1\n")
    with pytest.raises(DataError, match="odd.txt: expected a DREAMS signal export"):
        read_recording(tmp_path / "odd.txt")


@pytest.mark.real_data
def test_no_command_prints_a_traceback_on_any_shared_file(capsys) -> None:  # type: ignore[no-untyped-def]
    paths = [p for p in SHARED_DATA.rglob("*") if p.is_file() and p.suffix.lower() != ".md"
             and "LICENSE" not in p.name]
    paths += [p for p in SHARED_DATA.iterdir() if p.is_dir()]
    for p in sorted(paths):
        code = main(["data", "info", str(p), "--json"])
        err = capsys.readouterr().err
        assert code in (0, 2), p
        assert "Traceback" not in err and (code == 0 or len(err.strip().splitlines()) == 1), (p, err)


@pytest.mark.parametrize("layout", ["sleep-edf", "mass", "mass-ihr"])
def test_info_and_prepare_agree_on_simulated_layouts(tmp_path: Path, sleep_folder: Path, layout: str) -> None:
    from neurorep.data.cache import prepare
    from neurorep.data.info import describe_path
    from neurorep.data.corpora import simulate

    folder = sleep_folder
    if layout != "sleep-edf":
        folder = tmp_path / "mass"
        simulate("mass", folder, n_subjects=1, seed=3, hours=0.5, progress=False)
    from neurorep.data.sources import get_source

    src = get_source(layout, folder)[0]
    if layout == "mass-ihr":  # info describes a folder by its detected layout; check the heart-rate labels directly
        from neurorep.data.info import window_counts

        cfg = PrepareConfig(**src.prepare_defaults)
        expected: dict[str, int] = {}
        for item in src.discover(folder):
            ann, end = src.labels(item)
            for k, v in window_counts(ann, end, cfg, "x").items():
                expected[k] = expected.get(k, 0) + v
    else:
        expected = describe_path(folder)["windows (30 s, as prepare makes them)"]
    cache = prepare(folder, tmp_path / "cache", dataset=layout, progress=False).cache
    assert cache.info.label_counts == expected and sum(expected.values()) > 0


@pytest.mark.real_data
def test_prepare_prints_no_traceback_on_any_shared_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    for k, folder in enumerate(sorted(p for p in SHARED_DATA.iterdir() if p.is_dir())):
        if folder.name == "ssvep-exo":
            continue  # FIF: read by the generic data path, not by these layouts
        code = main(["data", "prepare", str(folder), "--out", str(tmp_path / f"c{k}"), "--jobs", "1"])
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err, (folder, err)


def test_file_and_folder_info_give_one_subject_id(sleep_folder: Path) -> None:
    from neurorep.data.info import describe_path

    folder = describe_path(sleep_folder)["recordings_table"]
    for row in folder:
        one = describe_path(sleep_folder / row["recording"])
        assert (one["subject"], one["session"]) == (row["subject"], row["session"])
