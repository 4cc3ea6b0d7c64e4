"""``eeg_foundation`` against braindecode's CBraMod and BIOT at (nearly) equal parameter counts.

Windows/s of ``forward`` (eval, no grad) and of a training step (train mode, cross-entropy,
backward, SGD step) on ``[batch, 19, 2000]`` (10 s at 200 Hz), random weights, 4-class heads.
All models of one comparison live in one process and are called in turn (A, B, C, A, B, C, ...),
so they see the same machine load; ``--rounds`` fresh processes give one median each and the
table gives the median over rounds, at one thread and at all threads. FLOPs per window come from
``torch.utils.flop_counter`` (forward), so the table also gives the achieved GFLOP/s.

Comparisons (parameters at 19 x 2000):

* CBraMod size: braindecode ``CBraMod`` (5.08M) vs ``eeg_foundation`` ``d_model=200, n_layers=7,
  d_ff=800`` (4.93M) with 50 % patch overlap and dropout everywhere (the settings before the
  ``base`` preset) and the ``base`` preset (no overlap, no attention-weight dropout);
* BIOT size: braindecode ``BIOT`` (3.19M) vs ``base`` with ``n_layers=4`` (3.00M).

braindecode is not a dependency of neurorep: the children run in a scratch environment holding
braindecode 1.8.1 and its imports (``--reference-python``), with neurorep's ``src`` on ``PYTHONPATH``
and that environment's torch for both sides.

    python benchmarks/foundation_throughput.py --reference-python /tmp/bdref/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = {"preset": "base"}
OVERLAP = {"d_model": 200, "n_heads": 8, "n_layers": 7, "d_ff": 800, "overlap": 100}
#: comparison -> {label: ("ours", create_model kwargs) or ("ref", braindecode class)}
CASES: dict[str, dict[str, tuple[str, object]]] = {
    "cbramod": {"CBraMod (braindecode)": ("ref", "CBraMod"), "eeg_foundation, 50 % overlap": ("ours", OVERLAP),
                "eeg_foundation base": ("ours", BASE)},
    "biot": {"BIOT (braindecode)": ("ref", "BIOT"), "eeg_foundation base, 4 layers": ("ours", {**BASE, "n_layers": 4})},
}

CHILD = r"""
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
from torch.utils.flop_counter import FlopCounterMode
threads, batch, repeats, spec = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(threads)
import braindecode.models as bm
from neurorep.models import create_model
C, T, SFREQ = 19, 2000, 200
torch.manual_seed(0)
models = {}
for label, (kind, what) in spec.items():
    if kind == "ref":
        m = getattr(bm, what)(n_chans=C, n_outputs=4, n_times=T, sfreq=SFREQ)
        models[label] = (m, m)
    else:
        m = create_model("eeg_foundation", n_channels=C, n_times=T, **what)
        m.add_classification_head(4)
        models[label] = (m, m.classify)
x = torch.randn(batch, C, T, generator=torch.Generator().manual_seed(1))
y = torch.randint(0, 4, (batch,), generator=torch.Generator().manual_seed(2))
opts = {k: torch.optim.SGD(m.parameters(), lr=1e-4) for k, (m, _) in models.items()}
out = {}
for label, (m, call) in models.items():
    m.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        call(x[:1])
    out[label] = {"params": sum(p.numel() for p in m.parameters()), "gflop": fc.get_total_flops() / 1e9}

def forward(label):
    with torch.no_grad():
        models[label][1](x)

def step(label):
    opts[label].zero_grad()
    torch.nn.functional.cross_entropy(models[label][1](x), y).backward()
    opts[label].step()

for key, fn, mode in (("forward", forward, "eval"), ("train_step", step, "train")):
    times = {k: [] for k in models}
    for label, (m, _) in models.items():
        getattr(m, mode)()
        fn(label)  # warm-up
    for _ in range(repeats):
        for label in models:
            t0 = time.perf_counter()
            fn(label)
            times[label].append(time.perf_counter() - t0)
    for label, ts in times.items():
        out[label][key] = batch / statistics.median(ts)
print(json.dumps(out))
"""


def run_child(python: str, case: str, threads: int, batch: int, repeats: int) -> dict[str, dict[str, float]]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": str(ROOT / "src")}
    args = [python, "-c", CHILD, str(threads), str(batch), str(repeats), json.dumps(CASES[case])]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{case} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-python", required=True, help="python of the scratch env holding braindecode 1.8.1")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    rows, loads, goals = [], [], []
    for case in args.cases.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            runs = []
            for _ in range(args.rounds):
                loads.append(os.getloadavg()[0])
                runs.append(run_child(args.reference_python, case, threads, args.batch, args.repeats))
            labels = list(CASES[case])
            med = {k: {m: statistics.median(r[k][m] for r in runs) for m in ("forward", "train_step")} for k in labels}
            ref = labels[0]
            for k in labels:
                info = runs[0][k]
                fw, tr = med[k]["forward"], med[k]["train_step"]
                rows.append(f"| {threads} | {k} | {info['params'] / 1e6:.2f} M | {info['gflop']:.2f} | {fw:.1f} | "
                            f"{fw * info['gflop']:.0f} | {fw / med[ref]['forward']:.2f} | {tr:.1f} | "
                            f"{tr / med[ref]['train_step']:.2f} |")
                if "base" in k:
                    goals.append(min(fw / med[ref]["forward"], tr / med[ref]["train_step"]))
            print("\n".join(rows[-len(labels):]), flush=True)
    text = "\n".join([
        "## eeg_foundation vs braindecode's CBraMod and BIOT at equal size (`benchmarks/foundation_throughput.py`)",
        "",
        f"Windows/s on 19 x 2000 (10 s at 200 Hz), batch {args.batch}, random weights, 4-class heads; the models "
        f"of one comparison in one process (braindecode 1.8.1's scratch environment, same torch), called in turn, "
        f"{args.repeats} timed calls each after a warm-up; median over {args.rounds} processes per row group. "
        "Ratio = model / the braindecode reference of its group (> 1: faster). GFLOP per window: forward, "
        "counted by `torch.utils.flop_counter`. "
        f"Machine: {machine()}; {load_note(loads)}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"Command: `python benchmarks/foundation_throughput.py --reference-python PY --threads {args.threads} "
        f"--rounds {args.rounds}`.",
        "",
        "| threads | model | parameters | GFLOP / window | forward windows/s | forward GFLOP/s | ratio | "
        "train step windows/s | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Goal >= 1x the reference forward and training: lowest ratio of the `base` rows {min(goals):.2f} "
        f"({'met' if min(goals) >= 1 else 'missed'}).",
    ])
    if not args.no_write:
        write_section("foundation_throughput", text)
    print(text)


if __name__ == "__main__":
    main()
