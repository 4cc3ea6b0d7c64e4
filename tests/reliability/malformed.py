"""The corpus of malformed inputs: each case writes one bad input and says what the user must see.

A case builder takes a scratch folder and returns a :class:`Case`: the ``neurorep`` command line
to run, the phrases its one-line error must contain (the file or field named, what was expected),
and the output path that must be left exactly as it was (absent, or unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tests.conftest import STAGES_RK, write_hypnogram, write_psg


@dataclass
class Case:
    argv: list[str]
    expect: list[str]
    out: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Callable[[Path], Case]] = {}


def case(name: str) -> Callable[[Callable[[Path], Case]], Callable[[Path], Case]]:
    def register(fn: Callable[[Path], Case]) -> Callable[[Path], Case]:
        CASES[name] = fn
        return fn

    return register


def _night(folder: Path, stages: list[str], n_epochs: int = 24, **psg: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_psg(folder / "SC4001E0-PSG.edf", n_epochs, **psg)  # type: ignore[arg-type]
    write_hypnogram(folder / "SC4001EC-Hypnogram.edf", stages)
    return folder


def _prepare(tmp: Path, source: Path, *extra: str) -> Case:
    return Case(["data", "prepare", str(source), "--out", str(tmp / "cache"), *extra], [], tmp / "cache")


GOOD_STAGES = ["Sleep stage W"] * 2 + ["Sleep stage 2"] * 10 + ["Sleep stage R"] * 10 + ["Sleep stage W"] * 2


# --- EDF files -------------------------------------------------------------------------------------

@case("edf-empty")
def _(tmp: Path) -> Case:
    (tmp / "empty.edf").write_bytes(b"")
    return Case(["data", "info", str(tmp / "empty.edf")], ["empty.edf", "not an EDF file", "0 bytes"])


@case("edf-not-edf-bytes")
def _(tmp: Path) -> Case:
    (tmp / "photo.edf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return Case(["data", "info", str(tmp / "photo.edf")], ["photo.edf", "not an EDF file"])


@case("edf-corrupt-header")
def _(tmp: Path) -> Case:
    (tmp / "c.edf").write_bytes(b"0       " + b"x" * 600)
    return Case(["data", "info", str(tmp / "c.edf")], ["c.edf", "corrupt EDF header"])


@case("edf-header-claims-more-records")
def _(tmp: Path) -> Case:
    write_psg(tmp / "p.edf", 2)
    raw = bytearray((tmp / "p.edf").read_bytes())
    raw[236:244] = b"99      "
    (tmp / "m.edf").write_bytes(bytes(raw))
    return Case(["data", "info", str(tmp / "m.edf")], ["m.edf", "truncated EDF"])


@case("edf-truncated-last-record")
def _(tmp: Path) -> Case:
    write_psg(tmp / "p.edf", 4)
    raw = (tmp / "p.edf").read_bytes()
    (tmp / "t.edf").write_bytes(raw[:-1000])
    return Case(["data", "info", str(tmp / "t.edf")], ["t.edf", "truncated EDF"])


@case("edf-truncated-in-prepare")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", GOOD_STAGES)
    psg = folder / "SC4001E0-PSG.edf"
    psg.write_bytes(psg.read_bytes()[:-5000])
    c = _prepare(tmp, folder)
    c.expect = ["SC4001E0-PSG.edf", "truncated EDF"]
    return c


@case("unknown-extension")
def _(tmp: Path) -> Case:
    (tmp / "rec.xyz").write_text("data")
    return Case(["data", "info", str(tmp / "rec.xyz")], ["rec.xyz", "unknown file format", ".edf"])


@case("missing-path")
def _(tmp: Path) -> Case:
    return Case(["data", "info", str(tmp / "nothing.edf")], ["nothing.edf", "no such file"])


@case("flat-channel")
def _(tmp: Path) -> Case:
    import edfio

    folder = tmp / "night"
    folder.mkdir()
    n = 24 * 30 * 100
    sig = [edfio.EdfSignal(np.random.default_rng(0).normal(0, 20, n), 100.0, label="EEG Fpz-Cz",
                           physical_dimension="uV", physical_range=(-500, 500)),
           edfio.EdfSignal(np.zeros(n), 100.0, label="EEG Pz-Oz", physical_dimension="uV",
                           physical_range=(-500, 500))]
    edfio.Edf(sig, data_record_duration=30.0).write(folder / "SC4001E0-PSG.edf")
    write_hypnogram(folder / "SC4001EC-Hypnogram.edf", GOOD_STAGES)
    c = _prepare(tmp, folder)
    c.expect = ["SC4001E0-PSG.edf", "'EEG Pz-Oz' is flat"]
    return c


@case("required-channel-missing")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", GOOD_STAGES)
    c = _prepare(tmp, folder, "--channels", "EEG Fpz-Oz")
    c.expect = ["SC4001E0-PSG.edf", "channels are: EEG Fpz-Cz, EEG Pz-Oz", "did you mean 'EEG Fpz-Cz'"]
    return c


@case("edf-zero-digital-range")
def _(tmp: Path) -> Case:
    """Digital min == max would scale every sample to Inf/NaN."""
    write_psg(tmp / "p.edf", 2)
    raw = bytearray((tmp / "p.edf").read_bytes())
    ns = int(raw[252:256])
    dmin = 256 + ns * (16 + 80 + 8 + 8 + 8)
    raw[dmin + ns * 8: dmin + ns * 8 + 8] = raw[dmin: dmin + 8]
    (tmp / "z.edf").write_bytes(bytes(raw))
    return Case(["data", "info", str(tmp / "z.edf")], ["z.edf", "'EEG Fpz-Cz'", "digital min == max"])


# --- hypnograms --------------------------------------------------------------------------------------

@case("hypnogram-longer-than-psg")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", ["Sleep stage W"] * 2 + ["Sleep stage 2"] * 40)
    c = _prepare(tmp, folder)
    c.expect = ["SC4001E0-PSG.edf", "hypnogram scores until 1260 s", "PSG ends at 720 s"]
    return c


@case("hypnogram-shorter-than-psg")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", ["Sleep stage W"] * 2 + ["Sleep stage 2"] * 5)
    c = _prepare(tmp, folder)
    c.expect = ["SC4001E0-PSG.edf", "hypnogram ends at 210 s", "PSG lasts 720 s", "min_hypnogram_coverage"]
    return c


@case("overlapping-stages")
def _(tmp: Path) -> Case:
    import edfio

    folder = _night(tmp / "night", GOOD_STAGES)
    anns = [edfio.EdfAnnotation(0, 300, "Sleep stage W"), edfio.EdfAnnotation(240, 300, "Sleep stage 2"),
            edfio.EdfAnnotation(540, 180, "Sleep stage W")]
    edfio.Edf([], annotations=anns).write(folder / "SC4001EC-Hypnogram.edf")
    c = _prepare(tmp, folder)
    c.expect = ["SC4001E0-PSG.edf", "overlap"]
    return c


@case("unknown-stage")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", GOOD_STAGES[:12] + ["Sleep stage 5"] * 12)
    c = _prepare(tmp, folder)
    c.expect = ["unknown sleep stage annotation 'Sleep stage 5'"]
    return c


@case("psg-without-hypnogram")
def _(tmp: Path) -> Case:
    folder = tmp / "night"
    folder.mkdir()
    write_psg(folder / "SC4001E0-PSG.edf", 2)
    c = _prepare(tmp, folder, "--dataset", "sleep-edf")
    c.expect = ["SC4001E0-PSG.edf", "no *-Hypnogram.edf"]
    return c


@case("dreams-hypnogram-garbage")
def _(tmp: Path) -> Case:
    folder = tmp / "dreams"
    folder.mkdir()
    write_psg(folder / "excerpt1.edf", 2, channels=("C3-A1", "O1-A1"))
    (folder / "Hypnogram_excerpt1.txt").write_text("[Hypnogram]\n5\n5\nfive\n")
    c = _prepare(tmp, folder, "--dataset", "dreams")
    c.expect = ["Hypnogram_excerpt1.txt", "integers"]
    return c


# --- command-line settings ------------------------------------------------------------------------

@case("unknown-dataset-layout")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", GOOD_STAGES)
    c = _prepare(tmp, folder, "--dataset", "sleepedf")
    c.expect = ["unknown dataset 'sleepedf'", "did you mean 'sleep-edf'"]
    return c


@case("unknown-label-scheme")
def _(tmp: Path) -> Case:
    folder = _night(tmp / "night", GOOD_STAGES)
    c = _prepare(tmp, folder, "--scheme", "5class")
    c.expect = ["label scheme '5class'", "did you mean"]
    return c


@case("unknown-corpus-option")
def _(tmp: Path) -> Case:
    return Case(["data", "simulate", "sleep", "--out", str(tmp / "sim"), "--set", "hour=2"],
                ["corpus 'sleep' has no option 'hour'", "did you mean 'hours'"], tmp / "sim")


@case("corrupt-cache-info")
def _(tmp: Path) -> Case:
    cache = tmp / "c" / "0123456789abcdef"
    cache.mkdir(parents=True)
    (cache / "info.json").write_text("{not json")
    (cache / "COMPLETE").write_text("ok\n")
    return Case(["data", "info", str(cache)], ["info.json"])


# --- MEG h5 (HCP layout) ----------------------------------------------------------------------------

def _h5(path: Path, dataset: str, data: np.ndarray) -> Path:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset(dataset, data=data)
    return path


@case("h5-unexpected-dataset-name")
def _(tmp: Path) -> Case:
    p = _h5(tmp / "rest_105923_1.h5", "data", np.zeros((248, 100), np.float32))
    return Case(["data", "info", str(p)], ["rest_105923_1.h5", "expected a dataset named 'rest_105923'"])


@case("h5-unexpected-file-name")
def _(tmp: Path) -> Case:
    p = _h5(tmp / "sleep_105923_1.h5", "sleep_105923", np.zeros((248, 100), np.float32))
    return Case(["data", "info", str(p)], ["sleep_105923_1.h5", "rest"])


@case("h5-nan-samples")
def _(tmp: Path) -> Case:
    x = np.random.default_rng(0).normal(size=(248, 100)).astype(np.float32)
    x[3, 50] = np.nan
    p = _h5(tmp / "task_motor_105923_2.h5", "task_motor_105923", x)
    return Case(["data", "info", str(p)], ["task_motor_105923_2.h5", "NaN"])


@case("h5-not-hdf5")
def _(tmp: Path) -> Case:
    (tmp / "rest_105923_1.h5").write_bytes(b"not an HDF5 file at all" * 10)
    return Case(["data", "info", str(tmp / "rest_105923_1.h5")], ["rest_105923_1.h5", "HDF5"])


# --- Things-EEG-2 preprocessed arrays (pickled dicts in .npy) --------------------------------------

def _things(tmp: Path, content: object) -> Path:
    folder = tmp / "sub-01"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "preprocessed_eeg_test.npy"
    np.save(path, np.array(content, dtype=object), allow_pickle=True)
    return path


def _things_ok() -> dict:
    return {"preprocessed_eeg_data": np.zeros((4, 2, 17, 100), np.float32) + 1e-6,
            "ch_names": [f"O{i}" for i in range(17)], "times": list(np.arange(-0.2, 0.8, 0.01))}


@case("things-wrong-shape")
def _(tmp: Path) -> Case:
    d = _things_ok()
    d["preprocessed_eeg_data"] = np.zeros((4, 17, 100), np.float32)
    p = _things(tmp, d)
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "preprocessed_eeg_data"])


@case("things-missing-key")
def _(tmp: Path) -> Case:
    d = _things_ok()
    del d["ch_names"]
    p = _things(tmp, d)
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "missing key(s) ch_names"])


@case("things-nan-samples")
def _(tmp: Path) -> Case:
    d = _things_ok()
    d["preprocessed_eeg_data"][1, 0, 3, 7] = np.nan
    p = _things(tmp, d)
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "non-finite"])


@case("things-malicious-pickle")
def _(tmp: Path) -> Case:
    import os

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {tmp / 'pwned'}",))

    p = _things(tmp, {"preprocessed_eeg_data": Evil()})
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "system"], out=tmp)  # no 'pwned' file


# --- HMS EEG parquet ---------------------------------------------------------------------------------

HMS_COLUMNS = ["Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "Fz", "Cz", "Pz", "Fp2", "F4", "C4", "P4", "F8",
               "T4", "T6", "O2", "EKG"]


def _hms(path: Path, columns: list[str], nan_column: str | None = None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    data = {c: rng.normal(0, 30, 2000).astype(np.float32) for c in columns}
    if nan_column:
        data[nan_column][:] = np.nan
    pq.write_table(pa.table(data), path)
    return path


@case("hms-missing-electrodes")
def _(tmp: Path) -> Case:
    p = _hms(tmp / "1000.parquet", [c for c in HMS_COLUMNS if c not in ("Cz", "O2")])
    return Case(["data", "info", str(p)], ["1000.parquet", "missing Cz, O2"])


@case("hms-all-nan-electrode")
def _(tmp: Path) -> Case:
    p = _hms(tmp / "1001.parquet", HMS_COLUMNS, nan_column="T4")
    return Case(["data", "info", str(p)], ["1001.parquet", "T4", "all NaN"])


@case("hms-not-parquet")
def _(tmp: Path) -> Case:
    (tmp / "1002.parquet").write_text("eeg_id,Fp1\n1,2\n")
    return Case(["data", "info", str(tmp / "1002.parquet")], ["1002.parquet", "cannot read the HMS EEG table"])


@case("simulate-into-folder-with-files")
def _(tmp: Path) -> Case:
    (tmp / "mine").mkdir()
    (tmp / "mine" / "SC4001E0-PSG.edf").write_bytes(b"the user's own recording")
    return Case(["data", "simulate", "sleep", "--out", str(tmp / "mine"), "--subjects", "1", "--hours", "0.5"],
                [str(tmp / "mine"), "already holds files", "--overwrite"], tmp / "mine")
