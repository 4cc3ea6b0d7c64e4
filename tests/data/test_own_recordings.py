"""Bring your own recordings: folders of FIF, BrainVision, EEGLAB, EDF+ and BIDS, written here through
MNE / mne-bids, prepared through the command line and summarised by ``data info --json``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mne
import numpy as np
import pytest

from neurorep.cli import main

mne.set_log_level("ERROR")
CHANNELS = ["Cz", "Pz", "Oz"]
SFREQ = 100.0
#: Event onsets (s) and codes of every written recording: 3 of class 1, 2 of class 2.
ONSETS = [2.0, 6.0, 10.0, 14.0, 18.0]
CODES = [1, 2, 1, 2, 1]


def _raw(seed: int, seconds: float = 24.0, channels: list[str] = CHANNELS, annotate: bool = True) -> mne.io.RawArray:
    rng = np.random.default_rng(seed)
    raw = mne.io.RawArray(rng.standard_normal((len(channels), int(seconds * SFREQ))) * 1e-5,
                          mne.create_info(channels, SFREQ, "eeg"))
    if annotate:
        names = {1: "left", 2: "right"}
        raw.set_annotations(mne.Annotations(ONSETS, [0.0] * len(ONSETS), [names[c] for c in CODES]))
    return raw


def _write_fif(folder: Path, n_subjects: int = 2, channels: list[str] = CHANNELS) -> Path:
    for s in range(n_subjects):
        sub = folder / f"sub{s + 1:02d}"
        sub.mkdir(parents=True)
        raw = _raw(s, channels=channels, annotate=False)
        raw.save(sub / "run1_raw.fif")
        events = np.array([[int(o * SFREQ), 0, c] for o, c in zip(ONSETS, CODES, strict=True)])
        mne.write_events(sub / "run1-eve.fif", events)
    return folder


def _export(folder: Path, fmt: str, ending: str, n_subjects: int = 2) -> Path:
    for s in range(n_subjects):
        sub = folder / f"sub{s + 1:02d}"
        sub.mkdir(parents=True)
        mne.export.export_raw(sub / f"run1{ending}", _raw(s), fmt=fmt)
    return folder


def _write_bids(root: Path, events: bool = True) -> Path:
    import mne_bids

    for s, fmt in ((1, "BrainVision"), (2, "EDF")):
        raw = _raw(s, annotate=events)
        bp = mne_bids.BIDSPath(subject=f"{s:02d}", session="a", task="motor", run=1, datatype="eeg", root=root)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "No events found", RuntimeWarning)  # the case written on purpose
            mne_bids.write_raw_bids(raw, bp, allow_preload=True, format=fmt, verbose=False)
    return root


def _prepare(capsys: pytest.CaptureFixture[str], source: Path, out: Path, *options: str) -> dict:
    assert main(["data", "prepare", str(source), "--out", str(out), *options]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["data", "info", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


EVENT_LOCKED = ["--tmin", "0.5", "--tmax", "2.5"]


def _check_event_locked(info: dict, subjects: list[str], n_subjects: int = 2) -> None:
    assert info["n_windows"] == 5 * n_subjects
    assert info["classes"] == {"left": 3 * n_subjects, "right": 2 * n_subjects}
    assert info["subjects"] == subjects
    assert info["ch_names"] == CHANNELS and info["sfreq"] == SFREQ and info["n_times"] == 200


def test_fif_folder_with_eve_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif")
    info = _prepare(capsys, src, tmp_path / "cache", "--events", "left=1,right=2", *EVENT_LOCKED)
    _check_event_locked(info, ["sub01", "sub02"])
    assert info["dataset"] == "files" and info["sessions"] == ["sub01/run1", "sub02/run1"]


@pytest.mark.parametrize("fmt,ending,codes", [("brainvision", ".vhdr", "left=left,right=right"),
                                              ("eeglab", ".set", "left=left,right=right"),
                                              ("edf", ".edf", "left=left,right=right")])
def test_exported_formats_with_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, ending: str,
                                           codes: str) -> None:
    src = _export(tmp_path / fmt, fmt, ending)
    info = _prepare(capsys, src, tmp_path / "cache", "--format", fmt, "--events", codes, *EVENT_LOCKED)
    _check_event_locked(info, ["sub01", "sub02"])


def test_bids_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _write_bids(tmp_path / "bids")
    info = _prepare(capsys, root, tmp_path / "cache", "--events", "left=left,right=right", *EVENT_LOCKED)
    _check_event_locked(info, ["01", "02"])
    assert info["dataset"] == "bids" and info["sessions"] == ["01/a", "02/a"]
    # the codes of the value column work as well
    by_value = _prepare(capsys, root, tmp_path / "cache2", "--format", "bids", "--events", "left=1,right=2",
                        *EVENT_LOCKED)
    assert by_value["classes"] == {"left": 6, "right": 4}


def test_event_windows_match_mne_epochs(tmp_path: Path) -> None:
    """Without filter and scaling, each window is MNE's epoch of the same event (256 samples)."""
    from neurorep.data.cache import prepare
    from neurorep.data.windows import PrepareConfig

    src = _write_fif(tmp_path / "fif", n_subjects=1)
    cfg = PrepareConfig(events=[("left", "1"), ("right", "2")], tmin=-0.5, tmax=1.5, sfreq=None, l_freq=None,
                        h_freq=None, scaling="none")
    cache = prepare(src, tmp_path / "cache", dataset="files", cfg=cfg, progress=False).cache
    raw = mne.io.read_raw_fif(src / "sub01" / "run1_raw.fif")
    epochs = mne.Epochs(raw, mne.read_events(src / "sub01" / "run1-eve.fif"), tmin=-0.5, tmax=1.5 - 1 / SFREQ,
                        baseline=None, preload=True)
    np.testing.assert_allclose(cache.windows(0), epochs.get_data(), rtol=1e-5, atol=1e-12)
    assert cache.meta["y"].tolist() == [c - 1 for c in CODES]
    np.testing.assert_allclose(cache.meta["onset"], np.array(ONSETS) - 0.5)


