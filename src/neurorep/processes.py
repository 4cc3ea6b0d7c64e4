"""Worker processes that never outlive the command that started them.

Every process pool in neurorep (``data prepare --jobs``, ``benchmark --jobs``, the simulators)
comes from :func:`worker_pool`. Its workers ask the Linux kernel to kill them when their parent
dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so a SIGKILL of the command (``timeout -s KILL``, an
out-of-memory kill) ends them too; a watchdog thread that polls the parent's pid does the same on
systems without ``prctl``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

PR_SET_PDEATHSIG = 1
#: Seconds between the watchdog's checks of the parent process.
WATCHDOG_PERIOD_S = 1.0


def _set_pdeathsig() -> bool:
    """Ask the kernel to SIGKILL this process when its parent thread exits (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_PERIOD_S)
        if os.getppid() != parent:  # re-parented: the command that started us is gone
            os._exit(1)


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this process as soon as process ``parent`` is gone."""
    _set_pdeathsig()
    if os.getppid() != parent:  # the parent died before the kernel was asked
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="neurorep-parent-watchdog", daemon=True).start()


def worker_pool(jobs: int, method: str | None = "spawn") -> ProcessPoolExecutor:
    """A pool of ``jobs`` processes (start ``method``; ``None`` for the platform default) that die with this one."""
    ctx = get_context(method) if method else get_context()
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=die_with_parent,
                               initargs=(os.getpid(),))
