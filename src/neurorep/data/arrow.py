"""NumPy <-> Arrow for the cache's numeric tables, without pyarrow's pandas shim.

``pa.array(ndarray)`` and ``Array.to_numpy()`` import pandas whenever it is installed (about a
second per process); the cache's tables hold only fixed-width numbers, so their columns are
wrapped and unwrapped as raw buffers instead (zero-copy on write, one copy on read).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from neurorep.errors import DataError

_TYPES = {np.dtype(t): f for t, f in [(np.int8, pa.int8()), (np.int16, pa.int16()), (np.int32, pa.int32()),
                                       (np.int64, pa.int64()), (np.uint8, pa.uint8()), (np.uint16, pa.uint16()),
                                       (np.uint32, pa.uint32()), (np.uint64, pa.uint64()),
                                       (np.float32, pa.float32()), (np.float64, pa.float64())]}
_DTYPES = {str(f): t for t, f in _TYPES.items()}


def table_from_numpy(columns: dict[str, np.ndarray]) -> pa.Table:
    """A table with one column per 1-D numeric array (all the same length)."""
    arrays = []
    for name, values in columns.items():
        a = np.ascontiguousarray(values)
        if a.ndim != 1 or a.dtype not in _TYPES:
            raise TypeError(f"column {name!r}: expected a 1-D numeric array, got {a.dtype} {a.shape}")
        arrays.append(pa.Array.from_buffers(_TYPES[a.dtype], len(a), [None, pa.py_buffer(a)]))
    return pa.Table.from_arrays(arrays, names=list(columns))


def table_to_numpy(table: pa.Table, source: str = "table") -> dict[str, np.ndarray]:
    """Columns of a numeric table as NumPy arrays (a column with nulls or another type is a DataError)."""
    out = {}
    for name in table.column_names:
        arr = table.column(name).combine_chunks()
        dtype = _DTYPES.get(str(arr.type))
        if dtype is None or arr.null_count:
            raise DataError(f"{source}: column {name!r} should hold numbers without gaps; found {arr.type}"
                            f"{f' with {arr.null_count} nulls' if arr.null_count else ''}")
        buf = arr.buffers()[1]
        out[name] = (np.frombuffer(buf, dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize).copy()
                     if len(arr) else np.zeros(0, dtype))
    return out
