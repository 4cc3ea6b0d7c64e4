"""The ``--eval-data`` file of ``neurorep export --format int8``: a run's labelled test windows as ``.npz``.

``python -m neurorep.export.heldout RUN_DIR --out heldout.npz`` reads the run's ``config.yaml``,
rebuilds (or reuses) its window cache and subject split, and writes ``x[N, C, T]`` (float32) and
``y[N]`` of the test subjects' labelled windows, exactly as the run's model saw its inputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from neurorep.errors import ConfigError, NeurorepError


def run_folder(path: str | Path) -> Path:
    """The run folder holding ``path`` (a run folder or any folder inside it, e.g. ``.../export/best``)."""
    path = Path(path)
    for folder in [path, *path.parents]:
        if (folder / "config.yaml").is_file():
            return folder
    raise ConfigError(f"{path}: not inside a run folder (no config.yaml here or above)")


def heldout_windows(run: str | Path, out_npz: str | Path, max_windows: int = 2000) -> int:
    """Write the labelled test windows of a sleep-ssl run (same cache, split and fold) to ``out_npz``.

    Returns the number of windows written (at most ``max_windows``).
    """
    from neurorep.config import read_yaml, validate
    from neurorep.data.dataset import WindowDataset
    from neurorep.data.prepared import setup_data
    from neurorep.fileio import atomic_write
    from neurorep.recipes.sleep_ssl.config import SleepSSLConfig

    run = run_folder(run)
    raw = read_yaml(run / "config.yaml")
    if raw.get("recipe") != "sleep-ssl":
        raise ConfigError(f"{run / 'config.yaml'}: held-out windows are made for sleep-ssl runs; "
                          f"this run's recipe is {raw.get('recipe')!r}")
    cfg = validate(SleepSSLConfig, raw, source=str(run / "config.yaml"))
    prep = setup_data(cfg.data, progress=False)
    split = prep.splits[cfg.fold]
    labelled = prep.cache.meta["y"] >= 0
    test = WindowDataset(prep.cache, split.test[labelled[split.test]][:max_windows])
    items = [test[i] for i in range(len(test))]
    x = np.stack([d["x"].numpy() for d in items]).astype(np.float32)
    y = np.array([int(d["y"]) for d in items], dtype=np.int64)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, x=x, y=y)

    atomic_write(Path(out_npz), write)
    return len(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neurorep.export.heldout", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("run", type=Path, help="a sleep-ssl run folder (or its export/best folder)")
    parser.add_argument("--out", type=Path, required=True, help="output .npz file")
    parser.add_argument("--max-windows", type=int, default=2000, help="at most this many windows")
    args = parser.parse_args(argv)
    try:
        n = heldout_windows(args.run, args.out, args.max_windows)
    except NeurorepError as exc:
        print(f"neurorep: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {n} held-out windows to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
