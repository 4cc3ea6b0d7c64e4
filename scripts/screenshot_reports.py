"""Screenshots of each recipe's report.html with headless Chromium, to look at what a user sees.

    python scripts/screenshot_reports.py --out runs/screenshots              # run small grids, then shoot
    python scripts/screenshot_reports.py --out runs/screenshots --reports runs/demo/report.html
    python scripts/screenshot_reports.py --out runs/screenshots --recipes sleep-ssl foundation

Without ``--reports`` every recipe's benchmark runs first, on its simulated corpus, with the small
settings in :data:`GRIDS` (two seeds where a standard deviation should show; about 10 minutes on
2 CPU cores for all five), into ``<out>/<recipe>``. Each report is then opened by Chromium
(Debian: ``apt-get install -y chromium``) in a fresh profile, offline, and written as
``<out>/<recipe>.png``. The PNGs are for looking at, not for committing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: recipe -> `neurorep benchmark` options of the small grid whose report is photographed.
GRIDS: dict[str, list[str]] = {
    "sleep-ssl": ["--seeds", "2", "--set", "encoders=[cnn]", "--set", "paradigms=[mp,crl]",
                  "--set", "encoder_kwargs={cnn: {n_filters: 8}}", "--set", "pretrain.epochs=2",
                  "--set", "pretrain.max_windows=256", "--set", "finetune.epochs=2", "--set", "finetune.max_windows=256",
                  "--set", "probe.max_train=600", "--set", "data.simulate.subjects=6", "--set", "data.simulate.hours=2"],
    "kd-sleep": ["--seeds", "2", "--set", "schemes=[3class]", "--set", "modes=[eeg_base,ecg_base,kd_temp]",
                 "--set", "base.data.simulate.subjects=6", "--set", "base.data.simulate.hours=1.5",
                 "--set", "base.train.epochs=2", "--set", "base.teacher_train.epochs=2"],
    "eeg-image": ["--set", "subjects=[1,2]", "--set", "target_subject=2", "--set", "ratios=[0.5,1.0]",
                  "--set", "base.data.simulate.subjects=2", "--set", "base.data.simulate.n_train_concepts=60",
                  "--set", "base.data.simulate.n_test_concepts=30", "--set", "base.train.epochs=2",
                  "--set", "base.eval.ways=[2,4,30]", "--set", "base.eval.repetitions=[1,5,20]"],
    "meg-ablation": ["--seeds", "2", "--set", "rows=['000','100','111']", "--set", "base.data.simulate.subjects=5",
                     "--set", "base.data.simulate.seconds=3", "--set", "base.pretrain.epochs=1",
                     "--set", "base.finetune.epochs=2"],
    "foundation": ["--seeds", "2", "--set", "base.data.simulate.subjects=10", "--set", "base.data.simulate.duration_s=60",
                   "--set", "base.pretrain.epochs=1", "--set", "base.pretrain.crops_per_epoch=64",
                   "--set", "base.finetune.epochs=2"],
}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium() -> str:
    """The Chromium executable, or exit with how to install it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("screenshot_reports: chromium not found; install it (Debian: apt-get update && apt-get install -y chromium)")


def run_grid(recipe: str, out: Path) -> Path:
    """Run ``recipe``'s small benchmark into ``out`` (replacing it) and return its report."""
    cmd = [sys.executable, "-m", "neurorep.cli", "benchmark", recipe, "--out", str(out), "--overwrite", "--jobs", "2",
           *GRIDS[recipe]]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return out / "report.html"


def screenshot(report: Path, png: Path, width: int = 1280, height: int = 9000) -> Path:
    """Photograph ``report`` with headless Chromium (a fresh, throw-away profile) into ``png``."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
               f"--window-size={width},{height}", report.resolve().as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    if not png.is_file():
        sys.exit(f"screenshot_reports: chromium wrote no {png}")
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/screenshots"), help="folder for the grids and PNGs")
    parser.add_argument("--recipes", nargs="+", default=list(GRIDS), choices=list(GRIDS), help="recipes to run")
    parser.add_argument("--reports", nargs="+", type=Path, help="existing report.html files to photograph instead")
    parser.add_argument("--height", type=int, default=9000, help="window height in pixels (the page is cut there)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    reports = ({p.parent.name: p for p in args.reports} if args.reports
               else {r: run_grid(r, args.out / r) for r in args.recipes})
    for name, report in reports.items():
        png = screenshot(report, args.out / f"{name}.png", height=args.height)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
