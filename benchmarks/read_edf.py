"""Reading EDF and BDF files: neurorep's reader against ``mne.io.read_raw_edf/bdf(preload=True)``.

Two sets of files:
* the peer files of ``../shared/data/peer-edf`` (other readers' test files, 0.2-2.7 MB): every
  channel read, each reader timed in the same process, interleaved, median of ``--repeats``;
* one ~100 MB EDF and one ~100 MB BDF (64 channels at 256 Hz, written here with edfio): every
  channel, and two channels (MNE with ``include=``, its fastest way to read two), each measurement a
  fresh process (median of ``--repeats``), with its peak memory.

Writes the ``readers`` section of RESULTS.md::

    python benchmarks/read_edf.py [--repeats 5] [--peer ../shared/data/peer-edf]
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, measure, write_section  # noqa: E402

N_CHANNELS, SFREQ = 64, 256


def _mne_read(path: Path, include: list[str] | None = None):  # type: ignore[no-untyped-def]
    import mne

    read = mne.io.read_raw_bdf if path.suffix == ".bdf" else mne.io.read_raw_edf
    return read(path, preload=True, include=include, verbose="error")


def peer_rows(folder: Path, repeats: int) -> list[tuple[str, float, float]]:
    from neurorep.data.readers.edf import read_edf
    from neurorep.errors import DataError

    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".edf", ".bdf")):
        try:
            read_edf(path)
        except DataError:  # annotation-only files: nothing to decode
            continue
        ours, theirs = [], []
        for _ in range(repeats):  # interleaved
            t = time.perf_counter()
            read_edf(path)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            _mne_read(path)
            theirs.append(time.perf_counter() - t)
        rows.append((str(path.relative_to(folder)), statistics.median(ours), statistics.median(theirs)))
    return rows


def write_big(folder: Path, bdf: bool, megabytes: float = 100.0) -> Path:
    import edfio

    bps = 3 if bdf else 2
    seconds = int(megabytes * 2**20 / (N_CHANNELS * SFREQ * bps))
    rng = np.random.default_rng(0)
    cls = edfio.BdfSignal if bdf else edfio.EdfSignal
    signals = [cls(rng.normal(0, 30, seconds * SFREQ), SFREQ, label=f"EEG {k:02d}", physical_dimension="uV",
                   physical_range=(-500, 500)) for k in range(N_CHANNELS)]
    path = folder / ("big.bdf" if bdf else "big.edf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (edfio.Bdf if bdf else edfio.Edf)(signals).write(path)
    return path


def big_rows(path: Path, repeats: int) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    rows = []
    for label, include in (("all 64 channels", None), ("2 channels", ["EEG 00", "EEG 33"])):
        ours = measure(
            "import json, time\nfrom neurorep.data.readers.edf import read_edf\n"
            f"t = time.perf_counter(); r = read_edf({str(path)!r}, channels={include!r})\n"
            "print(json.dumps({'seconds': time.perf_counter() - t}))", repeats)
        theirs = measure(
            "import json, time, mne\n"
            f"read = mne.io.read_raw_bdf if {path.suffix == '.bdf'} else mne.io.read_raw_edf\n"
            f"t = time.perf_counter(); r = read({str(path)!r}, preload=True, include={include!r}, verbose='error')\n"
            "print(json.dumps({'seconds': time.perf_counter() - t}))", repeats)
        rows.append((label, ours, theirs))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peer", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-edf")
    args = ap.parse_args()
    start = time.perf_counter()
    load = os.getloadavg()
    lines = [
        "## Reading EDF and BDF",
        "",
        f"Written by `benchmarks/read_edf.py` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"command: `python benchmarks/read_edf.py --repeats {args.repeats}`. Machine: {machine()}. "
        "Reference: `mne.io.read_raw_edf` / `read_raw_bdf` with `preload=True` (MNE reads two channels fastest "
        "with `include=`, which is used for the two-channel rows). Ratio = MNE time / neurorep time. "
        f"Load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
        + (" (above the core count: other work shared the machine; both readers ran under it, interleaved)."
           if load[0] > (os.cpu_count() or 1) else "."),
        "",
    ]
    if args.peer.is_dir():
        rows = peer_rows(args.peer, args.repeats)
        ratios = [m / o for _, o, m in rows]
        lines += ["### Peer files, every channel (same process, interleaved, median)", "",
                  "| file | neurorep (ms) | MNE (ms) | ratio |", "|---|---|---|---|"]
        lines += [f"| {n} | {o * 1e3:.1f} | {m * 1e3:.1f} | {m / o:.1f}x |" for n, o, m in rows]
        lines += ["", f"Ratio over the {len(rows)} files with signals: median {statistics.median(ratios):.1f}x, "
                      f"range {min(ratios):.1f}x-{max(ratios):.1f}x.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        lines += ["### ~100 MB files, 64 channels at 256 Hz (fresh process per run, median)", "",
                  "| file | read | neurorep (s) | MNE (s) | ratio | neurorep peak (MiB) | MNE peak (MiB) |",
                  "|---|---|---|---|---|---|---|"]
        for bdf in (False, True):
            path = write_big(Path(tmp), bdf)
            size = path.stat().st_size / 2**20
            for label, ours, theirs in big_rows(path, args.repeats):
                lines.append(f"| {path.suffix[1:].upper()} {size:.0f} MB | {label} | {ours['seconds']:.3f} | "
                             f"{theirs['seconds']:.3f} | {theirs['seconds'] / ours['seconds']:.1f}x | "
                             f"{ours['peak_mib']:.0f} | {theirs['peak_mib']:.0f} |")
    lines += ["", f"Total benchmark time {time.perf_counter() - start:.0f} s. neurorep reads EDF and BDF in "
                  "chunks of 8 MB and decodes only the channels asked for, in one pass; timings on a shared machine vary, "
                  "compare ratios within one run."]
    write_section("readers", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
