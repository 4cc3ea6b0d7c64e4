"""Throughput of neurorep's published-model encoders against the reference implementation.

For each architecture (published default size, random weights, 4-class head) and the same input
``[batch, 19, n_times]``, one child process measures windows/s of ``forward`` (eval, no grad)
and of a training step (train mode, cross-entropy, backward, SGD step). Children alternate
ours / reference, ``--rounds`` times, all with one thread (``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``); the table gives the medians and the ratio ours / reference.

The reference is braindecode 1.8.1 in the scratch environment described in
``tests/fixtures/published/make_fixtures.py`` (``--reference-python``); braindecode is never
imported by neurorep.

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
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(1)
impl, name, cls_name, n_times, sfreq, batch, repeats, ch_names = sys.argv[1:9]
n_times, sfreq, batch, repeats, ch_names = int(n_times), float(sfreq), int(batch), int(repeats), ch_names.split(",")
torch.manual_seed(0)
fkw = {}
if impl == "ours":
    from neurorep.hub import load_published
    model = load_published(name, None, len(ch_names), n_times, sfreq, n_outputs=4, ch_names=ch_names)
else:
    import braindecode.models as m
    model = getattr(m, cls_name)(n_chans=len(ch_names), n_outputs=4, n_times=n_times, sfreq=sfreq)
    if cls_name == "Labram":
        fkw = {"ch_names": ch_names}
x = torch.randn(batch, len(ch_names), n_times, generator=torch.Generator().manual_seed(1))
y = torch.randint(0, 4, (batch,), generator=torch.Generator().manual_seed(2))
opt = torch.optim.SGD(model.parameters(), lr=1e-4)

def forward():
    with torch.no_grad():
        model(x, **fkw)

def step():
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x, **fkw), y).backward()
    opt.step()

out = {}
for key, fn, mode in (("forward", forward, "eval"), ("train_step", step, "train")):
    getattr(model, mode)()
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    out[key] = batch * repeats / (time.perf_counter() - t0)
print(json.dumps(out))
"""


def run_child(python: str, impl: str, name: str, batch: int, repeats: int) -> dict[str, float]:
    cls_name, n_times, sfreq = CASES[name]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    if impl == "reference":
        env.pop("PYTHONPATH")
    args = [python, "-c", CHILD, impl, name, cls_name, str(n_times), str(sfreq), str(batch), str(repeats),
            ",".join(CH_NAMES)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{impl} {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-python", required=True, help="python of the scratch env holding braindecode 1.8.1")
    parser.add_argument("--models", default=",".join(CASES))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    rows = []
    for name in args.models.split(","):
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "reference": []}
        for _ in range(args.rounds):  # interleaved
            runs["ours"].append(run_child(sys.executable, "ours", name, args.batch, args.repeats))
            runs["reference"].append(run_child(args.reference_python, "reference", name, args.batch, args.repeats))
        med = {impl: {k: statistics.median(r[k] for r in rs) for k in ("forward", "train_step")}
               for impl, rs in runs.items()}
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
        f"head; median of {args.rounds} interleaved child processes each (ours, reference, ours, ...), "
        f"{args.repeats} timed calls after one warm-up. Ratio = ours / reference (> 1: ours faster). "
        f"Machine: {machine()}; other jobs may have shared it.",
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
