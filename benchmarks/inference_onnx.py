"""Inference speed: PyTorch eager vs onnxruntime (float and dynamic int8) for every registered encoder.

For each encoder (default size, at the input of the data it is meant for, see ``SHAPES``) this
exports float ONNX, checks its parity with PyTorch, quantises it to int8 (weights int8,
activations quantised per batch; ``neurorep.export.quantize``), then measures windows per second
at batch 1 and batch 64 for the three back ends in the same process, one after the other, as the
median of several timed runs after a warm-up. Both libraries use the same number of threads
(``--threads``, default 1).

    python benchmarks/inference_onnx.py [--quick] [--encoders cnn,transformer]

Writes the ``inference_onnx`` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_section

from neurorep.encoders import ENCODERS, create_encoder, list_encoders
from neurorep.export.onnx import check_onnx_parity, export_onnx
from neurorep.export.quantize import quantize_onnx

#: (channels, samples) of a realistic window per encoder; others get 2 x 3000 (30 s of 2-channel
#: sleep EEG at 100 Hz).
SHAPES = {
    "eeg_foundation": (19, 2000),  # HMS: 19 electrodes, the central 10 s at 200 Hz
    "meg_cnn_transformer": (248, 100),  # HCP MEG: 248 magnetometers, 1 s at 100 Hz
    "resnet1d": (17, 100),  # Things-EEG-2: 17 channels, 100 samples (0-1 s at 100 Hz)
}
DEFAULT_SHAPE = (2, 3000)
BATCHES = (1, 64)


def timed(fn: Callable[[], object], budget_s: float, min_runs: int = 3, max_runs: int = 15) -> float:
    """Median seconds of ``fn()`` over at least ``min_runs`` runs after one warm-up (within ~budget_s)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_encoder(name: str, tmp: Path, threads: int, budget_s: float) -> dict[str, object]:
    import onnxruntime as ort

    c, t = SHAPES.get(name, DEFAULT_SHAPE)
    torch.manual_seed(0)
    variant = "default"
    try:
        model = create_encoder(name, n_channels=c, n_times=t).eval()
    except Exception as exc:  # noqa: BLE001 - an encoder without usable defaults at this shape: fall back to its tiny size
        print(f"  {name}: default size failed ({exc}); using tiny_kwargs", flush=True)
        model = create_encoder(name, **ENCODERS.get(name).tiny_kwargs(c, t)).eval()
        variant = "tiny"
    rng = np.random.default_rng(0)
    xs = {b: rng.normal(size=(b, c, t)).astype(np.float32) for b in BATCHES}
    fp, q8 = tmp / f"{name}.onnx", tmp / f"{name}.int8.onnx"
    export_onnx(model, fp, torch.from_numpy(xs[1]))
    parity = check_onnx_parity(model, fp, torch.from_numpy(xs[64][:8]))
    quantize_onnx(fp, q8)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sessions = {k: ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for k, p in
                (("float", fp), ("int8", q8))}
    row: dict[str, object] = {"encoder": name, "variant": variant, "input": f"{c}x{t}",
                              "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
                              "onnx_MB": fp.stat().st_size / 2**20, "int8_MB": q8.stat().st_size / 2**20,
                              "parity": parity}
    for b in BATCHES:
        x_np, x_t = xs[b], torch.from_numpy(xs[b])
        with torch.inference_mode():
            eager = timed(lambda x_t=x_t: model(x_t), budget_s)
        orts = {k: timed(lambda s=s, x_np=x_np: s.run(None, {"x": x_np}), budget_s) for k, s in sessions.items()}
        row[f"eager_b{b}"] = b / eager
        row[f"ort_b{b}"] = b / orts["float"]
        row[f"int8_b{b}"] = b / orts["int8"]
    a = sessions["float"].run(None, {"x": xs[64]})[0].astype(np.float64)
    q = sessions["int8"].run(None, {"x": xs[64]})[0].astype(np.float64)
    cos = np.sum(a * q, 1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(q, axis=1), 1e-12)
    row["int8_max_diff"] = float(np.abs(a - q).max())
    row["int8_rel_diff"] = float(np.abs(a - q).max() / max(np.abs(a).max(), 1e-12))
    row["int8_min_cos"] = float(cos.min())
    return row


def accuracy_section(model_dir: Path, tmp: Path) -> str:
    """int8 vs float accuracy of a trained sleep-ssl classifier on its held-out test windows."""
    from neurorep.export.heldout import heldout_windows
    from neurorep.export.quantize import export_model

    n = heldout_windows(model_dir, tmp / "heldout.npz")
    s = export_model(model_dir, tmp / "acc.int8.onnx", fmt="int8", eval_data=tmp / "heldout.npz")
    return (f"### int8 accuracy change of a trained classifier\n\n"
            f"`neurorep export {model_dir} --format int8 --eval-data heldout.npz` on the {n} labelled test "
            f"windows of that run (subject-held-out split of the simulated sleep corpus):\n\n"
            f"| model | float ONNX | int8 ONNX | size ratio | accuracy float | accuracy int8 | change | "
            f"arg-max agreement | max abs logit diff |\n|---|---|---|---|---|---|---|---|---|\n"
            f"| {s['source']} | {s['float_bytes'] / 1024:.0f} KiB | {s['int8_bytes'] / 1024:.0f} KiB | "
            f"{s['size_ratio']:.2f} | {s['accuracy_float']:.4f} | {s['accuracy_int8']:.4f} | "
            f"{s['accuracy_change']:+.4f} | {s['agreement']:.4f} | {s['max_abs_diff']:.3g} |\n")


