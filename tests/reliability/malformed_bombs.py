"""Corpus cases built to exhaust memory or time: YAML alias bombs, pickles whose admitted constructors
would allocate gigabytes, ``.npy`` and HDF5 headers that claim far more data than the file holds.

Every case in :data:`BOMBS` also runs in its own process whose peak memory is measured
(``test_resource_bombs.py``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import yaml
from numpy.lib import format as npformat

from tests.reliability.malformed import Case, case
from tests.reliability.malformed_config import _cfg, _run, _saved
from tests.reliability.malformed_integrity import _cache

#: Cases whose input is a resource bomb.
BOMBS: list[str] = []


def bomb(name: str):  # type: ignore[no-untyped-def]
    BOMBS.append(name)
    return case(name)


# --- resource bombs ---------------------------------------------------------------------------------

_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))


@bomb("yaml-billion-laughs-in-config")
def _(tmp: Path) -> Case:
    text = yaml.safe_dump(_cfg(tmp)).replace("kwargs:\n", "kwargs:\n    bomb: *j\n", 1)
    c = _run(tmp, _LAUGHS + text)
    c.expect = ["cfg.yaml", "aliases"]
    return c


@bomb("yaml-billion-laughs-in-card")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    (tmp / "card.yaml").write_text(_LAUGHS + "training_data: *j\n")
    return Case(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(tmp / "reg"),
                 "--card", str(tmp / "card.yaml")], ["card.yaml", "aliases"])


def _object_npy(tmp: Path, payload: bytes) -> Path:
    folder = tmp / "sub-01"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "preprocessed_eeg_test.npy"
    with path.open("wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "|O", "fortran_order": False, "shape": ()})
        fh.write(payload)
    return path


def _reconstruct() -> object:
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct as fn  # type: ignore[no-redef]
    return fn


class _Call:
    """Pickles as ``fn(*args)`` followed by ``__setstate__(state)`` when ``state`` is given."""

    def __init__(self, fn: object, args: tuple, state: object = None) -> None:
        self.fn, self.args, self.state = fn, args, state

    def __reduce__(self) -> tuple:
        return (self.fn, self.args) if self.state is None else (self.fn, self.args, self.state)


@bomb("pickle-array-of-ten-gigabytes")
def _(tmp: Path) -> Case:
    p = _object_npy(tmp, pickle.dumps(_Call(_reconstruct(), (np.ndarray, (10**10,), b"b")), protocol=4))
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "refused before allocating"])


@bomb("pickle-object-array-state-claims-a-billion")
def _(tmp: Path) -> Case:
    state = (1, (10**9,), np.dtype(object), False, [])
    p = _object_npy(tmp, pickle.dumps(_Call(_reconstruct(), (np.ndarray, (0,), b"b"), state), protocol=4))
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "objects"])


@bomb("pickle-float-array-state-claims-a-billion")
def _(tmp: Path) -> Case:
    state = (1, (10**9,), np.dtype("f8"), False, b"")
    p = _object_npy(tmp, pickle.dumps(_Call(_reconstruct(), (np.ndarray, (0,), b"b"), state), protocol=4))
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "array claims"])


@bomb("pickle-bytes-of-ten-gigabytes")
def _(tmp: Path) -> Case:
    p = _object_npy(tmp, pickle.dumps(_Call(bytes, (10**10,)), protocol=4))
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "refused before allocating"])


@bomb("pickle-dtype-of-ten-gigabytes")
def _(tmp: Path) -> Case:
    p = _object_npy(tmp, pickle.dumps(_Call(np.dtype, (("V", 10**10),)), protocol=4))
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy"])


@bomb("pickle-compression-codec")
def _(tmp: Path) -> Case:
    import codecs

    p = _object_npy(tmp, pickle.dumps(_Call(codecs.encode, (b"x" * 64, "zlib_codec")), protocol=4))
    return Case(["data", "info", str(p)], ["preprocessed_eeg_test.npy", "codec"])


@bomb("npy-header-claims-a-trillion-elements")
def _(tmp: Path) -> Case:
    folder = tmp / "sub-01"
    folder.mkdir()
    path = folder / "preprocessed_eeg_test.npy"
    with path.open("wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
        fh.write(b"\0" * 64)
    return Case(["data", "info", str(path)], ["preprocessed_eeg_test.npy", "header says", "truncated"])


@bomb("cache-npy-header-claims-a-trillion-elements")
def _(tmp: Path) -> Case:
    cache = _cache(tmp)
    x = cache / "x" / "00000.npy"
    with x.open("r+b") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    return Case(["data", "info", str(cache)], ["00000.npy", "delete the cache"])


@bomb("meg-dataset-declares-a-terabyte")
def _(tmp: Path) -> Case:
    import h5py

    p = tmp / "rest_105923_1.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("rest_105923", shape=(248, 10**9), dtype="f4", chunks=(248, 1024))
    return Case(["data", "info", str(p)], ["rest_105923_1.h5", "declares"])
