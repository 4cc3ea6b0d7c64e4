"""Inputs built to exhaust memory are refused quickly and cheaply: each runs as its own ``neurorep``
process, which must fail with one line, stay under 1 GB of peak memory and finish in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.malformed import CASES
from tests.reliability.malformed_integrity import BOMBS

PEAK_LIMIT_KB = 1024 * 1024  # 1 GB
TIME_LIMIT_S = 30.0


def test_bombs_are_in_the_corpus() -> None:
    assert len(BOMBS) >= 10 and set(BOMBS) <= set(CASES)


@pytest.mark.parametrize("name", BOMBS)
def test_bomb_is_cheap(name: str, tmp_path: Path) -> None:
    c = CASES[name](tmp_path)
    env = {**os.environ, "NEUROREP_LOG_DIR": str(tmp_path / "logs"), "TMPDIR": str(tmp_path)}
    env.pop("NEUROREP_DEBUG", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "neurorep.cli", *c.argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 2, f"{name}: exit {proc.returncode}: {err}"
    assert len(err.strip().splitlines()) == 1, err
    assert usage.ru_maxrss < PEAK_LIMIT_KB, f"{name}: peak memory {usage.ru_maxrss / 1024:.0f} MB"
    assert elapsed < TIME_LIMIT_S, f"{name}: took {elapsed:.1f} s"
