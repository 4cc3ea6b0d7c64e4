"""Helpers shared by the benchmark scripts: child-process measurement and RESULTS.md sections."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def measure(code: str, repeats: int = 3) -> dict[str, float]:
    """Run ``code`` in fresh Python processes; medians of what it reports, plus peak RSS (MiB).

    ``code`` must print one JSON object with a ``seconds`` key as its last line (other numeric
    keys are kept too); peak memory is the child's ``ru_maxrss`` as seen by a small wrapper process.
    """
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "p = subprocess.run([sys.executable, '-c', sys.argv[1]], capture_output=True, text=True)\n"
        "if p.returncode: sys.stderr.write(p.stderr); sys.exit(p.returncode)\n"
        "out = json.loads(p.stdout.strip().splitlines()[-1])\n"
        "out['peak_mib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps(out))\n"
    )
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", wrapper, code], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"benchmark child failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and all(k in r for r in runs)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, text: str) -> None:
    """Replace the ``<!-- name:start -->`` ... ``<!-- name:end -->`` section of RESULTS.md (atomic)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{text.strip()}\n{end}"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, prefix=".RESULTS.")
    with os.fdopen(fd, "w") as fh:
        fh.write(new)
    os.replace(tmp, RESULTS)
