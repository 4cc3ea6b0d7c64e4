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
from tests.reliability.malformed_bombs import BOMBS

PEAK_LIMIT_KB = 1024 * 1024  # 1 GB
TIME_LIMIT_S = 60.0  # generous for a loaded 2-core machine; each case takes 1-5 s there when idle
#: Runs ``neurorep ARGV`` and reports the process's own peak resident memory (KB) on its last stderr line.
#: ``VmHWM`` counts only this program's memory; ``getrusage`` would include what the forking pytest
#: worker held before ``exec``.
_MEASURED = ("import runpy, sys\n"
             "sys.argv = ['neurorep', *sys.argv[1:]]\n"
             "code = 0\n"
             "try:\n"
             "    runpy.run_module('neurorep.cli', run_name='__main__')\n"
             "except SystemExit as exc:\n"
             "    code = exc.code\n"
             "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
             "sys.stderr.write(f'PEAK_KB {hwm}\\n')\n"
             "sys.exit(code)\n")


def test_bombs_are_in_the_corpus() -> None:
    assert len(BOMBS) >= 10 and set(BOMBS) <= set(CASES)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="peak memory is read from /proc")
@pytest.mark.parametrize("name", BOMBS)
def test_bomb_is_cheap(name: str, tmp_path: Path) -> None:
    c = CASES[name](tmp_path)
    env = {**os.environ, "NEUROREP_LOG_DIR": str(tmp_path / "logs"), "TMPDIR": str(tmp_path)}
    env.pop("NEUROREP_DEBUG", None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *c.argv], env=env, capture_output=True, text=True,
                          timeout=300)
    elapsed = time.perf_counter() - t0
    *lines, peak = proc.stderr.strip().splitlines()
    assert peak.startswith("PEAK_KB "), proc.stderr
    assert proc.returncode == 2, f"{name}: exit {proc.returncode}: {proc.stderr}"
    assert len(lines) == 1 and lines[0].startswith("neurorep: error: "), proc.stderr
    assert int(peak.split()[1]) < PEAK_LIMIT_KB, f"{name}: peak memory {int(peak.split()[1]) / 1024:.0f} MB"
    assert elapsed < TIME_LIMIT_S, f"{name}: took {elapsed:.1f} s"
