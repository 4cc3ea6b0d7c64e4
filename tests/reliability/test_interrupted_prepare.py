"""A cache preparation killed midway (SIGKILL) is never taken for complete, and the next call rebuilds it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from neurorep.data.cache import COMPLETE, prepare

KILL_ON_SECOND_RECORDING = """
import os, signal, sys
from neurorep.data import cache

real = cache._prepare_one
calls = []

def killing(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:  # the first recording's windows are on disk, the cache is not finished
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)

cache._prepare_one = killing
from neurorep.cli import main
sys.exit(main({argv!r}))
"""


def test_killed_preparation_is_rebuilt(sleep_folder: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    argv = ["data", "prepare", str(sleep_folder), "--out", str(root)]
    proc = subprocess.run([sys.executable, "-c", KILL_ON_SECOND_RECORDING.format(argv=argv)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    leftovers = list(root.iterdir())
    assert leftovers and all(p.name.startswith(".") and ".partial-" in p.name for p in leftovers)
    assert not any((p / COMPLETE).exists() for p in leftovers)
    assert any((p / "x" / "00000.npy").exists() for p in leftovers)  # it really was killed mid-way

    report = prepare(sleep_folder, root, progress=False)
    assert not report.reused and report.cache.info.n_windows > 0
    assert len(report.cache.info.recordings) == 3
    assert [p.name for p in root.iterdir()] == [report.cache.path.name]  # the dead partial is gone
    assert prepare(sleep_folder, root, progress=False).reused
