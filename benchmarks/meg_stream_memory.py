"""Peak memory of meg-ablation pretraining vs recording length: windows stream from the memory-mapped cache.

For each recording length, one fresh process simulates an Intra corpus (one file per task) and
prepares its window cache; a second fresh process only opens the cache and runs one denoising
pretraining epoch over every window, and reports its peak anonymous memory (heap, tensors), the
peak of mapped cache pages, its peak resident memory (``ru_maxrss``) and the
size of the cache. Streaming keeps the training peak flat while the cache grows.

    .venv/bin/python benchmarks/meg_stream_memory.py --seconds 15 60 240
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_section  # noqa: E402


def prepare(seconds: float, out: Path) -> Path:
    """Simulate an Intra corpus with recordings of ``seconds`` and build its window cache."""
    from neurorep.data.corpora import simulate
    from neurorep.recipes.meg_ablation.config import MegPrepareConfig
    from neurorep.recipes.meg_ablation.data import prepare_meg

    data = out / f"data_{seconds:g}"
    simulate("meg", data, n_subjects=3, test_subjects=1, seconds=seconds, intra_train=1, intra_test=1,
             cross_train=1, cross_test=1, progress=False)
    cache = prepare_meg(data / "Intra", out / f"cache_{seconds:g}", MegPrepareConfig(window_s=1.0, stride_s=0.25),
                        progress=False)
    return cache.path


def _status_mib(field: str) -> float:
    """A memory field of /proc/self/status (``RssAnon``: heap and tensors; ``RssFile``: mapped files), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def train(cache_path: Path) -> dict[str, float]:
    """One denoising pretraining epoch over every window of the cache, in this (fresh) process."""
    import torch

    torch.set_num_threads(1)
    from neurorep.data.cache import WindowCache
    from neurorep.data.dataset import WindowDataset
    from neurorep.encoders import create_encoder
    from neurorep.objectives import create_objective
    from neurorep.recipes.meg_ablation.pipeline import loader

    cache = WindowCache(cache_path)
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    enc = create_encoder("meg_cnn_transformer", n_channels=248, n_times=100, frame=20, grid_size=16,
                         cnn_channels=[8], embed_dim=16, n_layers=1, n_heads=2)
    obj = create_objective("denoising", decoder_hidden=16)
    obj.build(16, 248, 100)
    opt = torch.optim.AdamW([*enc.parameters(), *obj.parameters()], lr=1e-3)
    n, anon, mapped = 0, 0.0, 0.0
    for batch in loader(WindowDataset(cache), 32, True):
        opt.zero_grad()
        obj(enc, batch)["loss"].backward()
        opt.step()
        n += len(batch["x"])
        anon, mapped = max(anon, _status_mib("RssAnon")), max(mapped, _status_mib("RssFile"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cache_mb = sum(p.stat().st_size for p in (cache.path / "x").glob("*.npy")) / 2**20
    return {"windows": n, "cache_MB": round(cache_mb, 1), "rss_before_training_MB": round(rss_start, 1),
            "peak_rss_training_MB": round(rss, 1), "peak_anon_MB": round(anon, 1), "peak_file_MB": round(mapped, 1)}


def _child(*args: str) -> str:
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return res.stdout.strip().splitlines()[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, nargs="+", default=[15.0, 60.0, 240.0])
    p.add_argument("--out", type=Path, default=Path("/tmp/meg-stream-memory"))
    p.add_argument("--prepare", type=float, help=argparse.SUPPRESS)
    p.add_argument("--train", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.prepare is not None:
        print(prepare(a.prepare, a.out))
        return
    if a.train is not None:
        print(json.dumps(train(a.train)))
        return
    rows = []
    for s in a.seconds:  # fresh processes: preparation's peak never counts as training's
        cache = _child("--prepare", str(s), "--out", str(a.out))
        rows.append({"seconds": s, **json.loads(_child("--train", cache))})
        print(rows[-1], flush=True)
    lines = [
        "## meg-ablation: pretraining memory vs recording length",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/meg_stream_memory.py --seconds "
        f"{' '.join(f'{s:g}' for s in a.seconds)}`. Simulated Intra corpus (4 tasks x 2 subjects, 248 "
        "magnetometers at 2034 Hz), cached as 1-s windows (stride 0.25 s); one denoising pretraining epoch "
        "over every window in a fresh process that only opens the cache. Goal: training memory flat while "
        "the data grow.",
        "",
        "| seconds per recording | windows | cache MiB | peak anonymous memory (MiB) | peak mapped cache pages (MiB) "
        "| peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
        *[f"| {r['seconds']:g} | {r['windows']} | {r['cache_MB']:.0f} | {r['peak_anon_MB']:.0f} | "
          f"{r['peak_file_MB']:.0f} | {r['peak_rss_training_MB']:.0f} |" for r in rows],
    ]
    growth = rows[-1]["peak_anon_MB"] - rows[0]["peak_anon_MB"]
    data_growth = rows[-1]["cache_MB"] - rows[0]["cache_MB"]
    lines += ["", f"From the shortest to the longest recordings the cache grows by {data_growth:.0f} MiB and the "
              f"process's own (anonymous) memory by {growth:.0f} MiB. Peak RSS also counts the cache pages the "
              "memory map has touched; those are file-backed page cache that the kernel drops under pressure, "
              "not memory the process holds."]
    write_section("megmem", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
