"""File helpers shared by every writer: atomic writes and writable output folders."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from neurorep.errors import DataError


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

    Only a :class:`~neurorep.errors.NeurorepError` (a user mistake or bad file) triggers the
    clean-up, so an interrupted or crashed run keeps what it wrote for ``--resume``; a folder that
    already existed is never touched.
    """
    from neurorep.errors import NeurorepError

    path = Path(path)
    existed = path.exists()
    try:
        yield path
    except NeurorepError:
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
