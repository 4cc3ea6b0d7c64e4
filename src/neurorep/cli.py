"""Command-line front end. Thin: every command calls a library function.

User mistakes (bad files, unknown names, invalid configs) print one line on stderr and exit with
code 2; there is no traceback unless ``NEUROREP_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from neurorep.cli_prepare import add_recording_options, recording_settings
from neurorep.cli_options import HelpFormatter, _band_edge, _count, _examples, _parser, _Parser, _positive
from neurorep.errors import ConfigError
from neurorep.published_cli import add_published_parser, cmd_published


def recipe_presets() -> dict[str, list[str]]:
    """Recipe name -> its benchmark presets, read from the shipped ``presets/`` folders (no recipe import)."""
    from importlib import resources

    found = {}
    for folder in sorted(resources.files("neurorep.recipes").iterdir(), key=lambda p: p.name):
        presets = folder.joinpath("presets")
        if presets.is_dir():
            found[folder.name.replace("_", "-")] = sorted(p.name.removesuffix(".yaml") for p in presets.iterdir()
                                                          if p.name.endswith(".yaml"))
    return found


def _add_data(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = _parser(sub, "data", "simulate, prepare and inspect datasets",
                   ("neurorep data simulate sleep --out data/sim --subjects 10",
                    "neurorep data info data/sim", "neurorep data prepare data/sim --out .cache/neurorep"))
    dsub = data.add_subparsers(dest="data_cmd", required=True, metavar="{simulate,prepare,info}")

    sim = _parser(dsub, "simulate", "write a simulated corpus in a real dataset's on-disk format",
                  ("neurorep data simulate sleep --out data/sim --subjects 10 --seed 0 --jobs 2",
                   "neurorep data simulate mass --out data/mass --subjects 12 --set hours=8",
                   "neurorep data simulate meg --out data/meg --set seconds=15"))
    sim.add_argument("kind", help="corpus kind (see `neurorep list corpora`)")
    sim.add_argument("--out", required=True, type=Path, help="output folder")
    sim.add_argument("--subjects", type=_count, default=10, help="number of subjects")
    sim.add_argument("--nights", type=int, choices=(1, 2), help="sleep corpus: nights per subject (default 1)")
    sim.add_argument("--hours", type=_positive, help="sleep and mass corpora: length of each night in hours (default 8)")
    sim.add_argument("--seed", type=int, default=0, help="corpus seed (same seed, same files)")
    sim.add_argument("--jobs", type=_count, default=1, help="parallel processes")
    sim.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
                     help="a corpus option (any number), e.g. --set n_concepts=200")
    sim.add_argument("--overwrite", action="store_true", help="write into a folder that already holds files "
                     "(files of the same name are replaced)")

    prep = _parser(dsub, "prepare", "cut recordings into windows and write the window cache",
                   ("neurorep data prepare data/sim --out .cache/neurorep --scheme aasm5 --jobs 2",
                    "neurorep data prepare data/sim --out .cache/neurorep --channels 'EEG Fpz-Cz' --sfreq 100",
                    "neurorep data prepare my_fif_folder --out .cache/mine --events left=1,right=2 --tmin 0 --tmax 4"))
    prep.add_argument("source", type=Path, help="folder (or file) of recordings")
    prep.add_argument("--out", required=True, type=Path, help="cache root folder")
    prep.add_argument("--dataset", default="auto", help="source layout (see `neurorep list datasets`)")
    prep.add_argument("--channels", help="comma-separated channel names (default: the layout's usual channels)")
    prep.add_argument("--scheme", help="label scheme: aasm5, 4class or 3class (default: aasm5)")
    prep.add_argument("--window", type=_positive, help="window length in seconds (default: 30)")
    prep.add_argument("--sfreq", type=_positive, help="resample to this rate in Hz (default: 100)")
    prep.add_argument("--keep-unlabelled", action="store_true", help="keep windows without a stage label")
    prep.add_argument("--l-freq", type=_band_edge, help="band-pass low edge (Hz); 0 for none")
    prep.add_argument("--h-freq", type=_band_edge, help="band-pass high edge (Hz); 0 for none")
    prep.add_argument("--assume-unit", choices=("V", "mV", "uV", "nV"),
                      help="unit of EEG/EOG/EMG/ECG channels whose file gives no voltage unit")
    prep.add_argument("--jobs", type=_count, default=1, help="recordings prepared in parallel processes")
    prep.add_argument("--on-error", choices=("raise", "skip"), default=None,
                      help="bad recording: stop, or report and skip it (default: raise for one file, skip for folders)")
    add_recording_options(prep)

    info = _parser(dsub, "info", "summarise a recording, a folder of recordings, or a cache",
                   ("neurorep data info data/sim", "neurorep data info data/sim/SC4001EC-Hypnogram.edf",
                    "neurorep data info .cache/neurorep --json"))
    info.add_argument("path", type=Path, help="a recording file, a folder of recordings, or a window cache")
    info.add_argument("--json", action="store_true", help="print JSON instead of tables")
    info.add_argument("--verify", action="store_true", help="re-hash every file of a cache against its manifest")


def _add_export_registry(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    exp = _parser(sub, "export", "export a trained model to ONNX (float or dynamic int8)",
                  ("neurorep export runs/grid/runs/supervised_cnn_s0_f0/supervised_1/export/best --out cnn.onnx",
                   "neurorep export RUN/supervised_1/export/best --format int8 --out cnn.int8.onnx "
                   "--eval-data heldout.npz",
                   "python -m neurorep.export.heldout RUN --out heldout.npz   # makes the --eval-data file "
                   "of a sleep-ssl run"))
    exp.add_argument("source", type=Path, help="run folder or saved-model folder (config.json + model.safetensors)")
    exp.add_argument("--format", dest="fmt", choices=("onnx", "int8"), default="onnx",
                     help="float ONNX (parity-checked) or dynamic int8 quantisation")
    exp.add_argument("--out", required=True, type=Path, help="output .onnx file")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    exp.add_argument("--eval-data", type=Path, help="held-out windows (.npz with x[N, C, T] and y[N]) to measure "
                                                    "the int8 output/accuracy change on (default: none)")
    exp.add_argument("--n-check", type=_count, default=64, help="random windows checked when no --eval-data")

    reg = _parser(sub, "registry", "local model registry: list, show, register",
                  ("neurorep registry register RUN/supervised_1/export/best --name sleep-cnn",
                   "neurorep registry list", "neurorep registry show sleep-cnn --version 1.0.0"))
    rsub = reg.add_subparsers(dest="registry_cmd", required=True, metavar="{list,show,register}")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--registry", type=Path, help="registry folder (default: $NEUROREP_REGISTRY or ~/.neurorep/registry)")
    lst = _parser(rsub, "list", "list registered models and versions",
                  ("neurorep registry list", "neurorep registry list --json",
                   "neurorep registry list --registry /shared/models"), parents=[where])
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show = _parser(rsub, "show", "print a model card",
                   ("neurorep registry show sleep-cnn", "neurorep registry show sleep-cnn --version 1.0.0",
                    "neurorep registry show sleep-cnn --json"), parents=[where])
    show.add_argument("name", help="registered model name")
    show.add_argument("--version", default="latest", help="semantic version, or latest")
    show.add_argument("--json", action="store_true", help="print card.json instead of card.md")
    add = _parser(rsub, "register", "add a saved model as a new version",
                  ("neurorep registry register RUN/supervised_1/export/best --name sleep-cnn",
                   "neurorep registry register RUN/supervised_1/export/best --name sleep-cnn --version 2.0.0 "
                   "--description 'CNN sleep stager'",
                   "neurorep registry register RUN --name sleep-cnn --set preprocessing.sfreq=100"), parents=[where])
    add.add_argument("source", type=Path, help="run folder or saved-model folder")
    add.add_argument("--name", required=True, help="model name in the registry")
    add.add_argument("--version", help="semantic version MAJOR.MINOR.PATCH (default: next minor version)")
    add.add_argument("--description", default="", help="one line for the model card")
    add.add_argument("--card", type=Path, help="JSON or YAML file with card fields to add (preprocessing, "
                                                 "training_data, metrics, ...)")
    add.add_argument("--set", dest="card_set", action="append", default=[], metavar="KEY=VALUE",
                     help="a card field (any number), e.g. --set preprocessing.sfreq=100")


def build_parser() -> argparse.ArgumentParser:
    """The ``neurorep`` argument parser."""
    from neurorep import __version__

    parser = _Parser(prog="neurorep", description=__doc__.splitlines()[0], formatter_class=HelpFormatter,
                                     epilog=_examples("neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml --out runs/crl",
                                                      "neurorep benchmark sleep-ssl --out runs/grid --jobs 2",
                                                      "neurorep list recipes"))
    parser.add_argument("--version", action="version", version=f"neurorep {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _add_data(sub)

    run = _parser(sub, "run", "run one experiment from a YAML config",
                  ("neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml pretrain.epochs=2 --out runs/crl_cnn",
                   "neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml --help-keys   # the keys you can override",
                   "neurorep run --from runs/crl_cnn --resume   # continue an interrupted run"))
    run.add_argument("config", type=Path, nargs="?", help="YAML config (omit with --from)")
    run.add_argument("overrides", nargs="*", help="key.sub=value overrides (see --help-keys)")
    run.add_argument("--set", dest="set_overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="an override given as an option (any number), e.g. --set pretrain.epochs=2")
    run.add_argument("--out", type=Path, help="run folder (default: the config's `out`)")
    run.add_argument("--from", dest="from_run", type=Path, help="repeat the run saved in this folder")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run in its folder")
    run.add_argument("--deterministic", action="store_true", help="exact reproducibility: torch's deterministic "
                     "algorithms (slower; a resumed run keeps the mode it started with)")
    run.add_argument("--help-keys", action="store_true",
                     help="list the config's keys with their types, values and defaults, and exit")

    presets = "; ".join(f"{r}: {', '.join(p)}" for r, p in recipe_presets().items())
    bench = _parser(sub, "benchmark", "run a recipe's benchmark grid and write its report",
                    ("neurorep benchmark sleep-ssl --out runs/grid --jobs 2   # simulates its corpus into runs/grid/data",
                     "neurorep benchmark ssl --data .cache/mine --out runs/mine --set task=motor   # a prepared cache",
                     "neurorep benchmark kd-sleep --out runs/kd --set train.epochs=2"))
    bench.add_argument("recipe", help="recipe name (see `neurorep list recipes`)")
    bench.add_argument("--preset", default="quick", help=f"grid size, by recipe: {presets}")
    bench.add_argument("--data", type=Path, help="existing dataset folder (default: simulate one into OUT/data); "
                       "for ssl, required: a cache written by `neurorep data prepare`")
    bench.add_argument("--out", required=True, type=Path, help="output folder")
    bench.add_argument("--seeds", type=_count, help="number of seeds (default: the preset's)")
    bench.add_argument("--jobs", type=_count, default=1, help="grid rows run at once, each in its own process")
    bench.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    bench.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a preset setting (any number), e.g. --set pretrain.epochs=5")

    ev = _parser(sub, "evaluate", "latent-space benchmark and embedding map from stored embeddings",
                 ("neurorep evaluate runs/demo/runs/crl_cnn_attention_s0_f0",
                  "neurorep evaluate runs/crl_cnn --out runs/crl_cnn/eval --k 5",
                  "neurorep evaluate runs/crl_cnn/embeddings/test.safetensors --no-plots"))
    ev.add_argument("path", type=Path, help="a run folder or an embeddings .safetensors file")
    ev.add_argument("--out", type=Path, help="output folder (default: beside the embeddings)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the subsampling and the embedding map")
    ev.add_argument("--k", type=_count, default=10, help="neighbours for kNN accuracy")
    ev.add_argument("--no-plots", action="store_true", help="skip the embedding map")

    _add_export_registry(sub)
    add_published_parser(sub, _parser)

    lst = _parser(sub, "list", "list registered components",
                  ("neurorep list encoders", "neurorep list recipes", "neurorep list corpora"))
    lst.add_argument("what", choices=("encoders", "objectives", "datasets", "recipes", "corpora"),
                     help="which registry to list")
    return parser


def _cmd_data(args: argparse.Namespace) -> int:
    if args.data_cmd == "simulate":
        from neurorep.config import parse_override
        from neurorep.fileio import RUN_MARKER, check_writable, mark_run_dir, removed_on_error

        check_writable(args.out, "output folder")
        if args.out.is_dir() and any(args.out.iterdir()):
            if not args.overwrite:
                raise ConfigError(f"{args.out}: folder already holds files that the simulated corpus could replace; "
                                  "choose an empty folder or pass --overwrite")
            if not (args.out / RUN_MARKER).is_file():
                raise ConfigError(f"{args.out}: folder was not made by neurorep (no {RUN_MARKER} marker); "
                                  "--overwrite replaces files only in a folder neurorep made")
        from neurorep.data.corpora import simulate

        options: dict[str, Any] = {"n_subjects": args.subjects, "seed": args.seed, "jobs": args.jobs}
        options.update({k: v for k, v in (("nights", args.nights), ("hours", args.hours)) if v is not None})
        for text in args.options:
            key, value = parse_override(text)
            options[".".join(key)] = value
        with removed_on_error(args.out):
            paths = simulate(args.kind, out=args.out, **options)
            mark_run_dir(args.out)
        print(f"wrote {len(paths)} recordings to {args.out}")
        return 0
    if args.data_cmd == "prepare":
        from neurorep.data.cache import prepare

        settings: dict[str, Any] = {}
        if args.channels:
            settings["channels"] = [c.strip() for c in args.channels.split(",") if c.strip()]
        if args.scheme:
            settings["scheme"] = args.scheme
        if args.window:
            settings["window_s"] = args.window
        if args.sfreq:
            settings["sfreq"] = args.sfreq
        if args.keep_unlabelled:
            settings["keep_unlabelled"] = True
        for key in ("l_freq", "h_freq"):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key) or None
        if args.assume_unit:
            settings["assume_unit"] = args.assume_unit
        from neurorep.data.sources import prepare_config

        dataset, more = recording_settings(args)
        cfg = prepare_config(dataset, args.source, {**settings, **more})
        on_error = args.on_error or ("raise" if args.source.is_file() or dataset in ("files", "bids") else "skip")
        report = prepare(args.source, args.out, dataset=dataset, cfg=cfg, jobs=args.jobs, on_error=on_error,
                         progress=True)
        _print_summary(report.cache.summary())
        print(("reused" if report.reused else "wrote") + f" cache {report.cache.path}")
        report.print_skipped()
        return 0
    from neurorep.data.info import describe_path

    if args.verify:
        _verify_caches(args.path)
    info = describe_path(args.path)
    if args.json:
        print(json.dumps(info, indent=1, default=str))
    else:
        _print_summary(info)
    return 0


def _verify_caches(path: Path) -> None:
    """``data info CACHE --verify``: re-hash every file of each cache at ``path``."""
    from neurorep.data.cache import find_caches
    from neurorep.errors import DataError

    caches = find_caches(path)
    if not caches:
        raise DataError(f"{path}: no neurorep cache here to verify")
    for cache in caches:
        cache.verify()
        print(f"verified {cache.path}: every file matches its manifest")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(value: object) -> str:
    """``value`` as text with control characters (terminal escape sequences) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _cell(value: object) -> str:
    from rich.markup import escape

    return escape(_printable(value))


