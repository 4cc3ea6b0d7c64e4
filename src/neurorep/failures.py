"""How the command line reports a failure: one line for bad input, a log file for a bug.

:func:`user_message` recognises the failures a user or their machine causes (a
:class:`~neurorep.errors.NeurorepError`, an ``OSError`` such as a full disk, a missing
permission or a symlink loop, running out of memory) and words them as one line naming the file.
Anything else is a bug in neurorep: :func:`bug_report` writes the full traceback to a log file
(``$NEUROREP_LOG_DIR``, else ``~/.neurorep/logs``, else the temporary folder) and returns the
short message that says where it is.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
import traceback
from pathlib import Path

from neurorep.errors import NeurorepError

LOG_ENV = "NEUROREP_LOG_DIR"
DEBUG_ENV = "NEUROREP_DEBUG"

_OS_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space and run the command again",
    errno.EDQUOT: "disk quota exceeded; free some space and run the command again",
    errno.EROFS: "the file system is read-only",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long",
}


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line (whitespace runs collapsed), at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def user_message(exc: BaseException) -> str | None:
    """The one-line message for a failure caused by input or environment, or ``None`` for a bug."""
    if isinstance(exc, NeurorepError):
        return one_line(str(exc))
    if isinstance(exc, OSError):
        what = _OS_HINTS.get(exc.errno or -1) or exc.strerror or type(exc).__name__
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        return one_line(f"{' -> '.join(names)}: {what}" if names else what)
    if isinstance(exc, MemoryError):
        return "not enough memory for this input (MemoryError); try a smaller input or a machine with more memory"
    return None


def log_dir() -> Path:
    """Where crash logs go: ``$NEUROREP_LOG_DIR``, else ``~/.neurorep/logs``."""
    env = os.environ.get(LOG_ENV)
    return Path(env).expanduser() if env else Path("~/.neurorep/logs").expanduser()


def bug_report(exc: BaseException, argv: list[str] | None) -> str:
    """Write the traceback of an unexpected ``exc`` to a log file; return the one-line message for stderr."""
    text = f"neurorep {' '.join(argv or [])}\n" + "".join(traceback.format_exception(exc))
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path: Path | None = None
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
            path = folder / name
            break
        except OSError:
            continue
    where = f"the full traceback is in {path}" if path else "the traceback could not be written to a log file"
    return one_line(f"internal error ({type(exc).__name__}: {exc}); this is a bug in neurorep, please report it "
                    f"with that log; {where} (or rerun with {DEBUG_ENV}=1 to print it)", limit=1000)
