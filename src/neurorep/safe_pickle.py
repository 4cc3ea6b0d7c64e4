"""Safe reading of pickled NumPy files (``np.save`` of a dict or an object array).

Some public data sets ship ``.npy`` files that hold a pickled Python object (Things-EEG-2 stores
a dict per file). ``np.load(..., allow_pickle=True)`` would execute whatever the pickle asks for,
so neurorep never calls it. Instead, :func:`load_npy` reads the ``.npy`` header with
:mod:`numpy.lib.format` and hands the pickled payload to :class:`RestrictedUnpickler`, whose
``find_class`` admits only the globals a NumPy array of dicts, lists, strings, numbers and
numeric arrays needs, and refuses every other global with a :class:`~neurorep.errors.DataError`
naming the file and the refused global.

Example::

    from neurorep.safe_pickle import load_npy_dict

    d = load_npy_dict("sub-01/preprocessed_eeg_test.npy")   # {"preprocessed_eeg_data": ..., ...}
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.lib import format as npformat

from neurorep.errors import DataError

__all__ = ["ALLOWED_GLOBALS", "RestrictedUnpickler", "check_npy_size", "load_npy", "load_npy_dict", "safe_loads"]


def _multiarray() -> Any:
    try:  # NumPy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


_MA = _multiarray()

#: (module, name) -> the object returned for it. Both the NumPy 1 (``numpy.core``) and NumPy 2
#: (``numpy._core``) spellings map to the objects of the installed NumPy; nothing is imported by name.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _MA._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _MA._reconstruct,
    ("numpy.core.multiarray", "scalar"): _MA.scalar,
    ("numpy._core.multiarray", "scalar"): _MA.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # protocol-2 pickles (older NumPy / Python) encode bytes through _codecs.encode
    ("_codecs", "encode"): codecs.encode,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
    ("builtins", "str"): str,
    ("builtins", "bytes"): bytes,
    ("builtins", "int"): int,
    ("builtins", "float"): float,
    ("builtins", "complex"): complex,
    ("builtins", "bool"): bool,
}


#: Bytes any object built from a pickle may hold beyond the pickle's own size (small headers, dtypes).
SLACK_BYTES = 1 << 16
_TEXT_CODECS = {"latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1", "utf-8", "utf8", "ascii"}


class _GuardedArray(np.ndarray):
    """An array being unpickled: its ``__setstate__`` checks the claimed size before NumPy allocates it."""

    _limit: int = 0
    _source: str = "pickle"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise DataError(f"{self._source}: malformed array state in the pickle")
        _version, shape, dtype, _fortran, data = state
        n = _count(shape, self._source)
        itemsize = dtype.itemsize if isinstance(dtype, np.dtype) else 0
        if isinstance(dtype, np.dtype) and dtype.hasobject:
            if not isinstance(data, list) or len(data) != n:
                held = len(data) if isinstance(data, list) else 0
                raise DataError(f"{self._source}: array of {n} objects holds {held} in the pickle")
        elif n * itemsize > self._limit or not isinstance(data, (bytes, bytearray, str)) or len(data) != n * itemsize:
            raise DataError(f"{self._source}: array claims {n} x {itemsize} bytes but the pickle holds "
                            f"{len(data) if isinstance(data, (bytes, bytearray, str)) else 0}")
        super().__setstate__(state)


def _count(shape: Any, source: str) -> int:
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise DataError(f"{source}: malformed array shape {shape!r} in the pickle")
    n = 1
    for d in shape:
        n *= d
    return n


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only NumPy arrays, dtypes, scalars and plain containers.

    Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused with a
    :class:`DataError` that names ``source`` and the refused global. Persistent ids are refused too.
    The admitted constructors are bounded by ``limit`` bytes (the size of the pickle): an array,
    dtype, scalar or byte string claiming more than the pickle holds is refused before it is allocated.
    """

    def __init__(self, file: BinaryIO, source: str = "pickle", limit: int | None = None) -> None:
        super().__init__(file, fix_imports=False, encoding="latin1")
        self.source = source
        self.limit = (limit if limit is not None else 1 << 30) + SLACK_BYTES
        guarded = type("_GuardedArray", (_GuardedArray,), {"_limit": self.limit, "_source": source})
        self._guarded = guarded
        self._bounded: dict[Any, Any] = {
            _MA._reconstruct: self._reconstruct, _MA.scalar: self._scalar, np.ndarray: self._ndarray,
            np.dtype: self._dtype, codecs.encode: self._encode, bytes: self._bytes,
        }

    def find_class(self, module: str, name: str) -> Any:
        try:
            obj = ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.source}: refused to load global {module}.{name} from a pickle (only NumPy arrays, "
                "dicts, lists, strings and numbers are allowed)"
            ) from None
        return self._bounded.get(obj, obj)

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self.source}: refused a pickle with persistent ids")

    def _too_big(self, what: str, nbytes: int) -> DataError:
        return DataError(f"{self.source}: pickle asks for {what} of {nbytes} bytes, more than the "
                         f"{self.limit - SLACK_BYTES} bytes it holds (refused before allocating)")

    def _checked_dtype(self, dtype: Any) -> np.dtype:
        if not isinstance(dtype, np.dtype):
            dtype = self._dtype(dtype)
        if dtype.itemsize > self.limit:
            raise self._too_big("an element", dtype.itemsize)
        return dtype

    def _reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        if subtype is not self._bounded[np.ndarray]:
            raise DataError(f"{self.source}: refused to rebuild an array of type {subtype!r}")
        n = _count(tuple(shape) if isinstance(shape, (tuple, list)) else (shape,), self.source)
        dt = np.dtype(dtype) if isinstance(dtype, (bytes, str)) else self._checked_dtype(dtype)
        if n * max(dt.itemsize, 1) > self.limit:
            raise self._too_big("an array", n * dt.itemsize)
        return _MA._reconstruct(self._guarded, shape, dtype)

    def _ndarray(self, *args: Any, **kwargs: Any) -> Any:  # only ever the subtype argument of _reconstruct
        raise DataError(f"{self.source}: refused to call numpy.ndarray directly from a pickle")

    def _dtype(self, *args: Any) -> np.dtype:
        try:
            dt = np.dtype(*args)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{self.source}: malformed dtype in the pickle ({exc})") from None
        if dt.itemsize > self.limit:
            raise self._too_big("a dtype", dt.itemsize)
        return dt

    def _scalar(self, dtype: Any, *args: Any) -> Any:
        dt = self._checked_dtype(dtype)
        if args and isinstance(args[0], (bytes, str)) and len(args[0]) < dt.itemsize and not dt.hasobject:
            raise DataError(f"{self.source}: scalar of {dt.itemsize} bytes holds {len(args[0])} in the pickle")
        return _MA.scalar(dt, *args)

    def _encode(self, obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        if str(encoding).lower() not in _TEXT_CODECS:
            raise DataError(f"{self.source}: refused codec {encoding!r} in a pickle (only text encodings)")
        return codecs.encode(obj, encoding, errors)

    def _bytes(self, *args: Any) -> bytes:
        if args and isinstance(args[0], int) and args[0] > self.limit:
            raise self._too_big("a byte string", args[0])
        return bytes(*args)


def _plain_arrays(obj: Any) -> Any:
    """Turn the guarded arrays of a finished unpickling back into plain ``np.ndarray`` (recursively)."""
    if isinstance(obj, _GuardedArray):
        base = obj.view(np.ndarray)
        if base.dtype.hasobject:
            flat = base.reshape(-1)
            for i in range(flat.size):
                flat[i] = _plain_arrays(flat[i])
        return base
    if isinstance(obj, dict):
        return {k: _plain_arrays(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain_arrays(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain_arrays(v) for v in obj)
    return obj


def safe_loads(data: bytes, source: str = "pickle") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; malformed data is a :class:`DataError`."""
    return _unpickle(io.BytesIO(data), source, len(data))


def _unpickle(fh: BinaryIO, source: str, limit: int) -> Any:
    try:
        return _plain_arrays(RestrictedUnpickler(fh, source, limit).load())
    except DataError:
        raise
    except Exception as exc:  # the admitted constructors raise many types on crafted input; all mean "malformed"
        raise DataError(f"{source}: malformed pickle payload ({type(exc).__name__}: {exc})") from None


def load_npy(path: str | Path) -> np.ndarray:
    """Read a ``.npy`` file; an object (pickled) payload goes through :class:`RestrictedUnpickler`.

    Plain numeric files are read with ``np.load(allow_pickle=False)``. Returns the array (for a
    saved dict, a 0-d object array whose ``.item()`` is the dict).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as fh:
        try:
            version = npformat.read_magic(fh)
            if version == (1, 0):
                shape, _fortran, dtype = npformat.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _fortran, dtype = npformat.read_array_header_2_0(fh)
            else:
                raise DataError(f"{path}: unsupported .npy format version {version[0]}.{version[1]} (expected 1.0 or 2.0)")
        except DataError:
            raise
        except Exception as exc:  # numpy parses the header with ast: ValueError, SyntaxError, TokenError...
            raise DataError(f"{path}: not a NumPy .npy file ({type(exc).__name__}: {exc})") from None
        payload = path.stat().st_size - fh.tell()
        if not dtype.hasobject:
            check_npy_size(path, tuple(shape), dtype, payload)
            fh.close()
            try:
                return np.load(path, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise DataError(f"{path}: unreadable .npy file ({exc})") from None
        obj = _unpickle(fh, str(path), payload)
    if not isinstance(obj, np.ndarray):
        raise DataError(f"{path}: expected a pickled NumPy array, found {type(obj).__name__}")
    if obj.shape != tuple(shape):
        raise DataError(f"{path}: header says shape {tuple(shape)} but the payload has shape {obj.shape}")
    return obj


def check_npy_size(path: str | Path, shape: tuple[int, ...], dtype: np.dtype, payload: int) -> None:
    """Refuse a ``.npy`` whose header claims more data than the file holds (before anything is allocated)."""
    n = 1
    for d in shape:
        n *= int(d)
    if n * dtype.itemsize != payload:
        raise DataError(f"{path}: header says shape {shape} of {dtype} ({n * dtype.itemsize} bytes) but the file holds "
                        f"{payload} bytes of data; the file is truncated or corrupt")


def load_npy_dict(path: str | Path) -> dict[str, Any]:
    """Read a ``.npy`` file written by ``np.save(path, some_dict)`` and return the dict."""
    arr = load_npy(path)
    if arr.dtype != object or arr.shape != ():
        raise DataError(f"{path}: expected a saved dict (0-d object array), found an array of shape {arr.shape} "
                        f"and dtype {arr.dtype}")
    value = arr.item()
    if not isinstance(value, dict):
        raise DataError(f"{path}: expected a saved dict, found {type(value).__name__}")
    return value
