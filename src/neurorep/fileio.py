"""File helpers shared by every writer: atomic writes, strict JSON, writable output folders, run
markers and temporary folders beside an output."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neurorep.errors import ConfigError, DataError

#: File that marks a folder as created by neurorep (a run or benchmark folder); only such a folder
#: may be replaced by ``--overwrite``.
RUN_MARKER = ".neurorep-run"


def atomic_write(target: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``target``, then rename it into place.

    An interrupted or failing write leaves ``target`` as it was and no temporary file behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; written results are meant to be shared
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return target


def atomic_write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically."""
    return atomic_write(target, lambda p: p.write_text(text, newline=""))


def check_writable(path: str | Path, what: str) -> None:
    """Refuse a folder that is not writable, or that could not be created (nearest existing parent)."""
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise DataError(f"{path}: cannot create the {what}: {probe} is a file")
    if not os.access(probe, os.W_OK):
        where = "" if probe == path else f" (its parent {probe} is read-only)"
        raise DataError(f"{path}: {what} is not writable{where}")


def ensure_writable_dir(path: str | Path, what: str) -> Path:
    """Create folder ``path`` if needed; a folder that cannot be created or written is a :class:`DataError`."""
    path = Path(path)
    check_writable(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{path}: cannot create the {what} ({exc.strerror})") from None
    if not os.access(path, os.W_OK):
        raise DataError(f"{path}: {what} is not writable")
    return path


@contextmanager
def removed_on_error(path: str | Path) -> Iterator[Path]:
    """Remove folder ``path`` again if it did not exist before and the block fails on bad input.

    Only a :class:`~neurorep.errors.NeurorepError` (a user mistake or bad file), an ``OSError``
    (full disk, permissions) or a ``MemoryError`` (an input too large for this machine) triggers the
    clean-up, so an interrupted or crashed run keeps what it wrote for ``--resume``; a folder that
    already existed is never touched.
    """
    from neurorep.errors import NeurorepError

    path = Path(path)
    existed = path.exists() or path.is_symlink()
    try:
        yield path
    except (NeurorepError, OSError, MemoryError):
        if not existed and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        raise


@contextmanager
def building_dir(final: str | Path, marker: str = "COMPLETE") -> Iterator[Path]:
    """Build folder ``final`` so that nobody ever sees it half-written.

    Yields an empty ``.<name>.partial-<pid>`` folder beside ``final``; when the block succeeds the
    ``marker`` file is written and the folder renamed to ``final`` (if another process finished the
    same folder first, theirs is kept). Whatever happens, the partial folder is removed.
    """
    final = Path(final)
    tmp = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        (tmp / marker).write_text("ok\n")
        if not final.exists():
            os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def plain_json(value: Any) -> Any:
    """``value`` with NumPy scalars/arrays and paths made plain and NaN/Infinity made ``None``."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, np.generic):
        return plain_json(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def json_text(data: Any, indent: int | None = 1, default: Callable[[Any], Any] | None = None) -> str:
    """Standard JSON for ``data``: non-finite numbers become ``null`` (never bare NaN/Infinity)."""
    return json.dumps(plain_json(data), indent=indent, allow_nan=False, default=default)


def write_json(path: str | Path, data: Any, indent: int | None = 1) -> Path:
    """Write ``data`` as standard JSON, atomically (temporary file + rename)."""
    return atomic_write_text(path, json_text(data, indent=indent))


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """Read a JSON file; a missing, unreadable or malformed one is a one-line :class:`DataError`."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: unreadable {what} ({type(exc).__name__}: {exc})") from None


def mark_run_dir(path: str | Path) -> Path:
    """Write the marker that says neurorep created folder ``path`` (so ``--overwrite`` may replace it)."""
    marker = Path(path) / RUN_MARKER
    if not marker.is_file():
        atomic_write_text(marker, "made by neurorep; --overwrite may replace this folder\n")
    return Path(path)


def replace_made_dir(path: str | Path, option: str = "--overwrite") -> None:
    """Remove folder ``path`` for ``option``, but only if neurorep made it (it holds :data:`RUN_MARKER`).

    A folder of the user's own files is refused with a :class:`ConfigError` and left untouched.
    """
    path = Path(path)
    if path.is_symlink() or not (path / RUN_MARKER).is_file():
        raise ConfigError(f"{path}: folder was not made by neurorep (no {RUN_MARKER} marker); {option} replaces "
                          "only folders neurorep made, so move or delete it yourself or choose another folder")
    shutil.rmtree(path)


def inside(path: str | Path, root: str | Path, what: str) -> Path:
    """``path`` resolved against ``root``; an absolute path or one that leaves ``root`` is a :class:`ConfigError`."""
    raw = Path(path)
    if raw.is_absolute() or str(path).startswith("~"):
        raise ConfigError(f"{what}: {str(path)!r} is absolute; a path in a config file must stay inside {root} "
                          "(give --out on the command line for another place)")
    root = Path(root).resolve()
    full = (root / raw).resolve()
    if full != root and root not in full.parents:
        raise ConfigError(f"{what}: {str(path)!r} leaves {root}; a path in a config file must stay inside it "
                          "(give --out on the command line for another place)")
    return full


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: str | Path, pattern: str) -> None:
    """Remove entries of ``folder`` matching glob ``pattern`` (names ending in ``-<pid>``) whose process
    no longer runs: temporary files and folders left by a killed command."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for p in folder.glob(pattern):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


@contextmanager
def temp_dir_beside(target: str | Path) -> Iterator[Path]:
    """A temporary folder ``.<name>.tmp-<pid>`` beside ``target``, removed afterwards.

    Temporary files stay on the output's file system (not in ``$TMPDIR``); folders left by a killed
    process are removed by the next call for the same target.
    """
    target = Path(target)
    prefix = f".{target.name}.tmp-"
    remove_stale_temps(target.parent, f"{prefix}*")
    tmp = target.parent / f"{prefix}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
