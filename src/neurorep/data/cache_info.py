"""The typed metadata of a window cache (its ``info.json``), validated once when the cache is opened.

``info.json`` version 3 stores a content fingerprint per recording (used by the split check to refuse
the same recording on two sides of a split); version 2 caches are read with no fingerprints. Any
other version, or a file that does not validate, is a :class:`~neurorep.errors.DataError` that tells
the user to delete the cache folder so that it is rebuilt.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neurorep.errors import DataError

#: The ``info.json`` version written; versions from :data:`OLDEST_INFO_VERSION` on are read.
INFO_VERSION = 3
OLDEST_INFO_VERSION = 2
REBUILD = "delete the cache folder to rebuild it"


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def __getitem__(self, key: str) -> Any:
        """Deprecated dict-style access (``info["n_times"]``, as when ``info.json`` was read as a dict); use
        the attributes."""
        warnings.warn(f"{type(self).__name__}[...] is deprecated; use attributes (.{key})", DeprecationWarning,
                      stacklevel=2)
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class RecordingInfo(_Model):
    """One recording of a cache: its source file (and content fingerprint), subject, session, windows.

    Layout-specific fields (e.g. ``part`` of an MEG setting folder, ``split`` of Things-EEG-2) are kept
    as further attributes."""

    id: int
    source: str
    labels: str | None = None
    subject: str
    session: str = "0"
    n_windows: int = Field(ge=0)
    label_counts: dict[str, int] = Field(default_factory=dict)
    dropped: dict[str, int] = Field(default_factory=dict)
    fingerprint: str | None = None


class CacheInfo(_Model):
    """Channels, rate, window length, classes, subjects, recordings and settings of one cache.

    ``label_kind`` says what ``y`` holds: ``class`` (an index into ``classes``, ``-1`` unlabelled) or
    ``condition`` (a stimulus index, e.g. an image of Things-EEG-2). ``extra_arrays`` names per-window
    arrays stored beside the windows (``x_<name>/``; :class:`~neurorep.data.dataset.WindowDataset` gives
    them as sample keys), ``recording_arrays`` per-recording ones (e.g. a whole preprocessed signal)."""

    version: int
    key: str
    dataset: str
    config: dict[str, Any] = Field(default_factory=dict)
    ch_names: list[str]
    sfreq: float = Field(gt=0)
    n_times: int = Field(ge=0)
    classes: list[str]
    label_kind: str = "class"
    subjects: list[str]
    recordings: list[RecordingInfo]
    n_windows: int = Field(ge=0)
    label_counts: dict[str, int]
    extra_arrays: list[str] = Field(default_factory=list)
    recording_arrays: list[str] = Field(default_factory=list)
    #: recordings left out when preparing (``on_error="skip"``): ``(source, error)``
    skipped: list[tuple[str, str]] = Field(default_factory=list)

    @property
    def sessions(self) -> list[str]:
        """Every ``subject/session`` of the cache, sorted."""
        return sorted({f"{r.subject}/{r.session}" for r in self.recordings})

    @property
    def sources(self) -> list[str]:
        """The source file of every recording, in recording order."""
        return [r.source for r in self.recordings]

    @property
    def n_channels(self) -> int:
        return len(self.ch_names)

    @property
    def window_s(self) -> float:
        """Window length in seconds."""
        return self.n_times / self.sfreq

    def recording(self, rec_id: int) -> RecordingInfo:
        """The recording with id ``rec_id`` (a :class:`DataError` if the cache has none)."""
        for r in self.recordings:
            if r.id == rec_id:
                return r
        raise DataError(f"cache {self.key}: no recording {rec_id}")



def load_info(path: Path, body: Any) -> CacheInfo:
    """Validate the parsed ``info.json`` at ``path``; a clear "rebuild" :class:`DataError` otherwise."""
    if not isinstance(body, dict):
        raise DataError(f"{path}: expected a JSON object of cache metadata; {REBUILD}")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DataError(f"{path}: cache metadata lacks a valid 'version'; {REBUILD}")
    if version < OLDEST_INFO_VERSION:
        raise DataError(f"{path}: cache made by an older neurorep (metadata version {version}); {REBUILD}")
    if version > INFO_VERSION:
        raise DataError(f"{path}: cache made by a newer neurorep (metadata version {version}, this one reads up "
                        f"to {INFO_VERSION}); upgrade neurorep or {REBUILD}")
    try:
        return CacheInfo.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise DataError(f"{path}: cache metadata lacks a valid {where!r} ({err['msg']}); {REBUILD}") from None
