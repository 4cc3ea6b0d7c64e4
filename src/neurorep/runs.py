"""Run folders: creation rules, saved metadata, and the ``run`` / ``benchmark`` commands.

Every run writes ``config.yaml`` (the resolved config), ``environment.json`` (package versions and
the data fingerprint), ``metrics.json``, TensorBoard logs, checkpoints and plots. A folder that
already holds a run is refused unless ``--overwrite`` (replace) or ``--resume`` (continue).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from neurorep.config import dump_yaml, load_config
from neurorep.errors import ConfigError
from neurorep.fileio import atomic_write_text, check_writable, ensure_writable_dir, removed_on_error

PACKAGES = ("neurorep", "torch", "lightning", "numpy", "scipy", "scikit-learn", "mne", "edfio", "safetensors")


def check_run_dir(out: str | Path, overwrite: bool = False, resume: bool = False) -> None:
    """Refuse, before any work starts, an output folder that a run could not use.

    A folder holding a run needs ``overwrite`` or ``resume``; ``resume`` needs a run to continue;
    the folder (or the nearest existing parent it would be created in) must be writable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not resume and not overwrite:
            raise ConfigError(f"{out}: folder already holds a run; pass --overwrite to replace it or --resume to continue it")
    elif resume:
        raise ConfigError(f"{out}: no run to resume here")
    check_writable(out, "output folder")


def prepare_run_dir(out: str | Path, overwrite: bool = False, resume: bool = False) -> Path:
    """Create ``out`` for a new run; refuse to clobber an existing run unless told to."""
    out = Path(out)
    check_run_dir(out, overwrite, resume)
    if out.is_dir() and any(out.iterdir()):
        if resume:
            return out
        shutil.rmtree(out)
    return ensure_writable_dir(out, "output folder")


def environment() -> dict[str, Any]:
    """Python, platform and package versions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions}


def write_json(path: str | Path, data: Any) -> Path:
    """Write JSON atomically (temporary file + rename)."""
    return atomic_write_text(path, json.dumps(data, indent=1, default=_plain))


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def save_run_metadata(out: Path, cfg: BaseModel, data_fingerprint: str | None = None) -> None:
    """``config.yaml`` and ``environment.json`` beside the run."""
    dump_yaml(cfg, out / "config.yaml")
    write_json(out / "environment.json", {**environment(), "data_fingerprint": data_fingerprint})


def run_from_args(args: argparse.Namespace) -> int:
    """``neurorep run CONFIG [overrides]`` / ``neurorep run --from RUN_DIR``."""
    from neurorep.recipes import get_recipe

    extra = list(getattr(args, "set_overrides", []) or [])
    if args.from_run is not None:
        config_path = Path(args.from_run) / "config.yaml"
        overrides = ([str(args.config)] if args.config else []) + list(args.overrides) + extra
    elif args.config is not None:
        config_path, overrides = args.config, list(args.overrides) + extra
    else:
        raise ConfigError("give a CONFIG file or --from RUN_DIR")
    cfg = load_config(config_path, overrides)
    out = args.out or (args.from_run if args.from_run is not None and args.resume else None) or getattr(cfg, "out", None)
    if out is None:
        raise ConfigError(f"{config_path}: no output folder; set `out:` in the config or pass --out")
    recipe = get_recipe(cfg.recipe)  # type: ignore[attr-defined]
    check_run_dir(out, overwrite=args.overwrite, resume=args.resume)
    with removed_on_error(out):  # bad input found mid-way leaves no half-written run folder
        metrics = recipe.run(cfg, Path(out), overwrite=args.overwrite, resume=args.resume)
    print(json.dumps(metrics.get("summary", metrics), indent=1, default=_plain))
    print(f"run folder: {out}")
    return 0


def benchmark_from_args(args: argparse.Namespace) -> int:
    """``neurorep benchmark RECIPE --out DIR``."""
    from neurorep.recipes import get_recipe

    recipe = get_recipe(args.recipe)
    if recipe.benchmark is None:
        raise ConfigError(f"recipe {args.recipe!r} has no benchmark grid")
    report = recipe.benchmark(preset=args.preset, data=args.data, out=args.out, seeds=args.seeds,
                              overrides=args.overrides, overwrite=args.overwrite, jobs=args.jobs)
    print(f"report: {report}")
    return 0
