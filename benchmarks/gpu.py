"""GPU throughput of eeg_foundation, the published encoders and ``transformer`` (one run, < 10 min).

For each model, on one device: windows/s of ``forward`` (eval, no grad) and of a training step
(cross-entropy on a 4-class head, backward, AdamW step) in float32 eager, in bf16 autocast eager,
and in bf16 autocast under ``torch.compile``; model-FLOPs utilisation (forward FLOPs counted by
``torch.utils.flop_counter``, a training step counted as 3x forward, against ``--peak-tflops``,
by default the dense bf16 peak of a known device name); and the largest training batch that fits
(bf16 eager, batch doubled until the device runs out of memory). A time budget (``--budget-s``)
skips whatever would run past it, and says so.

    python benchmarks/gpu.py --out gpu.json              # on a GPU machine
    python benchmarks/gpu.py --smoke --out smoke.json    # tiny models, CPU, seconds (tests run this)

Nothing in CI needs a GPU; ``--smoke`` runs the same code paths on CPU with tiny shapes (no
compile unless ``--compile-smoke``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Dense bf16 peak TFLOP/s by device-name fragment (vendor data sheets, SXM parts).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 70.0, "L4": 121.0}
CH_NAMES = ["FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T7", "C3", "CZ", "C4", "T8", "P7", "P3", "PZ", "P4",
            "P8", "O1", "O2"]
#: name -> (n_channels, n_times, sfreq)
SHAPES = {"eeg_foundation-base": (19, 2000, 200.0), "eeg_foundation-small": (19, 10000, 200.0),
          "transformer": (19, 2000, 200.0), "cbramod": (19, 2000, 200.0), "biot": (19, 2000, 200.0),
          "labram": (19, 2000, 200.0), "eegpt": (19, 1024, 256.0)}
SMOKE_SHAPES = {k: (4, 400 if k != "eegpt" else 256, v[2]) for k, v in SHAPES.items()}


def build(name: str, c: int, t: int, sfreq: float, smoke: bool) -> tuple[Any, Callable[[Any], Any]]:
    """``(module, call)`` with ``call(x) -> logits[B, 4]``."""
    from torch import nn

    from neurorep.models import create_model

    if name.startswith("eeg_foundation"):
        kw: dict[str, Any] = {"preset": name.split("-")[1]}
        if smoke:
            kw = {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64, "patch_size": 40, "overlap": 0}
        m = create_model("eeg_foundation", n_channels=c, n_times=t, **kw)
        m.add_classification_head(4)
        return m, m.classify
    if name == "transformer":
        kw = {"embed_dim": 32, "n_layers": 1, "n_heads": 2, "patch_size": 40} if smoke else {"patch_size": 200}
        enc = create_model("transformer", n_channels=c, n_times=t, **kw)
        model = nn.Sequential(enc, nn.Linear(enc.embed_dim, 4))
        return model, model
    from neurorep.hub import load_published

    kwargs = {"cbramod": {"patch_size": 40, "d_ff": 64, "n_layers": 1, "n_heads": 2},
              "biot": {"embed_dim": 32, "n_heads": 2, "n_layers": 1, "hop_length": 20},
              "labram": {"patch_size": 40, "n_layers": 1, "n_heads": 2},
              "eegpt": {"patch_size": 32, "patch_stride": 32, "embed_num": 1, "d_model": 32, "n_layers": 1,
                        "n_heads": 2}}
    m = load_published(name, None, c, t, sfreq, n_outputs=4, ch_names=CH_NAMES[:c],
                       model_kwargs=kwargs[name] if smoke else None)
    return m, m


def timed(fn: Callable[[], Any], sync: Callable[[], None], repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls after two warm-up calls."""
    fn()
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_model(name: str, args: argparse.Namespace, device: Any, deadline: float) -> dict[str, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    c, t, sfreq = (SMOKE_SHAPES if args.smoke else SHAPES)[name]
    torch.manual_seed(0)
    model, call = build(name, c, t, sfreq, args.smoke)
    model = model.to(device)
    row: dict[str, Any] = {"model": name, "input": [c, t], "params_m": sum(p.numel() for p in model.parameters()) / 1e6}
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        call(torch.randn(1, c, t, device=device))
    row["gflop_per_window"] = fc.get_total_flops() / 1e9
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    b = args.batch
    x = torch.randn(b, c, t, device=device)
    y = torch.randint(0, 4, (b,), device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    bf16 = device.type == "cuda" or args.smoke

    def make(fwd: Callable[[Any], Any], dtype: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
        def forward() -> None:
            with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                fwd(x)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = torch.nn.functional.cross_entropy(fwd(x).float(), y)
            loss.backward()
            opt.step()
        return forward, step

    modes: list[tuple[str, Callable[[Any], Any], Any]] = [("fp32", call, None)]
    if bf16:
        modes.append(("bf16", call, torch.bfloat16))
    if not args.smoke or args.compile_smoke:
        modes.append(("bf16+compile", torch.compile(call), torch.bfloat16 if bf16 else None))
    for label, fwd, dtype in modes:
        if time.monotonic() > deadline:
            row[label] = "skipped (time budget)"
            continue
        forward, step = make(fwd, dtype)
        try:
            model.eval()
            f = timed(forward, sync, args.repeats)
            model.train()
            s = timed(step, sync, args.repeats)
        except Exception as exc:  # noqa: BLE001 - one failing mode (e.g. a compile error) is reported, not fatal
            row[label] = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            continue
        entry = {"forward_windows_s": b / f, "train_windows_s": b / s,
                 "forward_tflops": b / f * row["gflop_per_window"] / 1e3,
                 "train_tflops": 3 * b / s * row["gflop_per_window"] / 1e3}
        if args.peak_tflops:
            entry["forward_mfu"] = entry["forward_tflops"] / args.peak_tflops
            entry["train_mfu"] = entry["train_tflops"] / args.peak_tflops
        row[label] = entry
    row["largest_train_batch"] = largest_batch(model, call, c, t, device, args, deadline) if bf16 else None
    return row


def largest_batch(model: Any, call: Callable[[Any], Any], c: int, t: int, device: Any, args: argparse.Namespace,
                  deadline: float) -> int | str:
    """Largest power-of-two batch whose bf16 training step fits (``--max-batch`` at most)."""
    import torch

    fits, b = 0, args.batch
    model.train()
    while b <= args.max_batch:
        if time.monotonic() > deadline:
            return f">= {fits} (time budget)" if fits else "skipped (time budget)"
        try:
            x = torch.randn(b, c, t, device=device)
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = call(x).float().logsumexp(-1).mean()
            loss.backward()
            model.zero_grad(set_to_none=True)
            fits = b
            b *= 2
        except torch.OutOfMemoryError:
            break
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return fits if b <= args.max_batch else f">= {fits} (--max-batch)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(SHAPES), help=f"comma-separated, from {', '.join(SHAPES)}")
    ap.add_argument("--batch", type=int, help="batch for throughput (default 64, smoke 2)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-batch", type=int, help="largest batch tried (default 4096, smoke 4)")
    ap.add_argument("--peak-tflops", type=float, help="device peak for the MFU (default: known bf16 peak)")
    ap.add_argument("--budget-s", type=float, default=540, help="skip what would start after this many seconds")
    ap.add_argument("--smoke", action="store_true", help="tiny models on CPU: checks the script, measures nothing")
    ap.add_argument("--compile-smoke", action="store_true", help="with --smoke, also try torch.compile")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    unknown = [m for m in args.models.split(",") if m not in SHAPES]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(SHAPES)}")
    import torch

    args.batch = args.batch or (2 if args.smoke else 64)
    args.max_batch = args.max_batch or (4 if args.smoke else 4096)
    device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if device.type != "cuda" and not args.smoke:
        ap.error("no CUDA device; run with --smoke to check the script on CPU")
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    if args.peak_tflops is None and device.type == "cuda":
        args.peak_tflops = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    start = time.monotonic()
    deadline = start + args.budget_s
    rows = []
    for model in args.models.split(","):
        rows.append(measure_model(model, args, device, deadline))
        print(json.dumps(rows[-1]), flush=True)
    report = {"device": name, "torch": torch.__version__, "batch": args.batch, "peak_tflops": args.peak_tflops,
              "seconds": time.monotonic() - start, "rows": rows}
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1))
    print(f"done in {report['seconds']:.0f} s on {name}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.exit(main())
