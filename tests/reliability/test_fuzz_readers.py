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


#: reader name -> (reader, file suffix, valid-file factory, accepted result types)
READERS: dict[str, tuple[Callable[[Path], object], str, Callable[[Path], bytes], tuple[type, ...]]] = {
    "edf": (read_edf, ".edf", _psg, (Recording,)),
    "edf-annotations": (read_annotations_edf, ".edf", _hypnogram, (Annotations,)),
    "dreams-hypnogram": (read_dreams_hypnogram, ".txt", _dreams, (Annotations,)),
}


def register_fuzz_reader(name: str, reader: Callable[[Path], object], suffix: str,
                         valid: Callable[[Path], bytes], result: tuple[type, ...]) -> None:
    """Add a reader (with a factory of one valid file's bytes) to the fuzzed set."""
    READERS[name] = (reader, suffix, valid, result)


_VALID: dict[str, bytes] = {}


def _valid(name: str) -> bytes:
    if name not in _VALID:
        with tempfile.TemporaryDirectory() as d:
            _VALID[name] = READERS[name][2](Path(d))
    return _VALID[name]


def _outcome(name: str, data: bytes) -> None:
    reader, suffix, _, result = READERS[name]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz{suffix}"
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
