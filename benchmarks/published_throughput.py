"""Throughput of neurorep's published-model encoders against the reference implementation.

For each architecture (published default size, random weights, 4-class head) and the same input
``[batch, 19, n_times]``, windows/s of ``forward`` (eval, no grad) and of a training step (train
mode, cross-entropy, backward, SGD step) are measured for neurorep's model and braindecode's in
the same process, with one thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), calls
alternating ours / reference so that both see the same machine load. ``--rounds`` fresh
processes each give one median; the table gives the median over rounds and the ratio
ours / reference.

The process runs in the scratch environment that holds braindecode 1.8.1
(``tests/fixtures/published/make_fixtures.py`` describes it; add ``pyyaml`` and ``rich`` there so
that neurorep imports) with neurorep's ``src`` on ``PYTHONPATH``; braindecode is never a
dependency of neurorep, and both implementations use that environment's torch.

    python benchmarks/published_throughput.py --reference-python /tmp/bdref/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CH_NAMES = ["FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T7", "C3", "CZ", "C4", "T8", "P7", "P3", "PZ", "P4",
            "P8", "O1", "O2"]
# name -> (reference class, n_times, sfreq)
CASES = {"cbramod": ("CBraMod", 2000, 200), "biot": ("BIOT", 2000, 200), "labram": ("Labram", 2000, 200),
         "eegpt": ("EEGPT", 1024, 256)}

CHILD = r"""
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(1)
import braindecode.models as bm
from neurorep.hub import load_published
name, cls_name, n_times, sfreq, batch, repeats, ch_names = sys.argv[1:8]
n_times, sfreq, batch, repeats, ch_names = int(n_times), float(sfreq), int(batch), int(repeats), ch_names.split(",")
torch.manual_seed(0)
models = {"ours": (load_published(name, None, len(ch_names), n_times, sfreq, n_outputs=4, ch_names=ch_names), {}),
          "reference": (getattr(bm, cls_name)(n_chans=len(ch_names), n_outputs=4, n_times=n_times, sfreq=sfreq),
                        {"ch_names": ch_names} if cls_name == "Labram" else {})}
x = torch.randn(batch, len(ch_names), n_times, generator=torch.Generator().manual_seed(1))
y = torch.randint(0, 4, (batch,), generator=torch.Generator().manual_seed(2))
opts = {k: torch.optim.SGD(m.parameters(), lr=1e-4) for k, (m, _) in models.items()}

def forward(impl):
    model, fkw = models[impl]
    with torch.no_grad():
        model(x, **fkw)

def step(impl):
    model, fkw = models[impl]
    opts[impl].zero_grad()
    torch.nn.functional.cross_entropy(model(x, **fkw), y).backward()
    opts[impl].step()

out = {}
for key, fn, mode in (("forward", forward, "eval"), ("train_step", step, "train")):
    times = {impl: [] for impl in models}
    for impl, (model, _) in models.items():
        getattr(model, mode)()
        fn(impl)  # warm-up
    for _ in range(repeats):
        for impl in models:  # alternate
            t0 = time.perf_counter()
            fn(impl)
            times[impl].append(time.perf_counter() - t0)
    for impl, ts in times.items():
        out[f"{impl}_{key}"] = batch / statistics.median(ts)
print(json.dumps(out))
"""


def run_child(python: str, name: str, batch: int, repeats: int) -> dict[str, float]:
    cls_name, n_times, sfreq = CASES[name]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    args = [python, "-c", CHILD, name, cls_name, str(n_times), str(sfreq), str(batch), str(repeats), ",".join(CH_NAMES)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-python", required=True, help="python of the scratch env holding braindecode 1.8.1")
    parser.add_argument("--models", default=",".join(CASES))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    rows = []
    for name in args.models.split(","):
        runs = [run_child(args.reference_python, name, args.batch, args.repeats) for _ in range(args.rounds)]
        med = {impl: {k: statistics.median(r[f"{impl}_{k}"] for r in runs) for k in ("forward", "train_step")}
               for impl in ("ours", "reference")}
        _, n_times, sfreq = CASES[name]
        rows.append(f"| {name} | 19 x {n_times} @ {sfreq:g} Hz | {med['ours']['forward']:.1f} | "
                    f"{med['reference']['forward']:.1f} | {med['ours']['forward'] / med['reference']['forward']:.2f} | "
                    f"{med['ours']['train_step']:.1f} | {med['reference']['train_step']:.1f} | "
                    f"{med['ours']['train_step'] / med['reference']['train_step']:.2f} |")
        print(rows[-1], flush=True)
    text = "\n".join([
        "## Published models: neurorep vs braindecode 1.8.1 (`benchmarks/published_throughput.py`)",
        "",
        f"Windows/s, one thread, batch {args.batch}, published default sizes with random weights and a 4-class "
        f"head; both implementations in one process (braindecode's environment, same torch), calls alternating "
        f"ours / reference, {args.repeats} timed calls each after one warm-up; median over {args.rounds} processes. "
        f"Ratio = ours / reference (> 1: ours faster). "
        f"Machine: {machine()}; other jobs may have shared it. Two runs on this shared 2-core machine differed "
        "by up to 0.1 in a ratio, so ratios within 0.1 of 1 read as parity.",
        "",
        "| model | input | forward ours | forward ref | ratio | train step ours | train step ref | ratio |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    if not args.no_write:
        write_section("published_throughput", text)
    print(text)


if __name__ == "__main__":
    main()
