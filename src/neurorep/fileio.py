"""File helpers shared by every writer: atomic writes and writable output folders."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
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


def ensure_writable_dir(path: str | Path, what: str) -> Path:
    """Create folder ``path`` if needed; a folder that cannot be created or written is a :class:`DataError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{path}: cannot create the {what} ({exc.strerror})") from None
    if not os.access(path, os.W_OK):
        raise DataError(f"{path}: {what} is not writable")
    return path
