"""Malformed inputs of the ``files`` and ``bids`` sources (any recording format, events, path and CSV labels)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tests.reliability.malformed import Case, case

SFREQ = 100.0


def _fif(folder: Path, name: str = "run1", channels: tuple[str, ...] = ("Cz", "Pz"), seconds: float = 10.0,
         codes: tuple[int, ...] = (1, 2, 1)) -> Path:
    import mne

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(name))
    raw = mne.io.RawArray(rng.standard_normal((len(channels), int(seconds * SFREQ))) * 1e-5,
                          mne.create_info(list(channels), SFREQ, "eeg"), verbose="error")
    raw.save(folder / f"{name}_raw.fif", verbose="error")
    mne.write_events(folder / f"{name}-eve.fif", np.array([[200 * (i + 1), 0, c] for i, c in enumerate(codes)]),
                     verbose="error")
    return folder


def _prepare(tmp: Path, source: Path, expect: list[str], *extra: str) -> Case:
    return Case(["data", "prepare", str(source), "--out", str(tmp / "cache"), *extra], expect, tmp / "cache")


EVENTS = ["--events", "left=1,right=2", "--tmin", "0", "--tmax", "1"]


@case("recordings-unknown-event-code")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    return _prepare(tmp, src, ["--events", "code(s) 9", "codes found: 1, 2"], "--events", "left=1,up=9", "--tmin",
                    "0", "--tmax", "1")


@case("recordings-regex-without-group")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    return _prepare(tmp, src, ["--label-from-path", "no named group 'label'"], "--label-from-path", r"(s\d)")


@case("recordings-subject-missing")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    _fif(src / "other")
    return _prepare(tmp, src, ["other/run1_raw.fif", "subject missing"], *EVENTS, "--subject-from-path",
                    r"^s(?P<subject>\d)/")


@case("recordings-channels-differ")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    _fif(src / "s2", channels=("Cz", "Oz"))
    return _prepare(tmp, src, ["s2/run1_raw.fif", "s1/run1_raw.fif", "lacks Pz", "extra Oz"], *EVENTS)


@case("recordings-window-longer-than-recording")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    return _prepare(tmp, src, ["run1_raw.fif", "shorter than one window", "--window"], "--events", "left=1",
                    "--window", "60")


@case("recordings-bids-without-events")
def _(tmp: Path) -> Case:
    import mne
    import mne_bids

    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((2, 1000)) * 1e-5,
                          mne.create_info(["Cz", "Pz"], SFREQ, "eeg"), verbose="error")
    root = tmp / "bids"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "No events found", RuntimeWarning)
        mne_bids.write_raw_bids(raw, mne_bids.BIDSPath(subject="01", task="x", datatype="eeg", root=root),
                                allow_preload=True, format="BrainVision", verbose=False)
    return _prepare(tmp, root, ["sub-01_task-x_eeg.vhdr", "events.tsv"], *EVENTS)


@case("recordings-unreadable-fif")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    (src / "s1" / "bad_raw.fif").write_bytes(b"\x00" * 64)
    return _prepare(tmp, src, ["bad_raw.fif", "unreadable recording"], *EVENTS)


@case("recordings-labels-csv-names-missing-file")
def _(tmp: Path) -> Case:
    src = _fif(tmp / "src" / "s1").parent
    table = tmp / "labels.csv"
    table.write_text("file,label\ns1/missing_raw.fif,a\n")
    return _prepare(tmp, src, ["labels.csv", "line 2", "missing_raw.fif"], "--labels-csv", str(table), "--window", "2")