def test_events_too_close_to_the_edge_are_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif", n_subjects=1)
    info = _prepare(capsys, src, tmp_path / "cache", "--events", "left=1,right=2", "--tmin", "-2.5", "--tmax", "0")
    assert info["n_windows"] == 4  # the event at 2 s would start at -0.5 s
    cache = next(p for p in (tmp_path / "cache").iterdir())
    rec = json.loads((cache / "info.json").read_text())["recordings"][0]
    assert rec["dropped"] == {"1 (window outside the recording)": 1}


def test_keep_unlabelled_adds_windows_between_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif", n_subjects=1)
    info = _prepare(capsys, src, tmp_path / "cache", "--events", "left=1,right=2", "--tmin", "0", "--tmax", "2",
                    "--keep-unlabelled")
    # events hold [2,4), [6,8), ... [18,20) of 24 s; the gaps fit 1+1+1+1+1+2 windows of 2 s
    assert info["classes"] == {"left": 3, "right": 2} and info["unlabelled"] == 7


def test_fixed_windows_voted_over_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "edf" / "s1"
    src.mkdir(parents=True)
    raw = _raw(0, seconds=20.0, annotate=False)
    raw.set_annotations(mne.Annotations([0.0, 8.0], [8.0, 12.0], ["rest", "task"]))
    mne.export.export_raw(src / "r.edf", raw, fmt="edf")
    info = _prepare(capsys, src.parent, tmp_path / "c1", "--events", "rest=rest,task=task", "--window", "4",
                    "--stride", "2")
    # windows start at 0, 2, ..., 16; [6, 10) is half rest, half task: the coverage vote keeps the first
    # class reaching half the window (rest)
    assert info["n_windows"] == 9 and info["classes"] == {"rest": 4, "task": 5} and info["n_times"] == 400


