"""The :class:`Source` base (how a folder of files becomes recordings), its items and the registry of sources.

The sources themselves register in :mod:`neurorep.data.sources` (EDF layouts) and its sibling
modules (``generic``, ``sources_hms``, ``sources_meg``, ``sources_things``); import ``DATASETS``
from :mod:`neurorep.data.sources` to see them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurorep.data.readers.edf import align_annotations, edf_start, read_edf, read_edf_channels_info, shift_to
from neurorep.data.recording import Annotations, Recording
from neurorep.registry import Registry


@dataclass(frozen=True)
class SourceItem:
    """One recording to prepare: its signal file, optional label file, subject and session."""

    path: Path
    labels: Path | None
    subject: str
    session: str


class Source:
    """A kind of dataset on disk: signal files read as EDF/BDF, labels read by ``read_labels``."""

    name: str = ""
    default_channels: list[str] | None = None
    read_labels: Callable[[Path], Annotations] | None = None
    #: Preparation settings that differ from :class:`~neurorep.data.windows.PrepareConfig`'s defaults
    #: for this kind of data (e.g. heart rate is neither band-passed nor resampled to 100 Hz).
    prepare_defaults: dict[str, Any] = {}
    #: the preparation settings' class, when the layout needs more than PrepareConfig's (None: PrepareConfig)
    config_class: type | None = None
    #: what ``y`` holds: ``class`` (an index into :meth:`classes`) or ``condition`` (a stimulus index)
    label_kind: str = "class"

    def setup(self, cfg: Any) -> None:
        """Take the preparation settings before :meth:`discover` (sources whose layout, labels or
        windows depend on them, e.g. event mappings or path patterns, read them here)."""

    def discover(self, root: Path) -> list[SourceItem]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, item: SourceItem) -> dict[str, Any]:
        """Further fields of ``item``'s entry in the cache's recordings list (e.g. the folder it came from)."""
        return {}

    def info_extra(self) -> dict[str, Any]:
        """Further dataset-level fields of the cache's ``info.json`` (after :meth:`discover`)."""
        return {}

    def classes(self, cfg: Any) -> list[str]:
        """Class names, in the order of the integer labels :meth:`windows` gives."""
        from neurorep.data.labels import get_scheme

        return list(get_scheme(cfg.scheme).classes)

    def windows(self, rec: Recording, cfg: Any) -> Any:
        """The labelled windows of one loaded recording (:class:`~neurorep.data.windows.Windows`)."""
        from neurorep.data.windows import make_windows

        return make_windows(rec, cfg)

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        """The recording of ``item`` (``channels`` or the default ones) with its stage annotations,
        aligned to the recording by the two files' start times."""
        rec = read_edf(item.path, channels=channels or self.default_channels, subject=item.subject,
                       session=item.session)
        return self.attach_labels(rec, item)

    def attach_labels(self, rec: Recording, item: SourceItem) -> Recording:
        if item.labels is not None and self.read_labels is not None:
            rec.annotations = align_annotations(rec, self.read_labels(item.labels), item.labels)
        return rec

    def channels(self, item: SourceItem) -> list[tuple[str, float, int]]:
        """``(name, rate Hz, n samples)`` of every channel of ``item``, without reading its data."""
        return read_edf_channels_info(item.path)

    def length(self, item: SourceItem) -> float:
        """Seconds of recording of ``item``, from its header."""
        return max((n / sf for _, sf, n in self.channels(item) if sf > 0), default=0.0)

    def labels(self, item: SourceItem) -> tuple[Annotations | None, float]:
        """The labels of ``item`` on its recording's time axis, as :meth:`load` attaches them, and the
        recording's length in seconds, from headers and label files only (no signal is decoded)."""
        end = self.length(item)
        if item.labels is None or self.read_labels is None:
            return None, end
        ann = self.read_labels(item.labels)
        start = edf_start(item.path) if item.path.suffix.lower() in (".edf", ".bdf") else None
        return shift_to(ann, start, end, item.labels, str(item.path))[0], end


DATASETS: Registry[Source] = Registry("dataset")
