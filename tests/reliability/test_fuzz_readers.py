"""Property-based tests: random and mutated bytes fed to every reader give a valid result or neurorep's own error.

Any other exception (IndexError, ValueError, UnicodeDecodeError, a crash in a library) would reach
the user as a traceback, so it fails the test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurorep.data.readers import read_annotations_edf, read_dreams_hypnogram, read_edf
from neurorep.data.recording import Annotations, Recording
from neurorep.errors import NeurorepError
from tests.conftest import write_hypnogram, write_psg


def _psg(folder: Path) -> bytes:
    write_psg(folder / "p.edf", 2, ecg=True)
    return (folder / "p.edf").read_bytes()


def _hypnogram(folder: Path) -> bytes:
    write_hypnogram(folder / "h.edf", ["Sleep stage W", "Sleep stage 2", "Sleep stage R", "Sleep stage ?"])
    return (folder / "h.edf").read_bytes()


def _dreams(folder: Path) -> bytes:
    return b"[Hypnogram]\r\n" + b"\r\n".join(str(c).encode() for c in [5, 5, 3, 2, 2, 1, 0, 4, -1, -2]) + b"\r\n"


def _meg(folder: Path) -> bytes:
    import h5py
    import numpy as np

    with h5py.File(folder / "m.h5", "w") as f:
        f.create_dataset("rest_105923", data=np.random.default_rng(0).normal(size=(248, 64)).astype(np.float32))
    return (folder / "m.h5").read_bytes()


def _read_meg(path: Path) -> object:
    from neurorep.data.readers.meg_h5 import read_meg_h5

    return read_meg_h5(path)


def _things(folder: Path) -> bytes:
    import numpy as np

    d = {"preprocessed_eeg_data": np.random.default_rng(0).normal(size=(3, 2, 4, 10)).astype(np.float32),
         "ch_names": ["O1", "Oz", "O2", "Pz"], "times": [round(-0.2 + 0.01 * i, 2) for i in range(10)]}
    np.save(folder / "t.npy", np.array(d, dtype=object), allow_pickle=True)
    return (folder / "t.npy").read_bytes()


def _read_things(path: Path) -> object:
    from neurorep.data.readers.things_eeg2 import read_things_eeg2_file

    return read_things_eeg2_file(path)


#: reader name -> (reader, file name, valid-file factory, accepted result types)
READERS: dict[str, tuple[Callable[[Path], object], str, Callable[[Path], bytes], tuple[type, ...]]] = {
    "edf": (read_edf, "fuzz.edf", _psg, (Recording,)),
    "edf-annotations": (read_annotations_edf, "fuzz.edf", _hypnogram, (Annotations,)),
    "dreams-hypnogram": (read_dreams_hypnogram, "fuzz.txt", _dreams, (Annotations,)),
    "meg-h5": (_read_meg, "rest_105923_1.h5", _meg, (Recording,)),
    "things-eeg2": (_read_things, "preprocessed_eeg_test.npy", _things, (object,)),
}


_VALID: dict[str, bytes] = {}


def _valid(name: str) -> bytes:
    if name not in _VALID:
        with tempfile.TemporaryDirectory() as d:
            _VALID[name] = READERS[name][2](Path(d))
    return _VALID[name]


def _outcome(name: str, data: bytes) -> None:
    reader, filename, _, result = READERS[name]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / filename
        path.write_bytes(data)
        try:
            out = reader(path)
        except NeurorepError as exc:
            assert str(path) in str(exc) or path.name in str(exc), f"error does not name the file: {exc}"
            return
        assert isinstance(out, result), f"{name} returned {type(out).__name__}"


mutation = st.one_of(
    st.tuples(st.just("set"), st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("cut"), st.floats(0, 1), st.just(b"")),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("digits"), st.floats(0, 0.5, exclude_max=True), st.sampled_from([b"-1", b"0", b"99999999", b"1e9",
                                                                                        b"nan", b" ", b"\xff"])),
)


def _mutate(data: bytes, muts: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, payload in muts:
        pos = int(where * len(out)) if out else 0
        if kind in ("set", "digits"):
            out[pos: pos + len(payload)] = payload
        elif kind == "cut":
            del out[pos:]
        else:
            out[pos:pos] = payload
    return bytes(out)


FUZZ = settings(max_examples=int(os.environ.get("NEUROREP_FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.mark.parametrize("name", sorted(READERS))
def test_valid_file_reads(name: str) -> None:
    _outcome(name, _valid(name))


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(name: str, data: bytes) -> None:
    _outcome(name, data)


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(muts=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_valid_file(name: str, muts: list[tuple[str, float, bytes]]) -> None:
    _outcome(name, _mutate(_valid(name), muts))
