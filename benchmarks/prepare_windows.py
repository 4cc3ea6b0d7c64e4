"""Preparing 30-s windows from Sleep-EDF-style nights: neurorep vs MNE, and vs the floor.

References, each night saved with ``np.save``:
* naive MNE: ``mne.io.read_raw_edf(preload=True)`` of every channel, pick the two EEG channels,
  resample, MNE's default FIR band-pass, ``mne.Epochs(...).get_data()`` on 30-s events;
* fair MNE: read only the two EEG channels (``include=``), the same zero-phase 4th-order
  Butterworth band-pass as neurorep (``method="iir"``, second-order sections), then the epochs;
* floor: neurorep's reader alone (decode the two channels and read the hypnogram), no filtering.
neurorep: ``neurorep.data.cache.prepare`` with the same channels, band-pass and rate (plus robust
scaling and the metadata table), one process. Each figure is the median of several fresh-process
runs; goals are ratios measured in the same run.

Usage: python benchmarks/prepare_windows.py [--nights 10] [--repeats 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, measure, write_section  # noqa: E402

NEUROREP = """
import json, time, tempfile
from neurorep.data.cache import prepare
from neurorep.data.windows import PrepareConfig
t = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    cfg = PrepareConfig(channels=["EEG Fpz-Cz", "EEG Pz-Oz"], sfreq=100.0, l_freq=0.3, h_freq=35.0,
                        trim_wake_min=None)
    c = prepare({src!r}, tmp, cfg=cfg, progress=False).cache
    n = len(c)
print(json.dumps({{"seconds": time.perf_counter() - t, "windows": n}}))
"""

MNE_TEMPLATE = """
import json, time, tempfile, numpy as np, mne
from pathlib import Path
mne.set_log_level("ERROR")
t = time.perf_counter()
n = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, psg in enumerate(sorted(Path({src!r}).glob("*-PSG.edf"))):
        hyp = next(Path({src!r}).glob(psg.name[:6] + "*-Hypnogram.edf"))
        raw = {read}
        raw.set_annotations(mne.read_annotations(hyp))
        raw.pick(["EEG Fpz-Cz", "EEG Pz-Oz"])
        if raw.info["sfreq"] != 100.0:
            raw.resample(100.0)
        raw.filter(0.3, 35.0{filter_args})
        ids = {{"Sleep stage W": 1, "Sleep stage 1": 2, "Sleep stage 2": 3, "Sleep stage 3": 4,
               "Sleep stage 4": 4, "Sleep stage R": 5}}
        events, _ = mne.events_from_annotations(raw, event_id=ids, chunk_duration=30.0)
        epochs = mne.Epochs(raw, events, tmin=0.0, tmax=30.0 - 1 / raw.info["sfreq"], baseline=None, preload=True)
        x = epochs.get_data().astype(np.float32)
        np.save(Path(tmp) / f"{{i}}.npy", x)
        n += len(x)
print(json.dumps({{"seconds": time.perf_counter() - t, "windows": n}}))
"""
#: The naive script: every channel decoded, MNE's default FIR band-pass.
MNE = MNE_TEMPLATE.replace("{read}", "mne.io.read_raw_edf(psg, preload=True)").replace("{filter_args}", "")
#: The fair script: only the two EEG channels decoded, the same Butterworth SOS band-pass as neurorep.
MNE_FAIR = MNE_TEMPLATE.replace(
    "{read}", 'mne.io.read_raw_edf(psg, include=["EEG Fpz-Cz", "EEG Pz-Oz"], preload=True)').replace(
    "{filter_args}", ', method="iir", iir_params=dict(order=4, ftype="butter", output="sos")')

FLOOR = """
import json, time
from pathlib import Path
from neurorep.data.readers.edf import read_annotations_edf, read_edf
t = time.perf_counter()
for psg in sorted(Path({src!r}).glob("*-PSG.edf")):
    read_edf(psg, channels=["EEG Fpz-Cz", "EEG Pz-Oz"])
    read_annotations_edf(next(Path({src!r}).glob(psg.name[:6] + "*-Hypnogram.edf")))
