"""Peak memory and time of ``latent_benchmark`` at 200,000 x 128, against straightforward reference calls.

Usage (from the repository root)::

    .venv/bin/python benchmarks/latent_memory.py            # full run, updates benchmarks/RESULTS.md
    .venv/bin/python benchmarks/latent_memory.py --n 20000 --no-write   # quick look

Every measured call runs in a fresh child process (this script re-invoked with ``--child``), so its
peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss`` of the child, which includes the
interpreter, torch, scikit-learn and the loaded embeddings) belongs to that call alone. The child
also reports its RSS just before the call ("baseline"), so the increment is what the call added.

The reference calls are what one would write without chunking: ``silhouette_score`` on all rows,
5-fold ``KNeighborsClassifier(metric="cosine")``, ``torch.pdist`` for uniformity, full SVD for
RankMe, ``KMeans`` and ``davies_bouldin_score``. They run at sizes they can handle and are
extrapolated to the large size with stated exponents. The script writes only its own section of
RESULTS.md, between the ``<!-- latent:start -->`` and ``<!-- latent:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
START, END = "<!-- latent:start -->", "<!-- latent:end -->"
GOAL_BYTES = 2 * 1024**3
N_LABELS, N_SUBJECTS = 5, 20

#: Reference calls: name -> (time exponent in N, memory model used to extrapolate the increment).
REFERENCE: dict[str, tuple[float, str]] = {
    "silhouette_score (all rows)": (2.0, "bounded by sklearn working_memory (1 GiB): constant"),
    "KNeighborsClassifier cosine, 5-fold CV": (2.0, "bounded by sklearn working_memory (1 GiB): constant"),
    "torch.pdist uniformity (all pairs)": (2.0, "N(N-1)/2 float32 distances: quadratic"),
    "np.linalg.svd RankMe (N x D)": (1.0, "float64 copy + U: linear"),
    "KMeans (n_init=3)": (1.0, "linear"),
    "davies_bouldin_score": (1.0, "linear"),
}


# ----------------------------------------------------------------------------- child side


def _rss_now() -> int:
    """Current resident set size of this process in bytes (from /proc/self/status)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss() -> int:
    """Peak resident set size of this process in bytes (ru_maxrss is in KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _hwm() -> int:
    """Peak RSS since the last high-water-mark reset, in bytes (VmHWM of /proc/self/status)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _run_reference(name: str, x: np.ndarray, y: np.ndarray, s: np.ndarray) -> None:
    """One straightforward (unchunked) computation of a latent metric on ``x [N, D]``."""
    import torch
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score, silhouette_score
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    if name.startswith("silhouette"):
        silhouette_score(x, y)
    elif name.startswith("KNeighbors"):
        cross_val_score(KNeighborsClassifier(n_neighbors=10, metric="cosine"), x, y, cv=5)
    elif name.startswith("torch.pdist"):
        z = torch.nn.functional.normalize(torch.from_numpy(x), dim=1)
        float(torch.pdist(z, p=2).pow(2).mul(-2).exp().mean().log())
    elif name.startswith("np.linalg.svd"):
        sv = np.linalg.svd(x.astype(np.float64), full_matrices=False)[1]
        p = sv / sv.sum() + 1e-7
        float(np.exp(-np.sum(p * np.log(p))))
    elif name.startswith("KMeans"):
        KMeans(n_clusters=N_LABELS, n_init=3, random_state=0).fit(x)
    elif name.startswith("davies"):
        davies_bouldin_score(x, y)
    else:
        raise SystemExit(f"unknown reference call {name!r}")


