"""Classic SSVEP baselines on the real ssvep-exo recordings, cross-subject (subject-wise folds).

Reads every ``*_raw.fif`` + ``*-eve.fif`` pair of the 12 subjects with MNE (band-pass, event-locked
epochs), then fits each baseline of :mod:`neurorep.evaluation.baselines` (band power + LR,
Riemannian tangent space + LR (on the raw window and on the stimulus bands), CCA and filter-bank CCA with sine references, and any other named
with ``--baselines``) on the training subjects of each fold and scores it on the held-out subjects.
Writes the ``ssvep-baselines`` section of ``benchmarks/RESULTS.md`` and prints the table::

    python benchmarks/ssvep_baselines.py --data /work/shared/data/ssvep-exo --folds 4

Event codes of the files: 1 rest, 2 13 Hz, 3 21 Hz, 4 17 Hz (the dataset README's Label_00..03).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_section  # noqa: E402

EVENTS = {"rest": 1, "13Hz": 2, "21Hz": 3, "17Hz": 4}


def load(data: Path, tmin: float, tmax: float, l_freq: float, h_freq: float) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray, float]:
    """Epochs of every recording: ``x[n, C, T]`` (µV), class index ``y[n]``, subject ``g[n]``, rate."""
    import mne

    xs, ys, gs, sfreq = [], [], [], 0.0
    raws = sorted(data.glob("subject*/*_raw.fif"))
    if not raws:
        raise SystemExit(f"{data}: no subject*/*_raw.fif recordings (the ssvep-exo folder)")
    for path in raws:
        events = mne.read_events(str(path).replace("_raw.fif", "-eve.fif"))
        raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
        raw.filter(l_freq, h_freq, verbose="error")
        epochs = mne.Epochs(raw, events, EVENTS, tmin=tmin, tmax=tmax - 1 / raw.info["sfreq"], baseline=None,
                            preload=True, verbose="error")
        codes = {code: k for k, code in enumerate(EVENTS.values())}
        xs.append(epochs.get_data(copy=False) * 1e6)
        ys.append(np.array([codes[c] for c in epochs.events[:, 2]]))
        gs.append(np.full(len(epochs), int(path.parent.name.removeprefix("subject"))))
        sfreq = raw.info["sfreq"]
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys), np.concatenate(gs), sfreq


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/ssvep-exo"), help="ssvep-exo folder")
    parser.add_argument("--folds", type=int, default=4, help="subject-wise folds")
    parser.add_argument("--tmin", type=float, default=2.0, help="window start after the label event (s)")
    parser.add_argument("--tmax", type=float, default=4.0, help="window end after the label event (s)")
    parser.add_argument("--l-freq", type=float, default=1.0, help="band-pass low edge (Hz)")
    parser.add_argument("--h-freq", type=float, default=45.0, help="band-pass high edge (Hz)")
    parser.add_argument("--baselines", default="bandpower_lr,tangent_lr,fb_tangent_lr,cca,fbcca,csp_lda", help="comma-separated")
    parser.add_argument("--json", type=Path, help="also write the per-fold scores here")
    parser.add_argument("--no-results", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"{args.data}: no such folder (the ssvep-exo recordings); nothing measured", file=sys.stderr)
        return 2
    from sklearn.model_selection import GroupKFold
    from threadpoolctl import threadpool_limits

    from neurorep.evaluation.baselines import BASELINE_LABELS, make_baseline
    from neurorep.evaluation.metrics import classification_metrics
    from neurorep.evaluation.report import mean_sd

    import mne

    mne.set_log_level("ERROR")  # CSP reports each covariance it estimates
    import os

    started, load_avg = time.time(), " ".join(f"{v:.1f}" for v in os.getloadavg())
    x, y, groups, sfreq = load(args.data, args.tmin, args.tmax, args.l_freq, args.h_freq)
    classes = list(EVENTS)
    names = [n.strip() for n in args.baselines.split(",") if n.strip()]
    scores: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    folds = list(GroupKFold(n_splits=args.folds).split(x, y, groups))
    with threadpool_limits(limits=1):
        for fold, (train, test) in enumerate(folds):
            for name in names:
                t0 = time.time()
                model = make_baseline(name, sfreq=sfreq, n_channels=x.shape[1], classes=classes, seed=fold)
                y_pred = model.fit(x[train], y[train]).predict(x[test])
                m = classification_metrics(y[test], y_pred, classes)
                scores[name].append({"fold": fold, "balanced_accuracy": m["balanced_accuracy"], "kappa": m["kappa"],
                                     "test_subjects": sorted(int(s) for s in np.unique(groups[test]))})
                seconds[name] += time.time() - t0
                print(f"fold {fold} {name}: balanced accuracy {m['balanced_accuracy']:.3f}", flush=True)
    lines = ["| baseline | balanced accuracy | kappa | fit + predict, all folds (s) |", "|---|---|---|---|"]
    for name in names:
        bal = [s["balanced_accuracy"] for s in scores[name]]
        kap = [s["kappa"] for s in scores[name]]
        lines.append(f"| {BASELINE_LABELS[name]} | {mean_sd(bal)} | {mean_sd(kap)} | {seconds[name]:.0f} |")
    table = "\n".join(lines)
    command = ("python benchmarks/ssvep_baselines.py --data DATA/ssvep-exo "
               f"--folds {args.folds} --tmin {args.tmin:g} --tmax {args.tmax:g}")
    text = (f"## Classic SSVEP baselines on ssvep-exo (cross-subject)\n\n"
            f"Written by `benchmarks/ssvep_baselines.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"command: `{command}` ({machine()}, load average {load_avg} at start, total "
            f"{(time.time() - started) / 60:.1f} min).\n\n"
            f"{len(x)} windows of {args.tmax - args.tmin:g} s ({args.tmin:g}-{args.tmax:g} s after the label event), "
            f"{x.shape[1]} channels at {sfreq:g} Hz, band-passed {args.l_freq:g}-{args.h_freq:g} Hz; "
            f"{len(np.unique(groups))} subjects in {args.folds} subject-wise folds (GroupKFold), 4 classes "
            "(rest, 13, 17, 21 Hz; chance 0.25). Mean ± sd over folds. CCA/FBCCA score each stimulus "
            "frequency by canonical correlation with sine/cosine references (3 harmonics); the rest class has "
            "no frequency, so a logistic regression on the scores, fitted on the training subjects, decides.\n\n"
            + table)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(scores, indent=1))
    if not args.no_results:
        write_section("ssvep-baselines", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
