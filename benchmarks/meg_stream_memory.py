"""Peak memory of meg-ablation pretraining vs recording length: windows stream from the memory-mapped cache.

For each recording length, a fresh process simulates one Intra corpus (one file per task), prepares
the window cache, and runs one denoising pretraining epoch over every window; it reports the peak
resident memory of the training phase (``ru_maxrss`` after preparation vs after training) and the
size of the cache. If memory grew with the data, the training increment would grow with the
cache size; streaming keeps it flat.

    .venv/bin/python benchmarks/meg_stream_memory.py --seconds 10 40 --out /tmp/meg-mem
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path


def child(seconds: float, out: Path) -> dict[str, float]:
    import torch

    torch.set_num_threads(1)
    from neurorep.data.corpora import simulate
    from neurorep.data.dataset import WindowDataset
    from neurorep.encoders import create_encoder
    from neurorep.objectives import create_objective
    from neurorep.recipes.meg_ablation.config import MegPrepareConfig
    from neurorep.recipes.meg_ablation.data import prepare_meg
    from neurorep.recipes.meg_ablation.pipeline import loader

    data = out / f"data_{seconds:g}"
    simulate("meg", data, n_subjects=3, test_subjects=1, seconds=seconds, intra_train=1, intra_test=1,
             cross_train=1, cross_test=1, progress=False)
    cache = prepare_meg(data / "Intra", out / "cache", MegPrepareConfig(window_s=1.0, stride_s=0.25), progress=False)
    rss_prepared = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    enc = create_encoder("meg_cnn_transformer", n_channels=248, n_times=100, frame=20, grid_size=16,
                         cnn_channels=[8], embed_dim=16, n_layers=1, n_heads=2)
    obj = create_objective("denoising", decoder_hidden=16)
    obj.build(16, 248, 100)
    opt = torch.optim.AdamW([*enc.parameters(), *obj.parameters()], lr=1e-3)
    n = 0
    for batch in loader(WindowDataset(cache), 32, True):
        opt.zero_grad()
        obj(enc, batch)["loss"].backward()
        opt.step()
        n += len(batch["x"])
    rss_trained = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cache_mb = sum(p.stat().st_size for p in (cache.path / "x").glob("*.npy")) / 2**20
    return {"seconds": seconds, "windows": n, "cache_MB": round(cache_mb, 1), "peak_rss_after_prepare_MB":
            round(rss_prepared, 1), "peak_rss_after_training_MB": round(rss_trained, 1),
            "training_increment_MB": round(rss_trained - rss_prepared, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, nargs="+", default=[10.0, 40.0])
    p.add_argument("--out", type=Path, default=Path("/tmp/meg-stream-memory"))
    p.add_argument("--child", type=float, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child is not None:
        print(json.dumps(child(a.child, a.out)))
        return
    rows = []
    for s in a.seconds:  # a fresh process per length, so peaks do not carry over
        res = subprocess.run([sys.executable, __file__, "--child", str(s), "--out", str(a.out)], check=True,
                             capture_output=True, text=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)


if __name__ == "__main__":
    main()
