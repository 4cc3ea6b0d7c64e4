"""Run every benchmark script; each writes its own section of benchmarks/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = ["read_edf.py", "prepare_windows.py", "loader_throughput.py", "training_overhead.py", "latent_memory.py",
           "inference_onnx.py", "meg_stream_memory.py", "foundation_presets.py", "sim_difficulty.py"]


def main() -> int:
    here = Path(__file__).parent
    failed = []
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        if subprocess.run([sys.executable, str(here / script)]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"results: {here / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
