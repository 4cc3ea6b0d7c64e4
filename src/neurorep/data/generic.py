"""Bring your own recordings: the ``files`` source (any format of
:mod:`neurorep.data.readers.mne_formats`) and the ``bids`` source (a BIDS root, through mne-bids).

**Labels** come from exactly one of:

* ``events`` (``--events NAME=CODE,...``): each recording's events, looked up in this order: the
  BIDS ``events.tsv`` (its ``trial_type`` column, or ``value`` when the codes are found only there),
  an MNE events file beside the recording (``x_raw.fif`` -> ``x-eve.fif``), the recording's own
  annotations (EDF+, FIF, BrainVision markers, EEGLAB events), its trigger channel. With ``tmin`` and
  ``tmax`` they give event-locked windows; without, fixed windows voted over the annotations.
* ``label_from_path``: a regex with a named group ``label`` searched in each file's path relative to
  the folder; every window of a file takes its label.
* ``labels_csv``: a CSV with the columns ``file,label`` (every window of the file) or
  ``file,onset,label`` (an event at ``onset`` s: event-locked with ``tmin``/``tmax``, else the
  window starting there).

Without a label source every window is unlabelled (``keep_unlabelled`` is required). Class names
are the ``events`` names in the order given, or the sorted labels found.

**Subject and session** of a file: the named groups ``subject``/``session`` of
``subject_from_path``/``session_from_path``; else the BIDS entities ``sub``/``ses``; else the name
of the folder holding the file (subject) and the file's name without its ending (session).

Everything that can be checked before windows are written is checked in :meth:`discover`: the
regexes, that every file matches them, one channel set and one rate across the files (or the
channels asked for in every file), that each recording holds at least one window, that every event
code of the mapping occurs somewhere (the error lists the codes found), that every BIDS recording has
its ``events.tsv``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any


from neurorep.data.events import class_names, code_labels, event_windows, fixed_windows, missing_codes
from neurorep.data.readers.bids import bids_entities, bids_events_path, bids_recordings, events_columns, read_bids_events
from neurorep.data.readers.mne_formats import (AUTO_FORMATS, FORMATS, Header, find_recordings, read_events_file,
                                               read_header, read_mne, sibling_events, stim_events)
from neurorep.data.recording import Annotations, Recording
from neurorep.data.sources_base import DATASETS, Source, SourceItem
from neurorep.errors import ConfigError, DataError

#: Settings that make a folder a ``files`` source even if its layout is a known one.
GENERIC_SETTINGS = ("events", "tmin", "tmax", "stride_s", "label_from_path", "labels_csv", "subject_from_path",
                    "session_from_path")


def compile_group(pattern: str | None, group: str, option: str) -> re.Pattern[str] | None:
    """``pattern`` compiled; it must have the named group ``group``."""
    if pattern is None:
        return None
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{option}: invalid regular expression {pattern!r} ({exc})") from None
    if group not in rx.groupindex:
        raise ConfigError(f"{option}: {pattern!r} has no named group '{group}' (write it as (?P<{group}>...))")
    return rx


@DATASETS.register("files", "any folder of recordings MNE reads (EDF/BDF, FIF, BrainVision, EEGLAB, GDF, CNT); "
                   "labels from events, annotations, the path or a CSV")
class Files(Source):
    """Recordings of one or more formats under a folder (see the module docstring)."""

    name = "files"
    prepare_defaults: dict[str, Any] = {"sfreq": None, "l_freq": None, "h_freq": None}
    bids = False

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg
        self.rx = {key: compile_group(getattr(cfg, f"{key}_from_path"), key, f"--{key}-from-path")
                   for key in ("label", "subject", "session")}
        given = [o for o, v in (("--events", cfg.events), ("--label-from-path", cfg.label_from_path),
                                ("--labels-csv", cfg.labels_csv)) if v]
        if len(given) > 1:
            raise ConfigError(f"{' and '.join(given)}: give one label source, not several")
        if not given and not cfg.keep_unlabelled:
            raise ConfigError("no labels: give --events, --label-from-path or --labels-csv, or --keep-unlabelled "
                              "to prepare unlabelled windows for pretraining")
        if (cfg.tmin is None) != (cfg.tmax is None):
            raise ConfigError("--tmin and --tmax: give both (event-locked windows) or neither (fixed windows)")
        if cfg.tmin is not None and cfg.tmax <= cfg.tmin:
            raise ConfigError(f"--tmax ({cfg.tmax:g}) must be greater than --tmin ({cfg.tmin:g})")
        if cfg.tmin is not None and cfg.label_from_path:
            raise ConfigError("--tmin/--tmax: event-locked windows need --events or a --labels-csv with onsets")
        if cfg.format not in ("auto", "bids", *FORMATS):
            raise ConfigError(f"--format: unknown format {cfg.format!r}; known: auto, bids, {', '.join(FORMATS)}")
        self.csv_rows = _read_labels_csv(Path(cfg.labels_csv)) if cfg.labels_csv else None
        if self.csv_rows is not None and cfg.tmin is not None and any(o is None for _, o, _ in self.csv_rows):
            raise ConfigError(f"--labels-csv {cfg.labels_csv}: event-locked windows (--tmin/--tmax) need an onset "
                              "column")
        self.mapping: dict[str, int] | None = code_labels(cfg.events) if cfg.events else None
        self.class_list = class_names(cfg.events) if cfg.events else []
        self.events_column = "trial_type"
        self.csv_options = (cfg.csv_rate, cfg.label_column) if cfg.csv_rate else None
        if cfg.format == "csv" and cfg.csv_rate is None:
            raise ConfigError("--format csv: give the sampling rate of the tables with --csv-rate")

    # ---- discovery and checks ------------------------------------------------------------------
    def find(self, root: Path) -> list[Path]:
        fmt = self.cfg.format
        return find_recordings(root, AUTO_FORMATS if fmt == "auto" else (fmt,))

    def ids(self, path: Path, root: Path) -> tuple[str, str]:
        rel = path.relative_to(root).as_posix() if path != root else path.name
        out = {}
        for key in ("subject", "session"):
            rx = self.rx[key]
            if rx is not None:
                m = rx.search(rel)
                if m is None or not m.group(key):
                    raise DataError(f"{path}: --{key}-from-path {rx.pattern!r} does not match its path {rel!r} "
                                    f"({key} missing)")
                out[key] = m.group(key)
        return out.get("subject", path.parent.name), out.get("session", _stem(path))

    def labels_file(self, path: Path) -> Path | None:
        if self.cfg.labels_csv:
            return Path(self.cfg.labels_csv)
        return sibling_events(path) if self.cfg.events else None

    def discover(self, root: Path) -> list[SourceItem]:
        if not hasattr(self, "cfg"):  # listed without preparation settings (``neurorep data info``)
            from neurorep.data.windows import PrepareConfig

            self.setup(PrepareConfig(**{**self.prepare_defaults, "keep_unlabelled": True}))
        root = Path(root)
        files = self.find(root)
        if not files:
            what = "BIDS" if self.bids else (self.cfg.format if self.cfg.format != "auto" else "known-format")
            raise DataError(f"{root}: found no {what} recordings")
        base = root if root.is_dir() else root.parent
        items = [SourceItem(p, self.labels_file(p), *self.ids(p, base)) for p in files]
        self.headers = {it.path: read_header(it.path, self.csv_options) for it in items}
        self._check_channels(items)
        self._check_lengths(items)
        self.base = base
        if self.cfg.events:
            self._check_events(items)
        elif self.csv_rows is not None:
            self._match_csv(items, base)
        elif self.rx["label"] is not None:
            found = {self.path_label(it.path) for it in items} - {None}
            if not found:
                raise DataError(f"--label-from-path {self.rx['label'].pattern!r} matches none of the {len(items)} "
                                f"recordings under {root}")
            self.class_list = sorted(found)
            self.mapping = {c: i for i, c in enumerate(self.class_list)}
        if not self.cfg.keep_unlabelled:  # a recording without any label gives no window: leave it out
            items = [it for it in items if self.has_labels(it)]
        return items

    def has_labels(self, item: SourceItem) -> bool:
        """Whether any label of the chosen source falls on ``item`` (known before reading its samples)."""
        if self.cfg.events:
            codes = list(self.mapping or {})
            return len(missing_codes(codes, self.event_sets[item.path])) < len(codes)
        if self.csv_rows is not None:
            return item.path in self.csv_labels
        if self.rx["label"] is not None:
            return self.path_label(item.path) is not None
        return True

    def _check_channels(self, items: list[SourceItem]) -> None:
        first = items[0]
        h0 = self.headers[first.path]
        if self.cfg.channels:
            for it in items:
                have = {c.lower() for c in self.headers[it.path].ch_names}
                missing = [c for c in self.cfg.channels if c.lower() not in have]
                if missing:
                    raise DataError(f"{it.path}: lacks channel(s) {', '.join(missing)} of --channels; it has "
                                    f"{', '.join(self.headers[it.path].ch_names)}")
            self.picks = list(self.cfg.channels)
        else:
            self.picks = h0.data_channels()
            for it in items[1:]:
                other = self.headers[it.path].data_channels()
                lack = [c for c in self.picks if c not in other]
                extra = [c for c in other if c not in self.picks]
                if lack or extra:
                    parts = ([f"lacks {', '.join(lack)}"] if lack else []) + ([f"has extra {', '.join(extra)}"]
                                                                             if extra else [])
                    raise DataError(f"{it.path}: channels differ from {first.path}: it {' and '.join(parts)}; "
                                    "pick common channels with --channels")
        if self.cfg.sfreq is None:
            rates = {self.headers[it.path].sfreq for it in items}
            if len(rates) > 1:
                other = next(it for it in items if self.headers[it.path].sfreq != h0.sfreq)
                raise DataError(f"{other.path}: sampling rate {self.headers[other.path].sfreq:g} Hz differs from "
                                f"{first.path} ({h0.sfreq:g} Hz); give --sfreq to resample all to one rate")

    def window_length(self) -> float:
        cfg = self.cfg
        return cfg.tmax - cfg.tmin if cfg.tmin is not None else cfg.window_s

    def _check_lengths(self, items: list[SourceItem]) -> None:
        need = self.window_length()
        option = "--tmax - --tmin" if self.cfg.tmin is not None else "--window"
        for it in items:
            d = self.headers[it.path].duration
            if d < need:
                raise DataError(f"{it.path}: recording lasts {d:.3g} s, shorter than one window ({option} = "
                                f"{need:g} s)")

    def _check_events(self, items: list[SourceItem]) -> None:
        assert self.mapping is not None
        self.event_sets = {it.path: set(self.events(it, self.headers[it.path], None).description) for it in items}
        found = set().union(*self.event_sets.values())
        unknown = missing_codes(list(self.mapping), found)
        if unknown:
            shown = ", ".join(sorted(found, key=_sort_key)[:40]) or "none"
            raise DataError(f"--events: code(s) {', '.join(unknown)} occur in no recording under "
                            f"{self.base if hasattr(self, 'base') else items[0].path.parent}; codes found: {shown}")

    def _match_csv(self, items: list[SourceItem], base: Path) -> None:
        assert self.csv_rows is not None
        by_rel = {it.path.relative_to(base).as_posix(): it.path for it in items}
        by_name: dict[str, list[Path]] = {}
        for it in items:
            by_name.setdefault(it.path.name, []).append(it.path)
        self.csv_labels: dict[Path, list[tuple[float | None, str]]] = {}
        csv_path = self.cfg.labels_csv
        for line, (name, onset, label) in enumerate(self.csv_rows, start=2):
            path = by_rel.get(Path(name).as_posix()) or (by_name.get(Path(name).name, [None])[0]
                                                         if len(by_name.get(Path(name).name, [])) == 1 else None)
            if path is None:
                raise DataError(f"{csv_path}: line {line}: file {name!r} is not one recording under {base}")
            self.csv_labels.setdefault(path, []).append((onset, label))
        self.class_list = sorted({label for _, _, label in self.csv_rows})
        self.mapping = {c: i for i, c in enumerate(self.class_list)}

    # ---- labels --------------------------------------------------------------------------------
    def path_label(self, path: Path) -> str | None:
        rx = self.rx["label"]
        assert rx is not None
        m = rx.search(path.relative_to(self.base).as_posix() if path != self.base else path.name)
        return m.group("label") if m and m.group("label") else None

    def events(self, item: SourceItem, header: Header, rec: Recording | None) -> Annotations:
        """The events of ``item``: its events file, else its annotations, else its trigger channel."""
        if item.labels is not None and item.labels.name.endswith("_events.tsv"):
            return read_bids_events(item.labels, self.events_column)
        if item.labels is not None:
            return read_events_file(item.labels, header.sfreq, header.first_samp)
        ann = rec.annotations if rec is not None else header.annotations
        if len(ann) or "stim" not in header.ch_types:
            return ann
        if rec is None or "stim" not in rec.ch_types:
            stims = [n for n, t in zip(header.ch_names, header.ch_types, strict=True) if t == "stim"]
            rec = read_mne(item.path, channels=stims, csv=self.csv_options)
        return stim_events(rec)

    def annotations(self, item: SourceItem, rec: Recording) -> Annotations:
        """The labelled annotations of a loaded recording, whichever the label source."""
        if self.cfg.events:
            return self.events(item, self.headers[item.path], rec)
        if self.csv_rows is not None:
            rows = self.csv_labels.get(item.path, [])
            whole = [(0.0, rec.end_time, lab) for o, lab in rows if o is None]
            timed = [(o, self.cfg.window_s if self.cfg.tmin is None else 0.0, lab) for o, lab in rows if o is not None]
            rows3 = whole + timed
            return Annotations([r[0] for r in rows3], [r[1] for r in rows3], [r[2] for r in rows3])
        if self.rx["label"] is not None:
            label = self.path_label(item.path)
            return Annotations([0.0], [rec.end_time], [label]) if label else Annotations.empty()
        return Annotations.empty()

    # ---- the Source hooks ----------------------------------------------------------------------
    def classes(self, cfg: Any) -> list[str]:
        return list(self.class_list)

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        header = self.headers[item.path]
        picks = list(channels or self.picks)
        stims = [n for n, t in zip(header.ch_names, header.ch_types, strict=True) if t == "stim"]
        need_stim = bool(self.cfg.events) and item.labels is None and not len(header.annotations) and stims
        rec = read_mne(item.path, channels=picks + [s for s in stims if s not in picks] if need_stim else picks,
                       subject=item.subject, session=item.session, csv=self.csv_options)
        rec.annotations = self.annotations(item, rec)
        return rec.pick(picks) if need_stim else rec

    def windows(self, rec: Recording, cfg: Any) -> Any:
        if cfg.tmin is not None:
            return event_windows(rec, cfg, self.mapping or {})
        return fixed_windows(rec, cfg, self.mapping)

    def channels(self, item: SourceItem) -> list[tuple[str, float, int]]:
        h = self.headers[item.path] if hasattr(self, "headers") else read_header(item.path, self.csv_options)
        return [(n, h.sfreq, h.n_times) for n in h.ch_names]


@DATASETS.register("bids", "a BIDS dataset (through mne-bids): subject, session from the entities, events from "
                   "events.tsv")
class Bids(Files):
    """A BIDS root: recordings ``sub-*/[ses-*/]{eeg,meg,ieeg}/*``, ids from their entities, events from
    their ``events.tsv``."""

    name = "bids"
    bids = True

    def find(self, root: Path) -> list[Path]:
        if not (root / "dataset_description.json").is_file():
            raise DataError(f"{root}: not a BIDS folder (no dataset_description.json)")
        return bids_recordings(root)

    def ids(self, path: Path, root: Path) -> tuple[str, str]:
        ents = bids_entities(path)
        if "subject" not in ents and self.rx["subject"] is None:
            raise DataError(f"{path}: no sub- entity in its name (subject missing)")
        subject, session = super().ids(path, root)
        return (subject if self.rx["subject"] is not None else ents["subject"],
                session if self.rx["session"] is not None else ents.get("session", "0"))

    def labels_file(self, path: Path) -> Path | None:
        if self.cfg.labels_csv:
            return Path(self.cfg.labels_csv)
        if not self.cfg.events:
            return None
        ev = bids_events_path(path)
        if not ev.is_file():
            raise DataError(f"{path}: no events file {ev.name} beside it (BIDS); --events needs one per recording")
        return ev

    def _check_events(self, items: list[SourceItem]) -> None:
        assert self.mapping is not None
        seen: dict[str, set[str]] = {"trial_type": set(), "value": set()}
        for it in items:
            assert it.labels is not None
            for col, vals in events_columns(it.labels).items():
                seen[col] |= vals
        hits = {col: len(self.mapping) - len(missing_codes(list(self.mapping), vals)) for col, vals in seen.items()}
        self.events_column = "value" if hits["value"] > hits["trial_type"] else "trial_type"
        super()._check_events(items)


def _stem(path: Path) -> str:
    """The file name without its format ending (and MNE's ``_raw``/``-raw`` tag)."""
    name = path.name
    for e in (e for endings in FORMATS.values() for e in endings):
        if name.lower().endswith(e):
            name = name[: -len(e)]
            break
    else:
        name = path.stem
    return re.sub(r"[_-]raw$", "", name) or name


def _sort_key(code: str) -> tuple[int, float, str]:
    try:
        return (0, float(code), code)
    except ValueError:
        return (1, 0.0, code)


def _read_labels_csv(path: Path) -> list[tuple[str, float | None, str]]:
    """Rows ``(file, onset or None, label)`` of a labels CSV (header ``file,label`` or ``file,onset,label``)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"--labels-csv {path}: unreadable ({exc})") from None
    cols = set(rows[0]) if rows else set()
    if not rows or not {"file", "label"} <= cols:
        raise ConfigError(f"--labels-csv {path}: expected a header with the columns file,label or "
                          f"file,onset,label and at least one row")
    out = []
    for line, r in enumerate(rows, start=2):
        onset = None
        if "onset" in cols and (r.get("onset") or "").strip():
            try:
                onset = float(r["onset"])
            except ValueError:
                raise ConfigError(f"--labels-csv {path}: line {line}: onset {r['onset']!r} is not a number") from None
        if not (r.get("file") or "").strip() or not (r.get("label") or "").strip():
            raise ConfigError(f"--labels-csv {path}: line {line}: empty file or label")
        out.append((r["file"].strip(), onset, r["label"].strip()))
    return out
