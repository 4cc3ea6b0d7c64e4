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
    keys are kept too); ``process_s`` is the child's whole wall time (interpreter start, imports and
    exit included: the cold-start figure); peak memory is the child's ``ru_maxrss`` as seen by a
    small wrapper process.
    """
    wrapper = (
        "import resource, subprocess, sys, json, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run([sys.executable, '-c', sys.argv[1]], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "if p.returncode: sys.stderr.write(p.stderr); sys.exit(p.returncode)\n"
        "out = json.loads(p.stdout.strip().splitlines()[-1])\n"
        "out['process_s'] = wall\n"
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


def interleaved(codes: dict[str, str], repeats: int, env: dict[str, str] | None = None
                ) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Run every code of ``codes`` once per round, in turn (A, B, C, A, B, C, ...), for ``repeats``
    rounds, so that drifting machine load hits all alike; medians per name, and the 1-minute load
    average at the start of each round."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in codes}
    loads = []
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        for _ in range(repeats):
            loads.append(os.getloadavg()[0])
            for name, code in codes.items():
                runs[name].append(measure(code, 1))
    finally:
        os.environ.clear()
        os.environ.update(old)
    out = {}
    for name, rs in runs.items():
        keys = [k for k in rs[0] if all(k in r for r in rs)]
        out[name] = {k: statistics.median(r[k] for r in rs) for k in keys}
    return out, loads


def load_note(loads: list[float]) -> str:
    """The load averages seen, flagged when above the core count (figures then measure contention too)."""
    cores = os.cpu_count() or 1
    high = sum(v > cores for v in loads)
    text = f"load average {min(loads):.1f}-{max(loads):.1f} on {cores} cores"
    if high:
        text += f" (**flagged: above the core count in {high} of {len(loads)} rounds**)"
    return text


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