def test_labels_from_path_and_subject_regex(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    for s in (1, 2):
        for label in ("open", "closed"):
            _raw(s * 10 + len(label), seconds=8.0, annotate=False).save(folder / f"s{s}_{label}_raw.fif")
    info = _prepare(capsys, folder, tmp_path / "cache", "--label-from-path", r"_(?P<label>open|closed)_",
                    "--subject-from-path", r"^s(?P<subject>\d+)_", "--window", "2")
    assert info["classes"] == {"closed": 8, "open": 8} and info["subjects"] == ["1", "2"]


def test_labels_from_csv_with_and_without_onsets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif")
    table = tmp_path / "labels.csv"
    table.write_text("file,label\nsub01/run1_raw.fif,good\nsub02/run1_raw.fif,bad\n")
    info = _prepare(capsys, src, tmp_path / "c1", "--labels-csv", str(table), "--window", "4")
    assert info["classes"] == {"bad": 6, "good": 6}
    timed = tmp_path / "timed.csv"
    timed.write_text("file,onset,label\nsub01/run1_raw.fif,3,a\nsub01/run1_raw.fif,9,b\nsub02/run1_raw.fif,5,a\n")
    info = _prepare(capsys, src, tmp_path / "c2", "--labels-csv", str(timed), "--tmin", "0", "--tmax", "1")
    assert info["classes"] == {"a": 2, "b": 1} and info["n_times"] == 100


# ---- bad input: exit 2, one line naming the file or option, nothing written -------------------------

def _refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path, *options: str) -> str:
    out = tmp_path / "refused-cache"
    capsys.readouterr()
    assert main(["data", "prepare", str(source), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not out.exists()
    return err


def test_unknown_event_code_lists_the_codes_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif")
    err = _refused(capsys, tmp_path, src, "--events", "left=1,right=7", *EVENT_LOCKED)
    assert "--events" in err and "7" in err and "codes found: 1, 2" in err


def test_regex_without_its_named_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif")
    err = _refused(capsys, tmp_path, src, "--label-from-path", r"(sub\d+)")
    assert "--label-from-path" in err and "'label'" in err
    err = _refused(capsys, tmp_path, src, "--events", "left=1", "--subject-from-path", r"sub(\d+)")
    assert "--subject-from-path" in err and "'subject'" in err


def test_subject_missing_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif")
    err = _refused(capsys, tmp_path, src, "--events", "left=1", "--subject-from-path", r"^sub(?P<subject>01)/")
    assert "sub02" in err and "run1_raw.fif" in err and "subject missing" in err


def test_channels_that_differ_name_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif", n_subjects=1)
    _write_fif(tmp_path / "other", n_subjects=1, channels=["Cz", "Pz", "O1"])
    (tmp_path / "other" / "sub01").rename(src / "sub02")
    err = _refused(capsys, tmp_path, src, "--events", "left=1", *EVENT_LOCKED)
    assert "sub02/run1_raw.fif" in err and "sub01/run1_raw.fif" in err and "lacks Oz" in err and "extra O1" in err
    err = _refused(capsys, tmp_path, src, "--events", "left=1", "--channels", "Cz,Oz", *EVENT_LOCKED)
    assert "sub02/run1_raw.fif" in err and "Oz" in err


def test_window_longer_than_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif", n_subjects=1)
    err = _refused(capsys, tmp_path, src, "--events", "left=1", "--window", "30")
    assert "run1_raw.fif" in err and "--window" in err and "24 s" in err


def test_bids_folder_without_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _write_bids(tmp_path / "bids", events=False)
    err = _refused(capsys, tmp_path, root, "--events", "left=left", *EVENT_LOCKED)
    assert "sub-01_ses-a_task-motor_run-1_eeg.vhdr" in err and "events.tsv" in err


def test_unreadable_recording_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_fif(tmp_path / "fif", n_subjects=1)
    (src / "sub01" / "broken_raw.fif").write_bytes(b"not a fif file at all")
    err = _refused(capsys, tmp_path, src, "--events", "left=1", *EVENT_LOCKED)
    assert "broken_raw.fif" in err and "unreadable" in err
    (src / "sub01" / "broken_raw.fif").unlink()
    assert "--tmax" in _refused(capsys, tmp_path, src, "--events", "left=1", "--tmin", "1", "--tmax", "0.5")
    assert "--tmin and --tmax" in _refused(capsys, tmp_path, src, "--events", "left=1", "--tmin", "1")
    assert "--events" in _refused(capsys, tmp_path, src, "--events", "left1", *EVENT_LOCKED)
    assert "no labels" in _refused(capsys, tmp_path, src, "--format", "fif")
    table = tmp_path / "l.csv"
    table.write_text("file,label\nnowhere.fif,a\n")
    assert "nowhere.fif" in _refused(capsys, tmp_path, src, "--labels-csv", str(table), "--window", "4")


# ---- Sleep-EDF-style pairing for any prefix ----------------------------------------------------------

def test_psg_hypnogram_pairing_for_any_prefix(tmp_path: Path) -> None:
    from neurorep.data.readers.edf import pair_sleep_edf
    from neurorep.errors import DataError

    for name in ("XY7001E0-PSG.edf", "XY7001EC-Hypnogram.edf", "lab12a-PSG.edf", "lab12b-Hypnogram.edf",
                 "N3-PSG.edf", "N3-Hypnogram.edf", "XY7002E0-PSG.edf", "XY7002EH-Hypnogram.edf"):
        (tmp_path / name).write_bytes(b"")  # pairing reads names only
    pairs = {p.name: h.name for p, h in pair_sleep_edf(tmp_path)}
    assert pairs == {"XY7001E0-PSG.edf": "XY7001EC-Hypnogram.edf", "lab12a-PSG.edf": "lab12b-Hypnogram.edf",
                     "N3-PSG.edf": "N3-Hypnogram.edf", "XY7002E0-PSG.edf": "XY7002EH-Hypnogram.edf"}
    (tmp_path / "XY7003E0-PSG.edf").write_bytes(b"")  # differs from XY7001EC in its fourth-last character
    with pytest.raises(DataError, match="no \\*-Hypnogram.edf for XY7003E0-PSG.edf"):
        pair_sleep_edf(tmp_path)
    (tmp_path / "XY7003E0-PSG.edf").unlink()
    (tmp_path / "XY7001EJ-Hypnogram.edf").write_bytes(b"")
    with pytest.raises(DataError, match="2 hypnograms match it equally"):
        pair_sleep_edf(tmp_path)
