"""``neurorep data prepare`` options for any recording (formats, events, path and CSV labels) and
how they become the source layout and :class:`~neurorep.data.windows.PrepareConfig` settings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neurorep.cli_options import _positive

FORMAT_CHOICES = ("auto", "edf", "bdf", "fif", "brainvision", "eeglab", "gdf", "cnt", "csv", "bids")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number), got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds, got {text!r}")
    return value


def add_recording_options(prep: argparse.ArgumentParser) -> None:
    """The options of ``data prepare`` for recordings of any format."""
    prep.add_argument("--format", choices=FORMAT_CHOICES, default="auto",
                      help="file format of the recordings (auto: by file ending; bids: a BIDS root)")
    prep.add_argument("--events", metavar="NAME=CODE[,NAME=CODE...]",
                      help="classes from events or annotations: class name = event code or annotation text")
    prep.add_argument("--tmin", type=_seconds, help="event-locked windows start this many s after each event")
    prep.add_argument("--tmax", type=_seconds, help="event-locked windows end this many s after each event")
    prep.add_argument("--stride", type=_positive, help="step between fixed windows in s (default: --window)")
    prep.add_argument("--vote", choices=("coverage", "majority"),
                      help="fixed windows labelled by annotations: coverage (>= half the window) or majority")
    prep.add_argument("--label-from-path", metavar="REGEX", help="label of each file: named group 'label'")
    prep.add_argument("--labels-csv", type=Path, metavar="FILE", help="CSV of file,label or file,onset,label rows")
    prep.add_argument("--subject-from-path", metavar="REGEX", help="subject of each file: named group 'subject'")
    prep.add_argument("--csv-rate", type=_positive, metavar="HZ", help="--format csv: sampling rate of the tables")
    prep.add_argument("--label-column", help="--format csv: the column holding each sample's label")
    prep.add_argument("--session-from-path", metavar="REGEX", help="session of each file: named group 'session'")


def recording_settings(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The source layout (``--dataset``, else from ``--format`` and the options) and the settings of
    the options of :func:`add_recording_options`."""
    from neurorep.data.events import parse_events

    settings: dict[str, Any] = {}
    if args.events:
        settings["events"] = parse_events(args.events)
    for key, opt in (("tmin", "tmin"), ("tmax", "tmax"), ("stride_s", "stride"), ("vote", "vote"),
                     ("label_from_path", "label_from_path"), ("subject_from_path", "subject_from_path"),
                     ("session_from_path", "session_from_path"), ("csv_rate", "csv_rate"),
                     ("label_column", "label_column")):
        if getattr(args, opt) is not None:
            settings[key] = getattr(args, opt)
    if args.labels_csv is not None:
        settings["labels_csv"] = str(args.labels_csv)
    dataset = args.dataset
    if args.format != "auto":
        settings["format"] = args.format
    if dataset == "auto":
        from neurorep.data.sources import detect_dataset

        if args.format == "bids":
            dataset = "bids"
        elif args.format != "auto" or settings:
            dataset = "bids" if detect_dataset(Path(args.source)) == "bids" else "files"
    return dataset, settings