print(json.dumps({{"seconds": time.perf_counter() - t}}))
"""


def subset(src: Path, nights: int, dest: Path) -> Path:
    """A folder with symlinks to the first ``nights`` PSG/hypnogram pairs of ``src``."""
    dest.mkdir(parents=True, exist_ok=True)
    for psg in sorted(src.glob("*-PSG.edf"))[:nights]:
        hyp = next(src.glob(psg.name[:6] + "*-Hypnogram.edf"))
        for f in (psg, hyp):
            (dest / f.name).symlink_to(f.resolve())
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, help="Sleep-EDF-style folder (default: simulate one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            from neurorep.data.simulate import simulate_sleep

            data = Path(tmp) / "sim"
            simulate_sleep(data, n_subjects=max(args.nights, 8), seed=0, jobs=2, progress=False)
        full = subset(data, args.nights, Path(tmp) / f"n{args.nights}")
        ours = measure(NEUROREP.format(src=str(full)), args.repeats)
        ref = measure(MNE.format(src=str(full)), args.repeats)
        fair = measure(MNE_FAIR.format(src=str(full)), args.repeats)
        floor = measure(FLOOR.format(src=str(full)), args.repeats)
        scaling = []
        for n in (1, 2, 4, 8):
            m = measure(NEUROREP.format(src=str(subset(data, n, Path(tmp) / f"s{n}"))), args.repeats)
            scaling.append((n, m["seconds"] / n, m["peak_mib"]))
    speed = ref["seconds"] / ours["seconds"]
    mem = ours["peak_mib"] / ref["peak_mib"]
    per_night = [s for _, s, _ in scaling]
    spread = (max(per_night) - min(per_night)) / min(per_night)
    lines = [
        "## Preparing windows from EDF",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/prepare_windows.py --nights {args.nights} "
        f"--repeats {args.repeats}` ({time.strftime('%Y-%m-%d')}; load average at the start "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores). Simulated 8-hour nights, 2 EEG channels, "
        "30-s windows, band-pass 0.3-35 Hz; medians of fresh-process runs.",
        "",
        "| path | seconds | peak MiB |",
        "|---|---|---|",
        f"| naive MNE: read_raw_edf(preload) + FIR filter + Epochs.get_data | {ref['seconds']:.2f} | {ref['peak_mib']:.0f} |",
        f"| fair MNE: read_raw_edf(include=2 EEG) + Butterworth SOS + Epochs.get_data | {fair['seconds']:.2f} | "
        f"{fair['peak_mib']:.0f} |",
        f"| floor: neurorep reader only (decode 2 channels + hypnogram) | {floor['seconds']:.2f} | "
        f"{floor['peak_mib']:.0f} |",
        f"| neurorep: prepare (cache) | {ours['seconds']:.2f} | {ours['peak_mib']:.0f} |",
        "",
        f"Speed-up against the fair MNE script: **{fair['seconds'] / ours['seconds']:.1f}x** (goal >= 3x); "
        f"against the naive one: {speed:.1f}x. prepare takes {ours['seconds'] / floor['seconds']:.1f}x the floor "
        f"(goal <= 3x). Peak memory ratio neurorep/fair MNE: **{ours['peak_mib'] / fair['peak_mib']:.2f}**, "
        f"neurorep/naive MNE: {mem:.2f} (goal <= 1).",
        "",
        "Scaling (neurorep, nights -> seconds per night, peak MiB):",
        "",
        "| nights | s / night | peak MiB |",
        "|---|---|---|",
        *[f"| {n} | {s:.2f} | {p:.0f} |" for n, s, p in scaling],
        "",
        f"Time per night varies by {spread:.0%} across 1-8 nights (goal within 10%); peak memory stays flat "
        "because each night is written to the cache before the next is read.",
        "",
        "Before and after: the first runs of this benchmark measured a 34% spread (0.35 s for 1 night vs 0.26 s per night for 2). Profiling (cProfile of the first `prepare` in a process) showed fixed costs inside the call: pyarrow imported pandas (~1 s) when converting the metadata table, and reading the MEG reader's module imported torch. Both are gone (raw-buffer Arrow conversion, lazy torch import); 2026-11-21.",
    ]
    write_section("prepare", "\n".join(lines))
    print("\n".join(lines))
    print(json.dumps({"speedup": speed, "memory_ratio": mem, "per_night_spread": spread}))


if __name__ == "__main__":
    main()