def _print_summary(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    tables = {k: info.pop(k) for k in [k for k in info if k.endswith("_table")]}
    table = Table(show_header=False, box=None)
    for k, v in info.items():
        table.add_row(f"[bold]{_cell(k)}[/bold]", _cell(", ".join(map(str, v)) if isinstance(v, list) else v))
    console.print(table)
    for rows in tables.values():
        if not rows:
            continue
        t = Table(*[_cell(k) for k in rows[0]])
        for r in rows:
            t.add_row(*[_cell(v) for v in r.values()])
        console.print(t)


def _cmd_list(args: argparse.Namespace) -> int:
    from neurorep.data.sources import DATASETS
    from neurorep.encoders import ENCODERS, list_encoders
    from neurorep.objectives import OBJECTIVES, list_objectives
    from neurorep.recipes import list_recipes

    if args.what == "encoders":
        list_encoders()
        items = ENCODERS.describe()
    elif args.what == "objectives":
        list_objectives()
        items = OBJECTIVES.describe()
    elif args.what == "datasets":
        items = DATASETS.describe()
    elif args.what == "corpora":
        from neurorep.data.corpora import list_corpora

        items = list_corpora()
    else:
        items = list_recipes()
    width = max((len(n) for n in items), default=0)
    for name, desc in items.items():
        print(f"{name:<{width}}  {plain_text(desc)}")
    return 0


def plain_text(doc: str) -> str:
    """A docstring line without reST markup: ``code`` and :role:`target` become plain words."""
    import re

    doc = re.sub(r":[a-z]+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], doc)
    return doc.replace("``", "").replace("`", "")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from neurorep.evaluation.stored import evaluate_stored

    result = evaluate_stored(args.path, args.out, seed=args.seed, k=args.k, plots=not args.no_plots)
    written = result.pop("written")
    print(json.dumps(result, indent=1, default=float))
    print("wrote " + ", ".join(written))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from neurorep.export.quantize import export_model

    summary = export_model(args.source, args.out, fmt=args.fmt, overwrite=args.overwrite, eval_data=args.eval_data,
                           n_check=args.n_check)
    print(json.dumps(summary, indent=1, default=str))
    return 0


def _cmd_registry(args: argparse.Namespace) -> int:
    from neurorep.export import model_store as mr

    if args.registry_cmd == "list":
        rows = mr.list_models(args.registry)
        if args.json:
            print(json.dumps(rows, indent=1))
        elif not rows:
            print(f"no models registered in {mr.registry_root(args.registry)}")
        else:
            cols = ("name", "version", "kind", "architecture", "registered_at")
            widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
            for row in [dict(zip(cols, cols, strict=True)), *rows]:
                print("  ".join(f"{row[c]!s:<{w}}" for c, w in zip(cols, widths, strict=True)).rstrip())
        return 0
    if args.registry_cmd == "show":
        card = mr.show_model(args.name, args.version, args.registry)
        if args.json:
            print(json.dumps(card, indent=1))
        else:
            print(_printable(mr.card_text(args.name, args.version, args.registry)))
        return 0
    from neurorep.config import parse_override, read_yaml

    extra: dict[str, Any] = read_yaml(args.card) if args.card else {}
    for text in args.card_set:
        key, value = parse_override(text)
        node = extra
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = value
    card = mr.register_model(args.source, args.name, args.version, args.registry, args.description, extra)
    print(f"registered {card['name']} {card['version']} in {mr.registry_root(args.registry)}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.help_keys:
        return _help_keys(args)
    from neurorep.runs import run_from_args

    return run_from_args(args)


def _help_keys(args: argparse.Namespace) -> int:
    """``run CONFIG --help-keys``: the keys an override can set, with types, values and defaults."""
    from neurorep.config import load_config
    from neurorep.config_keys import config_keys, format_keys

    path = Path(args.from_run) / "config.yaml" if args.from_run is not None else args.config
    if path is None:
        raise ConfigError("--help-keys needs a CONFIG file or --from RUN_DIR")
    cfg = load_config(path, list(args.overrides) + list(args.set_overrides))
    print(f"keys of {path} (set any with key=value or --set key=value):")
    print(format_keys(config_keys(cfg)))
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from neurorep.runs import benchmark_from_args

    return benchmark_from_args(args)


def quiet_libraries() -> None:
    """Keep library chatter (Lightning's hardware banner, advice-only warnings) off the console."""
    from neurorep.quiet import quiet_lightning

    quiet_lightning()


COMMANDS = {"data": _cmd_data, "evaluate": _cmd_evaluate, "list": _cmd_list, "run": _cmd_run, "benchmark": _cmd_benchmark,
            "export": _cmd_export, "registry": _cmd_registry}
COMMANDS["published"] = cmd_published


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neurorep`` command."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest:  # `run CONFIG --out DIR key=value`: overrides may also follow the options
        if args.cmd == "run" and all("=" in r and not r.startswith("-") for r in rest):
            args.overrides = [*args.overrides, *rest]
        else:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from neurorep.failures import DEBUG_ENV, bug_report, user_message

    debug = bool(os.environ.get(DEBUG_ENV))
    if not debug:
        quiet_libraries()
    try:
        return COMMANDS[args.cmd](args)
    except KeyboardInterrupt:
        print("neurorep: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line (input) or a logged bug report
        if debug:
            raise
        message = user_message(exc)
        if message is not None:
            print(f"neurorep: error: {message}", file=sys.stderr)
            return 2
        print(f"neurorep: {bug_report(exc, argv if argv is not None else sys.argv[1:])}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
