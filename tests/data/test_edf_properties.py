"""Property tests: EDF/BDF files with random headers within the standard, written by edfio (and, for
what edfio does not write, by the byte-level test writer), read by neurorep as MNE (and pyEDFlib
at native rates) read them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurorep.data.readers.edf import read_edf
from tests.data.edf_parity import compare_file
from tests.data.edf_writer import EdfSpec, Sig, tal, write

edfio = pytest.importorskip("edfio")

UNITS = [b"uV", b"\xb5V", b"mV", b"V", b"nV", b"", b"degC", b"%"]
LABELS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=14)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _patch_units(path: Path, units: list[bytes]) -> None:
    """Write each signal's physical dimension as raw bytes (edfio writes ASCII only)."""
    raw = bytearray(path.read_bytes())
    ns = int(raw[252:256].decode().strip())
    base = 256 + ns * (16 + 80)
    for i, u in enumerate(units):
        raw[base + 8 * i: base + 8 * (i + 1)] = u.ljust(8, b" ")
    path.write_bytes(bytes(raw))


@st.composite
def edf_files(draw):  # type: ignore[no-untyped-def]
    bdf = draw(st.booleans())
    record = draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]))
    n_records = draw(st.integers(1, 8))
    n_sig = draw(st.integers(1, 4))
    labels = draw(st.lists(LABELS, min_size=n_sig, max_size=n_sig))
    top = 2**23 - 1 if bdf else 2**15 - 1
    signals, units = [], []
    for label in labels:
        spr = draw(st.sampled_from([1, 2, 4, 8, 16, 32]))
        dlo = draw(st.integers(-top - 1, 0))
        dhi = draw(st.integers(dlo + 1, top))
        plo = draw(st.floats(-5000, 5000, allow_nan=False).map(lambda v: round(v, 2)))
        phi = plo + draw(st.floats(0.5, 5000, allow_nan=False).map(lambda v: round(v, 2)))
        n = spr * n_records
        rng = np.random.default_rng(draw(st.integers(0, 2**31)))
        x = rng.uniform(plo, phi, n)
        signals.append((edfio.BdfSignal if bdf else edfio.EdfSignal)(x, spr / record, label=label, physical_range=(plo, phi),
                                       digital_range=(dlo, dhi)))
        units.append(draw(st.sampled_from(UNITS)))
    n_ann = draw(st.integers(0, 3))
    anns = [edfio.EdfAnnotation(draw(st.floats(0, n_records * record - 0.01).map(lambda v: round(v, 3))),
                                draw(st.none() | st.floats(0, 5).map(lambda v: round(v, 3))),
                                draw(st.text(alphabet="abcXYZ 123é", min_size=1, max_size=8).map(str.strip)
                                     .filter(bool))) for _ in range(n_ann)]
    return bdf, record, signals, units, anns


@SETTINGS
@given(edf_files())
def test_random_edfio_files_read_as_mne_reads_them(tmp_path: Path, spec) -> None:  # type: ignore[no-untyped-def]
    bdf, record, signals, units, anns = spec
    cls = edfio.Bdf if bdf else edfio.Edf
    path = tmp_path / ("r.bdf" if bdf else "r.edf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls(signals, annotations=anns or None, data_record_duration=record).write(path)
    _patch_units(path, units)
    assert compare_file(path) == []


@SETTINGS
@given(st.booleans(), st.lists(st.integers(0, 3), min_size=2, max_size=6), st.sampled_from([b"EDF+C", b"EDF+D"]))
def test_edf_plus_d_gaps_and_annotation_times(tmp_path: Path, bdf: bool, gaps: list[int], reserved: bytes) -> None:
    """Records of 1 s with random gaps: data of each record lands in its segment, annotations keep
    their time (one annotation at 0.5 s into every record)."""
    onsets = np.cumsum([0] + [1 + g for g in gaps[1:]]).astype(float)
    n = len(onsets)
    x = np.arange(n * 10) - 20
    tals = [tal(t) + tal(t + 0.5, [f"r{k}"]) for k, t in enumerate(onsets)]
    path = write(tmp_path / ("g.bdf" if bdf else "g.edf"),
                 EdfSpec([Sig("EEG Cz", x, 10)], n, bdf=bdf, reserved=reserved.replace(b"EDF", b"BDF") if bdf
                         else reserved, tals=tals))
    rec = read_edf(path)
    np.testing.assert_allclose(rec.annotations.onset, onsets + 0.5)
    pieces = rec.pieces()
    assert sum(p[2] for p in pieces) == rec.n_times == n * 10
    for t0, a, m in pieces:  # each piece starts at its first record's time and its records follow without gaps
        records = np.arange(a // 10, (a + m) // 10)
        np.testing.assert_allclose(onsets[records], t0 + np.arange(len(records)))
    assert len(pieces) == 1 + sum(g > 0 for g in gaps[1:])