def child(task: str, data_dir: Path, n: int) -> None:
    """Load the first ``n`` rows, run ``task``, print one JSON line with time and memory."""
    import torch  # noqa: F401  (imported before the baseline so it is not counted as the call's)
    import sklearn.metrics  # noqa: F401

    from neurorep.evaluation.latent import latent_benchmark

    mm = np.load(data_dir / "emb.npy", mmap_mode="r", allow_pickle=False)
    if n >= mm.shape[0]:
        del mm
        x = np.load(data_dir / "emb.npy", allow_pickle=False)
    else:
        x = np.array(mm[:n])
        del mm  # unmap, so file pages do not count in the baseline RSS
    y = np.load(data_dir / "labels.npy", allow_pickle=False)[:n]
    s = np.load(data_dir / "subjects.npy", allow_pickle=False)[:n]
    baseline = _rss_now()
    reset = _reset_hwm()
    tic = time.perf_counter()
    extra: dict[str, Any] = {}
    if task == "latent_benchmark":
        res = latent_benchmark(x, y, s, seed=0)
        extra = {"seconds": res.pop("seconds"), "result": res}
    else:
        _run_reference(task, x, y, s)
    wall = time.perf_counter() - tic
    # the call's own peak: VmHWM since the reset (the imports may have peaked higher before it)
    call_peak = _hwm() if reset else _peak_rss()
    print(json.dumps({"task": task, "n": n, "wall_s": wall, "baseline_bytes": baseline,
                      "call_peak_bytes": call_peak, "peak_bytes": _peak_rss(), **extra}))


# ----------------------------------------------------------------------------- parent side


def make_data(data_dir: Path, n: int, dim: int, seed: int = 0, chunk: int = 20000) -> None:
    """Write clustered float32 embeddings ``[n, dim]``, labels and subjects as .npy files."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_LABELS, dim), dtype=np.float32) * 1.5
    offsets = rng.standard_normal((N_SUBJECTS, dim), dtype=np.float32) * 0.5
    labels = rng.integers(0, N_LABELS, n)
    subjects = rng.integers(0, N_SUBJECTS, n)
    emb = np.lib.format.open_memmap(data_dir / "emb.npy", mode="w+", dtype=np.float32, shape=(n, dim))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32)
        emb[start:stop] = centres[labels[start:stop]] + offsets[subjects[start:stop]] + noise
    emb.flush()
    del emb
    np.save(data_dir / "labels.npy", labels, allow_pickle=False)
    np.save(data_dir / "subjects.npy", subjects, allow_pickle=False)


def run_child(task: str, data_dir: Path, n: int) -> dict[str, Any]:
    """Run one task in a fresh interpreter and return its JSON report."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--data", str(data_dir), "--n", str(n)]
    print(f"  {task} at n={n} ...", flush=True)
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True, env=env)
        polled = 0
        while proc.poll() is None:  # independent check: poll the child's RSS from outside
            try:
                with open(f"/proc/{proc.pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            polled = max(polled, int(line.split()[1]) * 1024)
            except OSError:
                pass
            time.sleep(0.05)
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    if proc.returncode != 0:
        raise RuntimeError(f"child {task} n={n} failed:\n{stderr[-3000:]}")
    out = json.loads(stdout.strip().splitlines()[-1])
    out["polled_peak_bytes"] = polled
    print(f"    {out['wall_s']:.1f} s, process peak {mib(out['peak_bytes'])} MiB, "
          f"call added {mib(out['call_peak_bytes'] - out['baseline_bytes'])} MiB, polled {mib(polled)} MiB", flush=True)
    return out


def machine_info() -> dict[str, str]:
    """CPU, core counts, memory, platform and library versions of this machine."""
    import sklearn
    import torch

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    mem = "unknown"
    try:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cpu count (os / usable)": f"{os.cpu_count()} / {len(os.sched_getaffinity(0))}",
        "torch threads": str(torch.get_num_threads()),
        "memory": mem,
        "platform": platform.platform(),
        "python / numpy / torch / scikit-learn": f"{platform.python_version()} / {np.__version__} / "
        f"{torch.__version__} / {sklearn.__version__}",
        "load average at start (1, 5, 15 min)": " ".join(f"{v:.1f}" for v in os.getloadavg()),
    }


