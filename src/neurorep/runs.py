"""Run folders: creation rules, saved metadata, and the ``run`` / ``benchmark`` commands.

Every run writes ``config.yaml`` (the resolved config), ``environment.json`` (package versions and
the data fingerprint), ``metrics.json``, TensorBoard logs, checkpoints and plots. A folder that
already holds a run is refused unless ``--overwrite`` (replace) or ``--resume`` (continue).
``--overwrite`` replaces only a folder neurorep made (one holding its run marker); ``--resume``
is checked (same config, loadable checkpoints) before anything in the folder is written.
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from neurorep.config import config_root, dump_yaml, load_config, read_yaml
from neurorep.determinism import deterministic, deterministic_mode
from neurorep.errors import ConfigError, DataError
from neurorep.fileio import (
    RUN_MARKER,
    check_writable,
    ensure_writable_dir,
    inside,
    json_text,
    mark_run_dir,
    read_json,
    removed_on_error,
    replace_made_dir,
    write_json,
)

#: Config keys that may differ between a run and its resumption (they do not change its results).
RESUME_FREE_KEYS = ("out", "progress", "plots")

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
        made = (out / RUN_MARKER).is_file() or (resume and _legacy_run(out))
        if not resume and not overwrite:
            what = "a run" if made else "files that neurorep did not make"
            hint = "pass --overwrite to replace it or --resume to continue it" if made else "choose another folder"
            raise ConfigError(f"{out}: folder already holds {what}; {hint}")
        if not made:
            raise ConfigError(f"{out}: folder was not made by neurorep (no {RUN_MARKER} marker); "
                              f"{'--resume' if resume else '--overwrite'} works only on a folder neurorep made")
    elif resume:
        raise ConfigError(f"{out}: no run to resume here")
    check_writable(out, "output folder")


def _legacy_run(out: Path) -> bool:
    """A run folder written before run markers existed (resumable, never replaced without a marker)."""
    return (out / "config.yaml").is_file() and (out / "environment.json").is_file()


def prepare_run_dir(out: str | Path, overwrite: bool = False, resume: bool = False) -> Path:
    """Create ``out`` for a new run (with neurorep's run marker); refuse to clobber anything unless told to."""
    out = Path(out)
    check_run_dir(out, overwrite, resume)
    if out.is_dir() and any(out.iterdir()):
        if resume:
            return out
        replace_made_dir(out)
    return mark_run_dir(ensure_writable_dir(out, "output folder"))


def check_resume(out: Path, cfg: BaseModel) -> None:
    """Refuse to resume ``out`` with a config other than its own or with checkpoints that cannot be loaded.

    Runs before anything in ``out`` is written, so a refused resume leaves the run as it was.
    """
    saved_path = out / "config.yaml"
    if not saved_path.is_file():
        raise ConfigError(f"{saved_path}: the run to resume has no config.yaml, so it cannot be checked")
    saved = read_yaml(saved_path)
    now = cfg.model_dump(mode="json")
    for key in sorted(set(saved) | set(now)):
        if key in RESUME_FREE_KEYS or saved.get(key) == now.get(key):
            continue
        where = _first_difference(saved.get(key), now.get(key), key)
        raise ConfigError(f"{out}: cannot resume with another config: {where} (the run was started with "
                          f"{saved_path}); start a new run with --out instead")
    import torch

    for ckpt in sorted(out.rglob("*.ckpt")):
        try:
            torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # noqa: BLE001 - every failure to load means "not a safe checkpoint"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{ckpt}: checkpoint cannot be loaded safely ({first[:200]}); delete it to restart "
                            "that stage, or start a new run") from None


def _first_difference(saved: Any, now: Any, key: str) -> str:
    if isinstance(saved, dict) and isinstance(now, dict):
        for k in sorted(set(saved) | set(now)):
            if saved.get(k) != now.get(k):
                return _first_difference(saved.get(k), now.get(k), f"{key}.{k}")
    return f"{key} was {saved!r}, now {now!r}"


def resolve_out(out: str | Path, config_path: Path, from_config: bool) -> Path:
    """The run folder: a command-line ``--out`` as given; an ``out:`` from a config file resolved
    inside the config's project (see :func:`neurorep.config.config_root`), never outside it."""
    if not from_config:
        return Path(out)
    return inside(out, config_root(config_path), f"{config_path}: out")


def environment() -> dict[str, Any]:
    """Python, platform and package versions, and the deterministic mode (`--deterministic`)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions,
            "deterministic": deterministic_mode()}


def run_mode(out: Path, flag: bool, resume: bool) -> bool:
    """Deterministic mode of a run in ``out``: ``--deterministic`` (``flag``) or ``NEUROREP_DETERMINISTIC``
    for a new run; for a resumed one the mode it started with (``--deterministic`` on a run started
    without it is refused, since the first epochs already ran in the other mode)."""
    if not resume:
        return flag or deterministic_mode()
    saved = saved_deterministic(out)
    if flag and not saved:
        raise ConfigError(f"{out}: the run started without --deterministic and a resume keeps the mode it "
                          "started with; start a new run with --out for a deterministic one")
    return saved


def saved_deterministic(out: Path) -> bool:
    """The deterministic mode ``out``'s run started with (``environment.json``; runs saved before the
    mode was recorded ran in deterministic mode)."""
    path = out / "environment.json"
    saved = read_json(path, "run environment") if path.is_file() else {}
    value = saved.get("deterministic", True) if isinstance(saved, dict) else None
    if not isinstance(value, bool):
        raise DataError(f"{path}: 'deterministic' should be true or false, got {value!r}")
    return value



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
    given = args.out or (args.from_run if args.from_run is not None and args.resume else None)
    if given is None and getattr(cfg, "out", None) is None:
        raise ConfigError(f"{config_path}: no output folder; set `out:` in the config or pass --out")
    out = resolve_out(given or cfg.out, Path(config_path), from_config=given is None)  # type: ignore[attr-defined]
    recipe = get_recipe(cfg.recipe)  # type: ignore[attr-defined]
    check_run_dir(out, overwrite=args.overwrite, resume=args.resume)
    if args.resume:
        check_resume(out, cfg)
    mode = run_mode(out, bool(getattr(args, "deterministic", False)), args.resume)
    with removed_on_error(out), deterministic(mode):  # bad input found mid-way leaves no half-written run folder
        metrics = recipe.run(cfg, out, overwrite=args.overwrite, resume=args.resume)
    print(json_text(metrics.get("summary", metrics)))
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
