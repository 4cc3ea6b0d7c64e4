"""Parameters, peak memory and CPU inference time of the ``eeg_foundation`` presets.

Usage (from the repository root)::

    .venv/bin/python benchmarks/foundation_presets.py                 # base, small, medium, large; one thread
    .venv/bin/python benchmarks/foundation_presets.py --presets small --repeats 1 --no-write

Input: one 50-s HMS segment, 19 channels x 10000 samples (200 Hz, no resampling), batch 1, in
``torch.no_grad``. Each preset is measured in fresh Python processes (``benchmarks/_common.measure``):
the child builds the model, runs one warm-up forward pass and then ``--calls`` timed passes and
reports their median; the table gives the median over ``--repeats`` processes and the child's
peak resident memory (interpreter, torch, weights and activations). Parameter counts are exact
(built on the meta device). Only this script's section of RESULTS.md is rewritten.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, machine, measure, write_section

CHILD = """
import json, statistics, time, torch
from neurorep.models import create_model
torch.set_num_threads({threads})
torch.manual_seed(0)
model = create_model("eeg_foundation", preset={preset!r}, n_channels=19, n_times=10000).eval()
x = torch.randn(1, 19, 10000)
with torch.no_grad():
    model(x)
    times = []
    for _ in range({calls}):
        t = time.perf_counter(); model(x); times.append(time.perf_counter() - t)
print(json.dumps({{"seconds": statistics.median(times)}}))
"""


def n_params(preset: str) -> int:
    import torch

    from neurorep.models import create_model

    with torch.device("meta"):
        model = create_model("eeg_foundation", preset=preset, n_channels=19, n_times=10000)
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["base", "small", "medium", "large"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: figures that do not measure "
                        "scheduling stalls on a shared machine)")
    parser.add_argument("--repeats", type=int, default=1, help="fresh processes per preset")
    parser.add_argument("--calls", type=int, default=2, help="timed forward passes per process")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from neurorep.encoders.eeg_foundation import PRESETS
    from neurorep.encoders.foundation_blocks import patch_grid

    rows, loads = [], []
    for preset in args.presets:
        loads.append(os.getloadavg()[0])
        res = measure(CHILD.format(preset=preset, calls=args.calls, threads=args.threads), repeats=args.repeats)
        p = PRESETS[preset]
        grid = patch_grid(10000, 200, p.get("overlap", 100))
        row = (f"| {preset} | {p['d_model']} | {p['n_layers']} | {p['n_heads']} | {p['d_ff']} | "
               f"{grid.n_patches} | {n_params(preset) / 1e6:.1f} M | {res['peak_mib']:.0f} | {res['seconds']:.2f} |")
        print(row, flush=True)
        rows.append(row)
    import torch

    text = "\n".join([
        "## eeg_foundation presets (CPU inference, one 50-s segment)",
        "",
        (f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, torch {torch.__version__}, "
         f"{args.threads} thread(s), {load_note(loads)}, with `.venv/bin/python benchmarks/foundation_presets.py "
         f"--threads {args.threads} --repeats {args.repeats} --calls {args.calls}`. Input 19 channels x 10000 "
         "samples (50 s at 200 Hz, no resampling), batch 1, 1-s patches (50 % overlap except `base`: "
         "patches per channel in the table), scales 1/2/4/8, channel attention on. Peak memory is the "
         "resident set of the whole child process (Python + torch + weights + activations). Time is the "
         "median forward pass after one warm-up."),
        "",
        "| preset | d_model | layers | heads | d_ff | patches / channel | parameters | peak memory (MiB) | "
        "inference (s / segment) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    if not args.no_write:
        write_section("foundation-presets", text)
    print(text)


if __name__ == "__main__":
    main()
