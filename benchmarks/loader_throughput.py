"""Reading windows for training: the memory-mapped cache vs indexing an in-memory NumPy array.

Both sides use the same torch DataLoader (batch 128, random order, dict samples) over the same
windows; the reference holds every window in one in-memory float32 array. Measured with 0 and 2
loader workers, each in fresh processes (median of several runs, page cache warm after the first
epoch as it is in training). A second figure runs a real pretraining epoch (CNN + contrastive)
through neurorep's trainer and reports the share of the epoch spent waiting for batches.

Usage: python benchmarks/loader_throughput.py [--nights 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, measure, write_section  # noqa: E402

LOADER = """
import json, time, numpy as np, torch
from torch.utils.data import DataLoader, Dataset, RandomSampler
from neurorep.data.cache import WindowCache
from neurorep.data.dataset import WindowDataset
torch.set_num_threads(1)

class InMemory(Dataset):
    def __init__(self, ds):
        self.x = ds.load_all(); self.y = ds.labels; self.s = ds.subjects
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        return {{"x": torch.from_numpy(np.array(self.x[i])), "y": torch.tensor(self.y[i]),
                "subject": torch.tensor(self.s[i]), "recording": torch.tensor(0), "index": torch.tensor(i)}}

ds = WindowDataset(WindowCache({cache!r}))
if {kind!r} == "numpy":
    ds = InMemory(ds)
g = torch.Generator().manual_seed(0)
dl = DataLoader(ds, batch_size=128, sampler=RandomSampler(ds, generator=g), num_workers={workers},
                persistent_workers={workers} > 0)
for _ in dl:  # warm-up epoch: page cache, worker start-up
    pass
t = time.perf_counter(); n = 0
for _ in range(2):
    for b in dl:
        n += len(b["x"])
print(json.dumps({{"seconds": time.perf_counter() - t, "windows_per_s": n / (time.perf_counter() - t)}}))
"""

WAIT = """
import json, time, torch, lightning as L
from torch.utils.data import DataLoader, RandomSampler
from neurorep.data.cache import WindowCache
from neurorep.data.dataset import WindowDataset
from neurorep.encoders import create_encoder
from neurorep.objectives import create_objective
from neurorep.training import PretrainModule, build_trainer, fit, seed_everything
torch.set_num_threads(2)
seed_everything(0)

class Wait(L.Callback):
    def __init__(self):
        self.wait = 0.0; self.last = None; self.t0 = None
    def on_train_epoch_start(self, trainer, module):
        self.last = self.t0 = time.perf_counter()
    def on_train_batch_start(self, trainer, module, batch, i):
        self.wait += time.perf_counter() - self.last
    def on_train_batch_end(self, trainer, module, out, batch, i):
        self.last = time.perf_counter()
    def on_train_epoch_end(self, trainer, module):
        self.total = time.perf_counter() - self.t0

ds = WindowDataset(WindowCache({cache!r}))
enc = create_encoder("cnn", n_channels=2, n_times=3000, n_filters=32, embed_dim=64)
obj = create_objective("contrastive", sfreq=100.0)
module = PretrainModule(enc, obj, lr=1e-3, max_epochs=1)
cb = Wait()
import tempfile
with tempfile.TemporaryDirectory() as out:
    trainer = build_trainer(out, max_epochs=1, monitor=None, patience=None, progress=False, callbacks=(cb,),
                            limit_train_batches={batches})
    dl = DataLoader(ds, batch_size=64, sampler=RandomSampler(ds), num_workers={workers}, drop_last=True)
    t = time.perf_counter()
    fit(module, dl, None, trainer)
print(json.dumps({{"seconds": time.perf_counter() - t, "wait_share": cb.wait / cb.total}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from neurorep.data.cache import prepare
    from neurorep.data.simulate import simulate_sleep
    from neurorep.data.windows import PrepareConfig

    with tempfile.TemporaryDirectory() as tmp:
        simulate_sleep(Path(tmp) / "sim", n_subjects=args.nights, seed=0, hours=8.0, progress=False)
        cache = prepare(Path(tmp) / "sim", Path(tmp) / "cache", cfg=PrepareConfig(trim_wake_min=None),
                        progress=False).cache
        n, shape = len(cache), (cache.info.n_channels, cache.info.n_times)
        rows = []
        for workers in (0, 2):
            runs: dict[str, list[dict[str, float]]] = {"numpy": [], "cache": []}
            for _ in range(args.repeats):  # interleaved, so drifting machine load hits both sides alike
                for kind in runs:
                    runs[kind].append(measure(LOADER.format(cache=str(cache.path), kind=kind, workers=workers), 1))
            res = {k: {"seconds": statistics.median(r["seconds"] for r in v)} for k, v in runs.items()}
            ratio = res["numpy"]["seconds"] / res["cache"]["seconds"]
            rows.append((workers, res, ratio))
            print(f"workers={workers}: cache/numpy throughput {ratio:.2f}x", flush=True)
        waits = {w: measure(WAIT.format(cache=str(cache.path), workers=w, batches=30), args.repeats)
                 for w in (0, 2)}
    lines = [
        "## Reading windows for training (goal: cache >= 0.8x in-memory NumPy; data wait <= 5% of an epoch)",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/loader_throughput.py --nights {args.nights} "
        f"--repeats {args.repeats}`. {n} windows of {shape[0]} x {shape[1]} float32 from {args.nights} simulated "
        "8-h nights; DataLoader batch 128, random order, dict samples, 2 epochs after a warm-up epoch; "
        "medians of interleaved fresh-process runs.",
        "",
        "| loader workers | in-memory NumPy (s) | neurorep cache (s) | cache throughput / NumPy | goal |",
        "|---|---|---|---|---|",
    ]
    for workers, res, ratio in rows:
        lines.append(f"| {workers} | {res['numpy']['seconds']:.2f} | {res['cache']['seconds']:.2f} | "
                     f"{ratio:.2f}x | {'met' if ratio >= 0.8 else 'missed'} |")
    lines += ["", "Before and after: until `WindowDataset.__getitems__` (one memory-map read per recording for a "
              "whole batch) the same command measured 0.66x with 0 workers (goal missed) and 0.94x with 2; the "
              "per-window read and copy of the memory map was the difference (2026-11-21)."]
    lines += ["", "Data wait during a pretraining epoch (CNN + contrastive, batch 64, 30 batches, time between "
              "the end of one training step and the start of the next as a share of the epoch):", "",
              "| loader workers | data wait share | goal |", "|---|---|---|"]
    for w, r in waits.items():
        share = r["wait_share"] if "wait_share" in r else float("nan")
        lines.append(f"| {w} | {share:.1%} | {'met' if share <= 0.05 else 'missed'} |")
    write_section("loader", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