def mib(b: float) -> str:
    """Bytes as MiB text."""
    return f"{b / 2**20:,.0f}"


def added(rec: dict[str, Any]) -> int:
    """Memory a call added: its own peak RSS minus the RSS just before it (bytes, at least 0)."""
    return max(0, int(rec["call_peak_bytes"]) - int(rec["baseline_bytes"]))


def render(args: argparse.Namespace, info: dict[str, str], big: dict[str, Any], small: dict[int, dict[str, Any]],
           refs: dict[str, dict[int, dict[str, Any]]], total_s: float) -> str:
    """Markdown text of the RESULTS.md section."""
    n, sizes = args.n, sorted(small)
    ns = sizes[-1]
    passed = big["peak_bytes"] < GOAL_BYTES
    lines = [
        START,
        "## Latent-space benchmark memory",
        "",
        f"Written by `benchmarks/latent_memory.py` on {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; "
        f"command: `{args.command}` (total {total_s / 60:.1f} min).",
        "",
        f"Data: {n:,} x {args.dim} float32 embeddings ({n * args.dim * 4 / 2**20:.0f} MiB), "
        f"{N_LABELS} Gaussian clusters (labels) plus per-subject offsets ({N_SUBJECTS} subjects). "
        "Each measurement is one fresh child process; *peak* is its `ru_maxrss` (interpreter, torch, "
        "scikit-learn, the loaded embeddings and the call); *added* is the peak RSS during the call (VmHWM "
        "reset just before it through /proc/self/clear_refs) minus the RSS just before it; *polled* is the "
        "largest RSS the parent saw polling /proc/<pid>/status every 50 ms (an independent check).",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        "",
        f"**Goal: peak < 2 GiB at {n:,} x {args.dim}: {'met' if passed else 'NOT met'}** "
        f"(process peak {mib(big['peak_bytes'])} MiB, polled {mib(big['polled_peak_bytes'])} MiB, "
        f"added by the call {mib(added(big))} MiB, wall {big['wall_s']:.0f} s).",
        "",
        "### `latent_benchmark` (all metrics, seed 0, k = 10)",
        "",
        "| n | wall (s) | peak RSS (MiB) | polled (MiB) | added (MiB) | kNN | silhouette | DB | NMI | subject ratio "
        "| time per part (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rec in [*(small[s] for s in sizes), big]:
        r, sec = rec["result"], rec["seconds"]
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sec.items())
        lines.append(
            f"| {rec['n']:,} | {rec['wall_s']:.1f} | {mib(rec['peak_bytes'])} | {mib(rec['polled_peak_bytes'])} | "
            f"{mib(added(rec))} | {r['knn_accuracy']:.3f} | {r['silhouette']:.3f} | "
            f"{r['davies_bouldin']:.3f} | {r['nmi']:.3f} | {r['subject_separability_ratio']:.1f} | {parts} |"
        )
    ours_small = small[ns]
    lines += [
        "",
        f"### Straightforward reference calls, measured at {', '.join(f'{s:,}' for s in sizes)} rows, "
        f"extrapolated to {n:,}",
        "",
        "Extrapolated time = time at the largest measured size x (N ratio)^exponent, with the exponent "
        "of the algorithm (2 for all-pairs work, 1 for linear work); the exponent measured between the "
        "two sizes is shown beside it. Extrapolated memory follows the stated memory model applied to the "
        "added memory. These are estimates, not measurements.",
        "",
        f"| call | wall (s) at {' / '.join(f'{s:,}' for s in sizes)} | added MiB at {' / '.join(f'{s:,}' for s in sizes)} "
        f"| exponent (model / measured) | est. wall at {n:,} (s) | memory model | est. added MiB at {n:,} |",
        "|---|---|---|---|---|---|---|",
    ]
    ref_total_small, ref_total_big = 0.0, 0.0
    for name, (t_exp, mem_model) in REFERENCE.items():
        recs = refs[name]
        walls = [recs[s]["wall_s"] for s in sizes]
        add = [added(recs[s]) for s in sizes]
        # a measured exponent from sub-second timings is noise: shown only above 0.5 s
        measured = (np.log(walls[-1] / walls[0]) / np.log(sizes[-1] / sizes[0])
                    if len(sizes) > 1 and walls[0] >= 0.5 else float("nan"))
        factor = n / ns
        est_t = walls[-1] * factor**t_exp
        est_m = add[-1] * (factor**2 if "quadratic" in mem_model else factor if "linear" in mem_model else 1.0)
        ref_total_small += walls[-1]
        ref_total_big += est_t
        lines.append(
            f"| {name} | {' / '.join(f'{w:.1f}' for w in walls)} | {' / '.join(mib(a) for a in add)} | "
            f"{t_exp:g} / {'-' if np.isnan(measured) else f'{measured:.2f}'} | {est_t:,.0f} | {mem_model} | {mib(est_m)} |"
        )
    lines += [
        "",
        f"Ratios in this run: at {ns:,} rows the reference calls together took {ref_total_small:.1f} s vs "
        f"{ours_small['wall_s']:.1f} s for the whole `latent_benchmark` "
        f"(ratio {ref_total_small / ours_small['wall_s']:.2f}); at {n:,} rows the estimated "
        f"{ref_total_big:,.0f} s of the reference calls compare with the measured {big['wall_s']:.0f} s "
        f"(ratio {ref_total_big / big['wall_s']:.1f}). `torch.pdist` over all pairs at {n:,} rows would "
        f"need {n * (n - 1) / 2 * 4 / 2**30:,.0f} GiB for the distances alone.",
        "",
        "Notes: the kNN search is exact and dominates the time (2 N^2 D flops: about "
        f"{2 * n * n * args.dim / 1e12:.0f} Tflop at {n:,} x {args.dim}); its similarity block is capped at "
        "256 MiB (`SIM_BLOCK_BYTES`). Silhouette runs on a stratified subsample of 20,000 rows and the "
        "subject probe on 20,000 rows, so those parts do not grow with N. Timings on a shared machine vary; "
        "compare ratios within one run.",
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace this script's marked section of ``path`` (or append it); leave the rest untouched."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if START in old and END in old:
        head, rest = old.split(START, 1)
        tail = rest.split(END, 1)[1]
        new = head + text + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run either the parent (orchestrator) or one child measurement."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=200_000, help="rows for latent_benchmark (default 200000)")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--ref-sizes", type=int, nargs="+", default=[10_000, 20_000],
                    help="rows at which the reference calls and a small latent_benchmark run (default 10000 20000)")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of updating RESULTS.md")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.data, args.n)
        return

    args.command = " ".join(["python benchmarks/latent_memory.py", *(sys.argv[1:] if argv is None else argv)])
    info = machine_info()
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="latent_bench_") as tmp:
        data_dir = Path(tmp)
        n_data = max(args.n, *args.ref_sizes)
        print(f"generating {n_data:,} x {args.dim} embeddings in {data_dir}", flush=True)
        make_data(data_dir, n_data, args.dim)
        refs: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in REFERENCE}
        small: dict[int, dict[str, Any]] = {}
        for size in sorted(args.ref_sizes):
            small[size] = run_child("latent_benchmark", data_dir, size)
            for name in REFERENCE:
                refs[name][size] = run_child(name, data_dir, size)
        big = run_child("latent_benchmark", data_dir, args.n)
    text = render(args, info, big, small, refs, time.perf_counter() - tic)
    if args.no_write:
        print(text)
    else:
        write_section(text)
        print(f"updated {RESULTS}")
    print("goal met" if big["peak_bytes"] < GOAL_BYTES else "GOAL NOT MET: peak >= 2 GiB")


if __name__ == "__main__":
    main()
