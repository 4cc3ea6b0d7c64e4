"""HCP-style MEG ``.h5`` files: one recording per file, one 2-D dataset ``channels x time``.

File names are ``<task>_<subject>_<chunk>.h5`` with ``<task>`` one of ``rest``, ``task_motor``,
``task_story_math`` or ``task_working_memory`` (e.g. ``Intra/train/rest_105923_1.h5``,
``Cross/test1/task_story_math_162935_3.h5``). The dataset inside is named after the file without
the chunk number (``rest_105923``). Data are the 248 magnetometers ``A1 .. A248`` of the Magnes
3600 WH system in tesla at 2034 Hz (the rate is not stored in the file, so it is an argument).

The activity label is the whole file's: :func:`read_meg_h5` returns it as one annotation covering
the recording, and :func:`parse_meg_name` gives it from the name alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.readers import register_reader
from neurorep.data.recording import Annotations, Recording
from neurorep.data.sensor_grid import magnes_names
from neurorep.errors import DataError

#: file-name task prefix -> class name, in class-index order.
MEG_TASKS: dict[str, str] = {
    "rest": "rest",
    "task_motor": "motor",
    "task_story_math": "story_math",
    "task_working_memory": "working_memory",
}
MEG_CLASSES: list[str] = list(MEG_TASKS.values())
HCP_SFREQ = 2034.0

_NAME = re.compile(r"^(?P<task>" + "|".join(sorted(MEG_TASKS, key=len, reverse=True))
                   + r")_(?P<subject>\d+)_(?P<chunk>\d+)\.h5$")

__all__ = ["HCP_SFREQ", "MEG_CLASSES", "MEG_TASKS", "MegFile", "find_meg_files", "parse_meg_name", "read_meg_h5"]


@dataclass(frozen=True)
class MegFile:
    """What a file name says: task (file prefix), class name, subject, chunk, and the dataset name."""

    path: Path
    task: str
    label: str
    subject: str
    chunk: int

    @property
    def dataset(self) -> str:
        return f"{self.task}_{self.subject}"

    @property
    def y(self) -> int:
        return MEG_CLASSES.index(self.label)


def parse_meg_name(path: str | Path) -> MegFile:
    """Parse ``<task>_<subject>_<chunk>.h5``; any other name is a :class:`DataError` saying what is expected."""
    path = Path(path)
    m = _NAME.match(path.name)
    if m is None:
        raise DataError(
            f"{path}: not an HCP-style MEG file name; expected <task>_<subject>_<chunk>.h5 with task one of "
            f"{', '.join(MEG_TASKS)} (e.g. rest_105923_1.h5)")
    task = m["task"]
    return MegFile(path, task, MEG_TASKS[task], m["subject"], int(m["chunk"]))


def read_meg_h5(path: str | Path, sfreq: float = HCP_SFREQ, ch_names: list[str] | None = None,
                start: int = 0, stop: int | None = None, **_: object) -> Recording:
    """Read one HCP-style MEG file as a :class:`Recording` ``(248, n_times)`` float32, tesla.

    Args:
        path: the ``.h5`` file.
        sfreq: sampling rate in Hz (not stored in the files; HCP: 2034).
        ch_names: channel names; default ``A1 .. A<n>`` (HCP order).
        start, stop: read only samples ``[start, stop)`` (the rest stays on disk).

    The recording's subject is the one in the name, ``session`` the chunk number, and one
    annotation spanning the whole recording carries the class name.
    """
    import h5py

    info = parse_meg_name(path)
    try:
        with h5py.File(info.path, "r") as f:
            if info.dataset not in f:
                raise DataError(f"{info.path}: expected a dataset named {info.dataset!r}; "
                                f"found {', '.join(f.keys()) or 'none'}")
            ds = f[info.dataset]
            if ds.ndim != 2:
                raise DataError(f"{info.path}: dataset {info.dataset!r} must be 2-D (channels x time); "
                                f"got shape {ds.shape}")
            _check_dataset(info.path, ds)
            data = np.asarray(ds[:, start:stop], dtype=np.float32)
    except DataError:
        raise
    except Exception as exc:  # h5py raises OSError, RuntimeError, KeyError, ValueError... on corrupt files
        raise DataError(f"{info.path}: cannot read as HDF5 ({type(exc).__name__}: {exc})") from None
    names = ch_names or (magnes_names() if data.shape[0] == 248 else [f"A{i + 1}" for i in range(data.shape[0])])
    if len(names) != data.shape[0]:
        raise DataError(f"{info.path}: {data.shape[0]} channels but {len(names)} channel names given")
    if not np.isfinite(data).all():
        raise DataError(f"{info.path}: data contain NaN or infinite values")
    duration = data.shape[1] / sfreq
    return Recording(data=data, sfreq=float(sfreq), ch_names=list(names), ch_types=["mag"] * len(names),
                     subject=info.subject, session=str(info.chunk),
                     annotations=Annotations([0.0], [duration], [info.label]), source=str(info.path))


#: A dataset may declare at most this many times the file's size (HDF5 compression of MEG is far lower).
MAX_EXPANSION = 64


def _check_dataset(path: Path, ds: Any) -> None:
    """Refuse a dataset that is not real numbers, or that declares far more data than the file holds."""
    kind = ds.dtype.kind
    if kind not in "iuf":
        what = {"c": "complex numbers", "b": "booleans"}.get(kind, f"{ds.dtype} values")
        raise DataError(f"{path}: dataset holds {what}; expected real-valued MEG samples (float)")
    declared = int(np.prod(ds.shape, dtype=np.float64)) * 4
    size = path.stat().st_size
    if declared > MAX_EXPANSION * size + (64 << 20):
        raise DataError(f"{path}: dataset declares shape {ds.shape} ({declared} bytes as float32) but the file holds "
                        f"{size} bytes; the file is corrupt")


def meg_length(path: str | Path) -> tuple[int, int]:
    """``(n_channels, n_times)`` of a file without reading its data."""
    import h5py

    info = parse_meg_name(path)
    try:
        with h5py.File(info.path, "r") as f:
            if info.dataset not in f:
                raise DataError(f"{info.path}: expected a dataset named {info.dataset!r}; "
                                f"found {', '.join(f.keys()) or 'none'}")
            shape = f[info.dataset].shape
            _check_dataset(info.path, f[info.dataset])
    except DataError:
        raise
    except Exception as exc:  # h5py raises OSError, RuntimeError, KeyError, ValueError... on corrupt files
        raise DataError(f"{info.path}: cannot read as HDF5 ({type(exc).__name__}: {exc})") from None
    if len(shape) != 2:
        raise DataError(f"{info.path}: dataset {info.dataset!r} must be 2-D (channels x time); got shape {shape}")
    return int(shape[0]), int(shape[1])


def find_meg_files(folder: str | Path) -> list[MegFile]:
    """Every ``*.h5`` in ``folder`` (not recursive), parsed; a wrongly named file is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: MEG folder not found")
    files = [parse_meg_name(p) for p in sorted(folder.glob("*.h5"))]
    if not files:
        raise DataError(f"{folder}: no .h5 files (expected <task>_<subject>_<chunk>.h5)")
    return sorted(files, key=lambda m: (m.subject, m.task, m.chunk))


register_reader(".h5", read_meg_h5)
