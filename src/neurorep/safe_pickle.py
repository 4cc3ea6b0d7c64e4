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

__all__ = ["ALLOWED_GLOBALS", "RestrictedUnpickler", "load_npy", "load_npy_dict", "safe_loads"]


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


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only NumPy arrays, dtypes, scalars and plain containers.

    Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused with a
    :class:`DataError` that names ``source`` and the refused global. Persistent ids are refused too.
    """

    def __init__(self, file: BinaryIO, source: str = "pickle") -> None:
        super().__init__(file, fix_imports=False, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.source}: refused to load global {module}.{name} from a pickle (only NumPy arrays, "
                "dicts, lists, strings and numbers are allowed)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self.source}: refused a pickle with persistent ids")


def safe_loads(data: bytes, source: str = "pickle") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; malformed data is a :class:`DataError`."""
    return _unpickle(io.BytesIO(data), source)


def _unpickle(fh: BinaryIO, source: str) -> Any:
    try:
        return RestrictedUnpickler(fh, source).load()
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
        if not dtype.hasobject:
            fh.close()
            try:
                return np.load(path, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise DataError(f"{path}: unreadable .npy file ({exc})") from None
        obj = _unpickle(fh, str(path))
    if not isinstance(obj, np.ndarray):
        raise DataError(f"{path}: expected a pickled NumPy array, found {type(obj).__name__}")
    if obj.shape != tuple(shape):
        raise DataError(f"{path}: header says shape {tuple(shape)} but the payload has shape {obj.shape}")
    return obj


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
