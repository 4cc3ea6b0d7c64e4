"""Odd EDF headers and slpdb listings: one clear error naming the file, before any large allocation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.cli import main
from neurorep.data.readers.edf import read_edf
from neurorep.data.readers.slpdb import read_slpdb
from neurorep.errors import DataError
from tests.data.edf_writer import EdfSpec, Sig, write


def test_edf_with_zero_record_duration_and_signals_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "z.edf", EdfSpec([Sig("EEG Cz", np.zeros(200), 100)], 2, record_duration=0))
    with pytest.raises(DataError, match=r"z.edf: corrupt EDF header \(record duration 0 s, but the file holds"):
        read_edf(path)
    assert main(["data", "info", str(path)]) == 2
    assert "record duration 0 s" in capsys.readouterr().err


def test_edf_signal_with_zero_samples_per_record_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "s.edf", EdfSpec([Sig("EEG Cz", np.zeros(200), 100), Sig("EEG Pz", np.zeros(0), 0)], 2))
    with pytest.raises(DataError, match=r"s.edf: corrupt EDF header \(signal 'EEG Pz' has 0 samples per record\)"):
        read_edf(path)


def _record(folder: Path, hea: bytes = b"slp01a 4 250 1800000\n", rr_third: str | None = None) -> Path:
    folder.mkdir()
    (folder / "slp01a.hea").write_bytes(hea)
    rows = ["Elapsed time  Sample #  Type  Sub Chan  Num\tAux"]
    rows += [f'0:{i * 30:02d}.000 {i * 7500} " 0 0 0\t2' for i in range(4)]
    (folder / "slp01a.an").write_text("\n".join(rows) + "\n")
    beats = [f"0:0{i - 1}.000\tN\t1.0\tN\t0:0{i}.000" for i in range(1, 7)]
    if rr_third is not None:
        beats[2] = beats[2].rsplit("\t", 1)[0] + "\t" + rr_third
    (folder / "slp01a.rr").write_text("\n".join(beats) + "\n")
    return folder / "slp01a"


@pytest.mark.parametrize("name,hea,rr,match", [
    ("huge-length", b"slp01a 4 250 900000000000000\n", None, "header declares 3600000000000 s but the RR and stage"),
    ("nan-beat", b"slp01a 4 250 1800000\n", "nan", r"slp01a.rr:3: cannot read time 'nan'"),
    ("zero-rate", b"slp01a 4 0 1800000\n", None, "rate 0 Hz and 1800000 samples; both must be positive"),
    ("not-utf8", b"slp01a 4 \xff\xfe250 1800000\n", None, "cannot read the rate and length"),
])
def test_bad_slpdb_records_are_refused(tmp_path: Path, capsys, name: str, hea: bytes, rr: str | None,  # type: ignore[no-untyped-def]
                                       match: str) -> None:
    stem = _record(tmp_path / name, hea, rr)
    with pytest.raises(DataError, match=match):
        read_slpdb(stem)
    assert main(["data", "info", str(stem.parent)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    out = tmp_path / f"cache-{name}"
    assert main(["data", "prepare", str(stem.parent), "--out", str(out), "--on-error", "raise"]) == 2
    assert not out.exists() or not any(out.iterdir())
