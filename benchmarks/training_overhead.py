"""Training-loop overhead: neurorep's trainer vs a minimal hand-written PyTorch loop doing the same work.

Same encoder (CNN), objective (contrastive, two augmented views), optimiser (AdamW) and warm-up
cosine schedule, batches (in-memory tensors, batch 64) and thread count.
neurorep runs through ``build_trainer`` + ``fit`` with everything it does in a real run: metric
logging, TensorBoard, checkpoints, the deterministic setting, the CSV history. Steady-state samples
per second are timed from step 5 to the end; medians of fresh-process runs. Goal: >= 0.9x.

Usage: python benchmarks/training_overhead.py [--steps 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, measure, write_section  # noqa: E402

SETUP = """
import json, time, tempfile, torch, lightning as L
from neurorep.encoders import create_encoder
from neurorep.objectives import create_objective
from neurorep.training import PretrainModule, build_trainer, fit, seed_everything
torch.set_num_threads(2)
seed_everything(0)
g = torch.Generator().manual_seed(0)
data = [{{"x": torch.randn(64, 2, 3000, generator=g)}} for _ in range(8)]
batches = torch.utils.data.DataLoader([data[i % len(data)] for i in range({steps})], batch_size=None)
enc = create_encoder("cnn", n_channels=2, n_times=3000, n_filters=32, embed_dim=64)
module = PretrainModule(enc, create_objective("contrastive", sfreq=100.0), lr=1e-3, max_epochs=1)
WARM = 5
"""

NEUROREP = SETUP + """
class Clock(L.Callback):
    def on_train_batch_start(self, trainer, m, batch, i):
        if i == WARM:
            self.t = time.perf_counter()
    def on_train_epoch_end(self, trainer, m):
        self.seconds = time.perf_counter() - self.t
clock = Clock()
t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    trainer = build_trainer(out, max_epochs=1, monitor=None, patience=None, progress=False, callbacks=(clock,))
    fit(module, batches, None, trainer)
print(json.dumps({{"seconds": time.perf_counter() - t0,
                  "samples_per_s": 64 * ({steps} - WARM) / clock.seconds}}))
"""

HAND = SETUP + """
from neurorep.training import build_optimizer, cosine_with_warmup
opt = build_optimizer([p for p in module.parameters() if p.requires_grad], "adamw", lr=1e-3, weight_decay=1e-4)
sched = cosine_with_warmup(opt, warmup_steps={steps}, total_steps={steps}, min_lr_ratio=0.01)
objective = module.objective
t0 = time.perf_counter()
enc.train(); objective.train()
for i, batch in enumerate(batches):
    if i == WARM:
        t = time.perf_counter()
    out = objective(enc, batch)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()
    sched.step()
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": time.perf_counter() - t0, "samples_per_s": 64 * ({steps} - WARM) / seconds}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    hand, ours = [], []
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits both sides alike
        hand.append(measure(HAND.format(steps=args.steps), 1))
        ours.append(measure(NEUROREP.format(steps=args.steps), 1))
    med = lambda rs, k: sorted(r[k] for r in rs)[len(rs) // 2]  # noqa: E731
    h, n = med(hand, "samples_per_s"), med(ours, "samples_per_s")
    ratio = n / h
    lines = [
        "## Training-loop overhead (goal: neurorep >= 0.9x a hand-written loop)",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/training_overhead.py --steps {args.steps} "
        f"--repeats {args.repeats}`. CNN encoder (32 filters, 64-d), contrastive objective, batch 64 of "
        "2 x 3000, 2 threads; steady-state samples/s from step 5; medians of interleaved fresh-process runs.",
        "",
        "| loop | samples / s | whole process incl. set-up (s) |",
        "|---|---|---|",
        f"| hand-written PyTorch | {h:.0f} | {med(hand, 'seconds'):.1f} |",
        f"| neurorep (`build_trainer` + `fit`) | {n:.0f} | {med(ours, 'seconds'):.1f} |",
        "",
        f"neurorep / hand-written: **{ratio:.2f}x** ({'met' if ratio >= 0.9 else 'missed'}).",
    ]
    write_section("overhead", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
