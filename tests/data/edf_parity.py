"""Compare neurorep's reading of EDF/BDF files with MNE's, and with pyEDFlib's for the channels that
MNE resamples (a file with several rates: MNE returns every channel at the highest rate, neurorep
keeps each at its own).

Per file, parity means: the same channel names (duplicates made unique as MNE does), rates and
sample counts; every value within one digital step (plus float32 rounding) of the reference;
trigger codes equal; the same annotations (onset within 10 µs, duration, text; MNE cuts durations
at the end of the data, neurorep keeps them as written, so they are compared cut). A file without
signals must give neurorep a clean ``DataError`` and the same annotations as ``mne.read_annotations``.

Run it on any folder::

    python tests/data/edf_parity.py FOLDER      # one line per file; exit 1 if any file differs
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from neurorep.data.readers import edf_format as fmt
from neurorep.data.readers.edf import read_annotations_edf, read_edf
from neurorep.errors import DataError

#: MNE's unit rule (``mne/io/edf/edf.py``): these four spellings are micro-volts, ``mV`` milli-volts,
#: anything else is taken as volts.
MNE_MICRO = ("\u03bcV", "\u00b5V", "\x83\u00caV", "uV")


def mne_factor(unit: str) -> float:
    return 1e-6 if unit in MNE_MICRO else 1e-3 if unit == "mV" else 1.0


def _mne_raw(path: Path):  # type: ignore[no-untyped-def]
    import mne

    read = mne.io.read_raw_bdf if path.suffix.lower() == ".bdf" else mne.io.read_raw_edf
    return read(path, preload=True, verbose="error")


def _native(path: Path, n_data: int) -> list[np.ndarray]:
    """Each data signal in its physical unit at its own rate, read by pyEDFlib (edfio if it cannot)."""
    try:
        import pyedflib

        with pyedflib.EdfReader(str(path)) as f:
            return [f.readSignal(i, digital=False) for i in range(f.signals_in_file)]
    except (ImportError, OSError):
        import edfio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read = edfio.read_bdf if path.suffix.lower() == ".bdf" else edfio.read_edf
            sigs = [s for s in read(path).signals if s.label not in fmt.ANNOTATION_LABELS]
        return [np.asarray(s.data, dtype=np.float64) for s in sigs[:n_data]]


def _compare_annotations(ours, theirs_onset, theirs_duration, theirs_desc) -> list[str]:  # type: ignore[no-untyped-def]
    if len(ours) != len(theirs_onset):
        return [f"{len(ours)} annotations, reference {len(theirs_onset)}"]
    out = []
    if len(ours):
        if list(ours.description) != [str(d) for d in theirs_desc]:
            out.append("annotation texts differ")
        d_on = float(np.abs(ours.onset - np.asarray(theirs_onset)).max())
        d_du = float(np.abs(ours.duration - np.asarray(theirs_duration)).max())
        if d_on > 1e-5 or d_du > 1e-5:
            out.append(f"annotation times differ by up to {max(d_on, d_du):.3g} s")
    return out


def compare_file(path: str | Path) -> list[str]:
    """Every difference between neurorep's and the references' reading of ``path`` (empty: parity)."""
    import mne

    path = Path(path)
    h = fmt.read_header(path)
    data_idx = h.data_signals
    if not data_idx:
        try:
            read_edf(path)
            return ["a file without signals was read without a DataError"]
        except DataError:
            pass
        ref = mne.read_annotations(path)
        return _compare_annotations(read_annotations_edf(path), ref.onset, ref.duration, ref.description)
    raw = _mne_raw(path)
    rec = read_edf(path)
    problems = []
    ours = {n: (rec.data[k], rec.sfreq, t) for k, (n, t) in enumerate(zip(rec.ch_names, rec.ch_types, strict=True))}
    ours.update({n: (x, sf, "extra") for n, (x, sf) in rec.extra.items()})
    if sorted(ours) != sorted(raw.ch_names):
        return [f"channel names differ: neurorep {sorted(ours)}, MNE {sorted(raw.ch_names)}"]
    native = None
    file_names = [n for n in raw.ch_names]  # MNE keeps the file's order
    mne_types = dict(zip(raw.ch_names, raw.get_channel_types(), strict=True))
    for pos, name in enumerate(file_names):
        x, sf, kind = ours[name]
        s = h.signals[data_idx[pos]]
        rate = h.rate(data_idx[pos])
        if abs(sf - rate) > 1e-9:
            problems.append(f"{name}: rate {sf} Hz, the file says {rate} Hz")
            continue
        factor = fmt.volt_factor(s.unit) or 1.0
        if mne_types[name] == "stim" or kind == "stim":
            ref = raw.get_data(picks=[name])[0]
            if kind != "stim" or mne_types[name] != "stim" or not np.array_equal(x, ref.astype(np.float32)):
                problems.append(f"{name}: trigger codes differ from MNE's")
            continue
        if abs(sf - raw.info["sfreq"]) < 1e-9:
            ref = raw.get_data(picks=[name])[0] / mne_factor(s.unit) * factor
        else:
            native = native if native is not None else _native(path, len(data_idx))
            ref = native[pos] * factor
        if len(ref) != len(x):
            problems.append(f"{name}: {len(x)} samples, reference {len(ref)}")
            continue
        tol = abs(s.gain * factor) * 1.0001 + 1e-6 * np.abs(ref)
        bad = np.abs(x.astype(np.float64) - ref) > tol
        if bad.any():
            k = int(np.argmax(bad))
            problems.append(f"{name}: sample {k} is {x[k]:.9g}, reference {ref[k]:.9g} (step {s.gain * factor:.3g})")
    ann = raw.annotations
    clipped = rec.annotations  # MNE cuts annotations at the end of the data; neurorep keeps them as written
    end = rec.end_time
    clipped = type(clipped)(clipped.onset, np.minimum(clipped.onset + clipped.duration, end) - clipped.onset,
                            clipped.description)
    problems += _compare_annotations(clipped, np.asarray(ann.onset) - raw.first_time, ann.duration, ann.description)
    return problems


def main(folder: str) -> int:
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".edf", ".bdf"))
    failed = 0
    for p in files:
        problems = compare_file(p)
        failed += bool(problems)
        print(f"{'ok  ' if not problems else 'DIFF'} {p}" + "".join(f"\n     {m}" for m in problems))
    print(f"{len(files) - failed} of {len(files)} files read as MNE reads them")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/peer-edf"))
