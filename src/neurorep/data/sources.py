"""Dataset sources: how a folder of files becomes a list of labelled recordings.

Each source is registered by name (``neurorep list datasets``) and knows how to find its items in
a folder, which channels it uses by default, and how to load one item as a :class:`Recording`
with its stage annotations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurorep.data.readers.dreams import dreams_hypnogram_for, is_dreams_text, read_dreams_hypnogram, read_dreams_text
from neurorep.data.readers.edf import pair_sleep_edf, read_annotations_edf, subject_from_sleep_edf
from neurorep.data.recording import Annotations, Recording
from neurorep.data.sources_base import DATASETS, Source, SourceItem
from neurorep.errors import DataError

__all__ = ["DATASETS", "Source", "SourceItem", "detect_dataset", "get_source", "prepare_config", "subject_session"]


@DATASETS.register("sleep-edf", "Sleep-EDF Expanded layout: *-PSG.edf + *-Hypnogram.edf (R&K stages)")
class SleepEDF(Source):
    """Sleep-EDF Expanded (and neurorep's simulated PSG corpus, written in the same layout)."""

    name = "sleep-edf"
    default_channels = ["EEG Fpz-Cz", "EEG Pz-Oz"]
    read_labels = staticmethod(read_annotations_edf)

    def discover(self, root: Path) -> list[SourceItem]:
        items = []
        for psg, hyp in pair_sleep_edf(root):
            subject, night = subject_from_sleep_edf(psg)
            items.append(SourceItem(psg, hyp, subject, night))
        return items



@DATASETS.register("dreams", "DREAMS databases: excerptN.edf (or its text export excerptN.txt) + "
                   "Hypnogram_excerptN.txt (5-s R&K codes)")
class Dreams(Source):
    """DREAMS (sleep spindles / subjects) excerpts with their text hypnograms. An excerpt given only as
    its text export (``excerptN.txt``: one channel) is read from that."""

    name = "dreams"
    default_channels = ["C3-A1", "O1-A1"]
    read_labels = staticmethod(read_dreams_hypnogram)

    def discover(self, root: Path) -> list[SourceItem]:
        signals = {p.stem: p for p in sorted(root.rglob("*.txt")) if is_dreams_text(p)}
        signals.update({p.stem: p for p in sorted(root.rglob("*.edf"))})  # the EDF wins over its text export
        items = []
        for stem, path in sorted(signals.items()):
            hyp = dreams_hypnogram_for(path)
            if hyp.is_file():
                items.append(SourceItem(path, hyp, stem, "0"))
        return items

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        if item.path.suffix.lower() != ".txt":
            return super().load(item, channels)
        rec = read_dreams_text(item.path, subject=item.subject, session=item.session)
        return self.attach_labels(rec.pick(channels) if channels else rec, item)

    def channels(self, item: SourceItem) -> list[tuple[str, float, int]]:
        if item.path.suffix.lower() != ".txt":
            return super().channels(item)
        rec = read_dreams_text(item.path)
        return [(rec.ch_names[0], rec.sfreq, rec.n_times)]


@DATASETS.register("edf", "any folder of EDF/BDF files, unlabelled (for pretraining)")
class PlainEDF(Source):
    """Unlabelled EDF/BDF recordings; every file is its own subject unless told otherwise."""

    name = "edf"

    def discover(self, root: Path) -> list[SourceItem]:
        files = [root] if root.is_file() else sorted([*root.rglob("*.edf"), *root.rglob("*.bdf")])
        return [SourceItem(f, None, f.stem, "0") for f in files]


@DATASETS.register("mass", "MASS layout: SS<k>/<id> PSG.edf + <id> Base.edf (AASM 30-s or R&K 20-s epochs)")
class Mass(Source):
    """Montreal Archive of Sleep Studies (and neurorep's simulated MASS corpus); see
    :mod:`neurorep.data.readers.mass`. Channels match by prefix (``EEG C4`` -> ``EEG C4-LER``)."""

    name = "mass"
    default_channels = ["EEG C4"]

    def discover(self, root: Path) -> list[SourceItem]:
        from neurorep.data.readers.mass import pair_mass

        return [SourceItem(psg, base, sid, subset) for psg, base, subset, sid in pair_mass(root)]

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        from neurorep.data.readers.mass import read_mass

        return read_mass(item.path, channels or list(self.default_channels or []), item.labels, item.subject,
                         item.session)

    def labels(self, item: SourceItem) -> tuple[Annotations | None, float]:
        from neurorep.data.readers.mass import read_mass_annotations

        end = self.length(item)
        if item.labels is None:
            return None, end
        ann = read_mass_annotations(item.labels)
        t0 = float(ann.onset.min()) if len(ann) else 0.0  # read_mass crops the night to its first scored epoch
        return Annotations(ann.onset - t0, ann.duration, ann.description), end - t0


@DATASETS.register("mass-ihr", "MASS layout, ECG lead turned into instantaneous heart rate (R-peaks, 4 Hz)")
class MassIHR(Mass):
    """MASS nights as one channel ``IHR`` (bpm at 4 Hz) from R-peaks of the ECG lead (neurokit2)."""

    name = "mass-ihr"
    default_channels = ["ECG"]
    prepare_defaults = {"sfreq": None, "l_freq": None, "h_freq": None}

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        from neurorep.data.heart_rate import IHR_FS, detect_rpeaks, ihr_series
        from neurorep.data.readers.mass import read_mass

        lead = (channels or list(self.default_channels or []))
        if len(lead) != 1:
            raise DataError(f"{item.path}: mass-ihr takes one ECG channel; got {lead}")
        ecg = read_mass(item.path, lead, item.labels, item.subject, item.session)
        beats = detect_rpeaks(ecg.data[0], ecg.sfreq)
        ihr = ihr_series(beats, ecg.duration, IHR_FS)
        return Recording(data=ihr[None, :], sfreq=IHR_FS, ch_names=["IHR"], ch_types=["ecg"], subject=ecg.subject,
                         session=ecg.session, annotations=ecg.annotations, source=ecg.source)


@DATASETS.register("slpdb", "MIT-BIH Polysomnographic Database listings: <rec>.rr + <rec>.an + <rec>.hea (IHR)")
class Slpdb(Source):
    """PhysioNet slpdb RR listings as instantaneous heart rate (one channel ``IHR``, 4 Hz)."""

    name = "slpdb"
    prepare_defaults = {"sfreq": None, "l_freq": None, "h_freq": None}

    def discover(self, root: Path) -> list[SourceItem]:
        from neurorep.data.readers.slpdb import slpdb_subject

        recs = [root.with_suffix("")] if root.is_file() else sorted(p.with_suffix("") for p in root.rglob("*.rr"))
        return [SourceItem(r.with_suffix(".rr"), r.with_suffix(".an"), slpdb_subject(r.name), r.name) for r in recs]

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        from neurorep.data.readers.slpdb import read_slpdb

        rec = read_slpdb(item.path)
        return rec.pick(channels) if channels else rec

    def channels(self, item: SourceItem) -> list[tuple[str, float, int]]:
        from neurorep.data.heart_rate import IHR_FS
        from neurorep.data.readers.slpdb import read_slpdb_header

        rate, n = read_slpdb_header(item.path.with_suffix(".hea"))  # the header only: labels() checks it
        return [("IHR", IHR_FS, int(round(n / rate * IHR_FS)))]

    def labels(self, item: SourceItem) -> tuple[Annotations | None, float]:
        from neurorep.data.readers.slpdb import read_slpdb_record

        _, ann, duration = read_slpdb_record(item.path.with_suffix(""))
        return ann, duration


def subject_session(path: Path) -> tuple[str, str]:
    """Subject and session of one recording file, as its layout names them when the folder is read."""
    if path.name.endswith("-PSG.edf"):
        return subject_from_sleep_edf(path)
    if path.name.endswith(" PSG.edf"):
        from neurorep.data.readers.mass import mass_subset

        try:
            return path.name[: -len(" PSG.edf")], mass_subset(path)
        except DataError:
            return path.name[: -len(" PSG.edf")], "0"
    return path.stem, "0"


def detect_dataset(root: Path) -> str:
    """Guess the source layout of ``root``: a known layout, a BIDS root (``bids``), a folder of
    EDF/BDF files (``edf``) or of any other format MNE reads (``files``)."""
    from neurorep.data.readers.bids import is_bids_root
    from neurorep.data.readers.mne_formats import AUTO_FORMATS, format_of

    if is_bids_root(root):
        return "bids"
    if root.is_dir():
        if next(root.rglob("* PSG.edf"), None) is not None:
            return "mass"
        if next(root.rglob("*.rr"), None) is not None:
            return "slpdb"
        if next(root.rglob("*-PSG.edf"), None) is not None:
            return "sleep-edf"
        if next(root.rglob("Hypnogram_*.txt"), None) is not None:
            return "dreams"
        if any(format_of(p) in AUTO_FORMATS and format_of(p) not in ("edf", "bdf") for p in root.rglob("*")):
            return "files"
    elif root.suffix.lower() == ".rr":
        return "slpdb"
    elif format_of(root) in AUTO_FORMATS and format_of(root) not in ("edf", "bdf"):
        return "files"
    return "edf"


def get_source(name: str, root: Path, cfg: Any = None) -> tuple[Source, list[SourceItem]]:
    """Resolve ``name`` (or ``auto``), give it the preparation settings ``cfg`` and list the items
    under ``root``."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    if name == "auto":
        name = detect_dataset(root)
    source = DATASETS.create(name)
    if cfg is not None:
        source.setup(cfg)
    items = source.discover(root)
    if not items:
        raise DataError(f"{root}: found no recordings of the {name!r} layout")
    return source, items


def prepare_config(dataset: str, root: Path, settings: dict[str, Any], source: str = "prepare options") -> Any:
    """The :class:`~neurorep.data.windows.PrepareConfig` for ``root``: the layout's own defaults
    (:attr:`Source.prepare_defaults`) under the ``settings`` given, validated."""
    from neurorep.config import validate
    from neurorep.data.windows import PrepareConfig

    name = detect_dataset(Path(root)) if dataset == "auto" else dataset
    layout = DATASETS.create(name)
    return validate(layout.config_class or PrepareConfig, {**layout.prepare_defaults, **settings}, source=source)


# Sources defined in their own modules register on import.
from neurorep.data import generic as _generic  # noqa: E402,F401  (the files and bids sources)
from neurorep.data import sources_hms, sources_meg, sources_things  # noqa: E402,F401