def table(rows: list[dict[str, object]]) -> str:
    head = ("| encoder | input | params (M) | eager b1 | ORT b1 | int8 b1 | eager b64 | ORT b64 | int8 b64 | "
            "ORT/eager b1 | ORT/eager b64 | int8/ORT b64 | ONNX MB | int8 MB | size ratio | ONNX parity | "
            "int8 max diff (rel) | int8 min cos |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        name = r["encoder"] + (" (tiny)" if r["variant"] == "tiny" else "")
        lines.append(
            f"| {name} | {r['input']} | {r['params_M']:.2f} | {r['eager_b1']:.0f} | {r['ort_b1']:.0f} | "
            f"{r['int8_b1']:.0f} | {r['eager_b64']:.0f} | {r['ort_b64']:.0f} | {r['int8_b64']:.0f} | "
            f"{r['ort_b1'] / r['eager_b1']:.2f} | {r['ort_b64'] / r['eager_b64']:.2f} | "
            f"{r['int8_b64'] / r['ort_b64']:.2f} | {r['onnx_MB']:.2f} | {r['int8_MB']:.2f} | "
            f"{r['int8_MB'] / r['onnx_MB']:.2f} | {r['parity']:.1e} | {r['int8_max_diff']:.3g} "
            f"({r['int8_rel_diff']:.1%}) | {r['int8_min_cos']:.4f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", help="comma-separated names (default: every registered encoder)")
    parser.add_argument("--quick", action="store_true", help="shorter timing budget (noisier)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--accuracy-model", type=Path,
                        help="a trained sleep-ssl classifier folder (e.g. RUN/supervised_1/export/best): also "
                             "report its int8 accuracy change on the run's held-out test windows")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for both torch and onnxruntime (default 1: steadier on a shared machine)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    threads = args.threads
    torch.set_num_threads(threads)
    budget = 0.5 if args.quick else 1.5
    names = args.encoders.split(",") if args.encoders else list_encoders()
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="neurorep-bench-onnx-") as tmp:
        for name in names:
            t0 = time.perf_counter()
            rows.append(bench_encoder(name, Path(tmp), threads, budget))
            print(f"  {name}: {time.perf_counter() - t0:.0f} s", flush=True)
        accuracy = accuracy_section(args.accuracy_model, Path(tmp)) if args.accuracy_model else ""
    total = time.perf_counter() - started
    text = table(rows)
    print(text)
    print(accuracy)
    cmd = "python benchmarks/inference_onnx.py" + (" --quick" if args.quick else "") + (
        f" --threads {threads}" if threads != 1 else "") + (
        f" --encoders {args.encoders}" if args.encoders else "") + (
        f" --accuracy-model {args.accuracy_model}" if args.accuracy_model else "")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"""## ONNX / int8 inference vs PyTorch eager

Written by `benchmarks/inference_onnx.py` on {now}; command: `{cmd}` (total {total / 60:.1f} min).
Machine: {machine()}; torch {torch.__version__} and onnxruntime both with {threads} threads; load average at
start {load} (other jobs share these cores, so absolute numbers are noisy; compare the ratios, which were
measured back to back in the same process).

Each encoder at its default size on a realistic window (2 x 3000 = 30 s of 2-channel sleep EEG at 100 Hz
unless the encoder is built for other data: eeg_foundation 19 x 2000 = the central 10 s of HMS EEG at 200 Hz,
meg_cnn_transformer 248 x 100 = 1 s of HCP MEG at 100 Hz, resnet1d 17 x 100 = a Things-EEG-2 trial), random input. Throughput in windows per second,
median of several timed runs after a warm-up (`torch.inference_mode()` for eager). *ONNX parity*: max |ONNX -
PyTorch| on 8 windows. *int8*: `neurorep export --format int8` (onnxruntime dynamic quantisation, int8
weights of MatMul/Gemm/Conv, activations quantised per batch); *max diff (rel)* and *min cos* compare int8
with float ONNX outputs on the 64 batch-64 windows (relative to the largest float output). These are random,
untrained weights; the accuracy change of a trained classifier is measured with `--accuracy-model` (below when given).

{text}

{accuracy}"""
    if not args.no_write:
        write_section("inference_onnx", section)
        print("wrote the inference_onnx section of benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
