"""``neurorep published``: list the published architectures; load (and save) a checkpoint.

Kept beside :mod:`neurorep.cli`, which adds this parser and command; like every command it
only calls library functions (:func:`neurorep.hub.load_published`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_published_parser(sub: argparse._SubParsersAction, make: Callable[..., argparse.ArgumentParser]) -> None:  # type: ignore[type-arg]
    """Add ``published list`` and ``published load`` to the ``neurorep`` parser; ``make(sub, name, help,
    examples)`` builds each parser the way :mod:`neurorep.cli` builds its own (defaults and examples shown)."""
    pub = make(sub, "published", "published EEG foundation models: list, load a checkpoint",
               ("neurorep published list",
                "neurorep published load cbramod cbramod.safetensors --n-channels 19 --n-times 2000 --sfreq 200"))
    psub = pub.add_subparsers(dest="published_cmd", required=True)
    make(psub, "list", "architectures that load published checkpoints",
         ("neurorep published list", "neurorep list encoders   # the published ones among all encoders"))
    load = make(psub, "load", "load a checkpoint strictly, print what was loaded, optionally save it",
                ("neurorep published load cbramod cbramod.safetensors --n-channels 19 --n-times 2000 --sfreq 200",
                 "neurorep published load biot biot.pth --n-channels 16 --n-times 2000 --sfreq 200 --save biot_encoder"))
    load.add_argument("name", help="architecture (cbramod, biot, labram, ...)")
    load.add_argument("weights", help=".safetensors / .pth / .ckpt file, saved-model folder or hub id owner/name")
    load.add_argument("--n-channels", type=int, required=True, help="channels of the windows")
    load.add_argument("--n-times", type=int, required=True, help="samples per window")
    load.add_argument("--sfreq", type=float, required=True, help="sampling rate of the windows (Hz)")
    load.add_argument("--n-outputs", type=int, help="load the checkpoint's classification head for this many classes")
    load.add_argument("--ch-names", help="comma-separated channel names (models that look electrodes up by name)")
    load.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                      help="architecture argument, e.g. n_layers=4 (repeatable)")
    load.add_argument("--save", type=Path, help="write the encoder as a neurorep saved model (for export/benchmarks)")
    load.add_argument("--rename", action="append", default=[], metavar="DATA=MODEL",
                      help="rename a data channel to the model's electrode name, e.g. T3=T7 (repeatable)")
    load.add_argument("--drop", action="append", default=[], metavar="NAME",
                      help="leave a data channel out; 'extra' drops every channel the model does not know (repeatable)")
    load.add_argument("--reorder", action="store_true", help="take the model's channels by name in its order")
    load.add_argument("--interpolate", action="store_true",
                      help="make channels the model needs and the data lack by spherical-spline interpolation (MNE)")
    load.add_argument("--resample", action="store_true",
                      help="resample windows at another rate to the weights' rate inside the saved encoder")


def cmd_published(args: argparse.Namespace) -> int:
    """Run ``neurorep published ...``."""
    from neurorep.hub import published_names

    if args.published_cmd == "list":
        from neurorep.encoders import ENCODERS

        for name in published_names():
            cls = ENCODERS.get(name)
            card, ref = cls.card, cls.reference_class  # type: ignore[attr-defined]
            print(f"{name:10s} {ref:8s} {card.sfreq:g} Hz  licence: {card.licence}")
        return 0
    from neurorep.config import parse_override
    from neurorep.export.contract import CheckpointContract
    from neurorep.export.hub import save_pretrained
    from neurorep.hub import encoder_with_weights, load_published

    overrides = {}
    for text in args.sets:
        key, value = parse_override(text)
        overrides[".".join(key)] = value
    ch_names = [c.strip() for c in args.ch_names.split(",")] if args.ch_names else None
    mapping = _mapping(args)
    if _adapting(args) and args.n_outputs is not None:
        from neurorep.errors import ConfigError

        raise ConfigError("--n-outputs loads the checkpoint's head for the model's own input; it cannot be combined "
                          "with --drop, --reorder, --interpolate or --resample (the saved encoder has no head)")
    model = load_published(args.name, args.weights, args.n_channels, args.n_times, args.sfreq,
                           n_outputs=args.n_outputs, ch_names=ch_names, model_kwargs=overrides,
                           channel_map=mapping["rename"]) if not _adapting(args) else None
    if model is not None:
        encoder = model.encoder
        info = dict(model.metadata)
        info["n_tensors"] = len(model.reference_state_dict())
        if info.get("contract"):
            encoder.checkpoint_contract = CheckpointContract.from_dict(info["contract"])
    else:  # the data need a mapping: the encoder comes with it built in
        encoder = encoder_with_weights(args.name, args.weights, args.n_channels, args.n_times, args.sfreq,
                                       ch_names=ch_names, channel_mapping=mapping, resample=args.resample,
                                       model_kwargs=overrides)
        info = {"architecture": encoder.registry_name, "contract": encoder.checkpoint_contract.as_dict()}
    info["n_parameters"] = sum(p.numel() for p in encoder.parameters())
    if args.save is not None:
        save_pretrained(encoder, args.save, extra={"published": info})
        info["saved"] = str(args.save)
    print(json.dumps(info, indent=2))
    return 0


def _mapping(args: argparse.Namespace) -> dict[str, Any]:
    from neurorep.errors import ConfigError

    rename = {}
    for text in args.rename:
        old, sep, new = text.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(f"--rename: expected DATA=MODEL, got {text!r}")
        rename[old.strip()] = new.strip()
    drop: list[str] | str = "extra" if "extra" in args.drop else [d.strip() for d in args.drop]
    return {"rename": rename, "drop": drop, "reorder": args.reorder, "interpolate": args.interpolate}


def _adapting(args: argparse.Namespace) -> bool:
    """True when the data need more than renaming to fit the weights (an adapted encoder is saved)."""
    return bool(args.drop or args.reorder or args.interpolate or args.resample)
