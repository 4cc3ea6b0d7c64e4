"""Event-locked windows from FIF recordings + ``-eve.fif`` events: neurorep vs an MNE script.

Data: the ssvep-exo folder (``subjectNN/record-[...]_raw.fif`` + ``record-[...]-eve.fif``), codes
1..4, windows 2 s..4 s after each event, 8 EEG channels, band-pass 1-45 Hz, 128 Hz.

* MNE: for every recording ``mne.io.read_raw_fif(preload=True)``, pick the channels, the same
  zero-phase 4th-order Butterworth band-pass as neurorep (``method="iir"``, second-order sections),
  polyphase resampling to 128 Hz, ``mne.read_events`` (sample numbers rescaled to 128 Hz), then
  ``mne.Epochs(tmin=2, tmax=4 - 1/128, baseline=None).get_data()`` (256 samples, as neurorep's
  ``round((tmax - tmin) * sfreq)``), saved with ``np.save``.
* neurorep: ``neurorep.data.cache.prepare`` with the same settings through the ``files`` source
  (also: channel and event checks of every file before any window, per-recording robust scaling,
  content hashes of the sources and of every written file, the metadata table).

The two run interleaved (neurorep, MNE, neurorep, MNE, ...) in fresh processes; each figure is the
median of the repeats.

Usage: python benchmarks/prepare_events.py [--repeats 5] [--data DIR] [--write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, measure, write_section  # noqa: E402

DATA = Path("/work/shared/data/ssvep-exo")
EVENTS = {"rest": 1, "13Hz": 2, "21Hz": 3, "17Hz": 4}
SETTINGS = dict(tmin=2.0, tmax=4.0, sfreq=128.0, l_freq=1.0, h_freq=45.0)

NEUROREP = """
import json, time, tempfile
from neurorep.data.cache import prepare
from neurorep.data.windows import PrepareConfig
t = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    cfg = PrepareConfig(events={events!r}, tmin={tmin}, tmax={tmax}, sfreq={sfreq}, l_freq={l_freq},
                        h_freq={h_freq})
    c = prepare({src!r}, tmp, dataset="files", cfg=cfg, progress=False).cache
    n = len(c)
print(json.dumps({{"seconds": time.perf_counter() - t, "windows": n}}))
"""

MNE = """
import json, time, tempfile, numpy as np, mne
from pathlib import Path
mne.set_log_level("ERROR")
t = time.perf_counter()
n = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, f in enumerate(sorted(Path({src!r}).rglob("*_raw.fif"))):
        raw = mne.io.read_raw_fif(f, preload=True)
        raw.pick({channels!r})
        raw.filter({l_freq}, {h_freq}, method="iir", iir_params=dict(order=4, ftype="butter", output="sos"))
        native = raw.info["sfreq"]
        raw.resample({sfreq}, method="polyphase")
        ev = mne.read_events(f.with_name(f.name.replace("_raw.fif", "-eve.fif")))
        ev[:, 0] = np.round((ev[:, 0] - raw.first_samp) * {sfreq} / native).astype(int) + raw.first_samp
        epochs = mne.Epochs(raw, ev, event_id={event_id!r}, tmin={tmin}, tmax={tmax} - 1 / {sfreq}, baseline=None,
                            preload=True)
        x = epochs.get_data().astype(np.float32)
        np.save(Path(tmp) / f"{{i}}.npy", x)
        n += len(x)
print(json.dumps({{"seconds": time.perf_counter() - t, "windows": n}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--write", action="store_true", help="also write the section into benchmarks/RESULTS.md")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data}: no such folder (the ssvep-exo recordings)")
    import mne

    first = next(args.data.rglob("*_raw.fif"))
    channels = mne.io.read_raw_fif(first, verbose="error").ch_names
    fill = dict(src=str(args.data), **SETTINGS)
    ours = NEUROREP.format(events=[(k, str(v)) for k, v in EVENTS.items()], **fill)
    theirs = MNE.format(channels=channels, event_id=EVENTS, **fill)
    runs: dict[str, list[dict[str, float]]] = {"neurorep": [], "mne": []}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        runs["neurorep"].append(measure(ours, repeats=1))
        runs["mne"].append(measure(theirs, repeats=1))
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("seconds", "peak_mib", "windows")}
           for k, v in runs.items()}
    if med["neurorep"]["windows"] != med["mne"]["windows"]:
        sys.exit(f"window counts differ: neurorep {med['neurorep']['windows']}, MNE {med['mne']['windows']}")
    ratio = med["mne"]["seconds"] / med["neurorep"]["seconds"]
    text = "\n".join([
        "## Event-locked windows from FIF (ssvep-exo)",
        "",
        f"`python benchmarks/prepare_events.py --repeats {args.repeats}` on {machine()}; "
        f"{len(list(args.data.rglob('*_raw.fif')))} recordings, {int(med['mne']['windows'])} windows of "
        f"{SETTINGS['tmax'] - SETTINGS['tmin']:g} s (8 channels, 1-45 Hz Butterworth band-pass, "
        f"{SETTINGS['sfreq']:g} Hz); median of {args.repeats} interleaved fresh-process runs.",
        "",
        "| pipeline | seconds | peak MiB |",
        "|---|---|---|",
        f"| neurorep `data prepare` (files source, cache written) | {med['neurorep']['seconds']:.2f} | "
        f"{med['neurorep']['peak_mib']:.0f} |",
        f"| MNE `read_raw_fif` + filter + resample + `Epochs.get_data` + `np.save` | {med['mne']['seconds']:.2f} | "
        f"{med['mne']['peak_mib']:.0f} |",
        "",
        f"MNE time / neurorep time: **{ratio:.2f}x** ({'neurorep faster' if ratio > 1 else 'neurorep slower'}).",
    ])
    print(text)
    print(json.dumps({"ratio": ratio, **{f"{k}_{m}": v for k, d in med.items() for m, v in d.items()}}))
    if args.write:
        write_section("prepare-events", text)


if __name__ == "__main__":
    main()
