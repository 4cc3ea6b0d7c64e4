"""Readers: one per format, plus a dispatcher that picks by file extension."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurorep.data.readers.dreams import read_dreams_hypnogram, read_dreams_text
from neurorep.data.readers.edf import pair_sleep_edf, read_annotations_edf, read_edf
from neurorep.data.recording import Recording
from neurorep.errors import DataError

READERS: dict[str, Callable[..., Recording]] = {
    ".edf": read_edf,
    ".bdf": read_edf,
    ".txt": read_dreams_text,  # the DREAMS text export of an excerpt
}


def register_reader(extension: str, reader: Callable[..., Recording]) -> None:
    """Make ``read_recording`` use ``reader`` for files ending in ``extension``."""
    READERS[extension.lower()] = reader


def read_recording(path: str | Path, **kwargs: Any) -> Recording:
    """Read any supported file; an unknown extension names the formats that are known."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"{path}: unknown file format {path.suffix or '(no extension)'!r}; "
            f"known formats are: {', '.join(sorted(READERS))}"
        )
    return reader(path, **kwargs)


# Format modules other than edf/dreams register their extensions on import (``register_reader``).
from neurorep.registry import import_submodules

import_submodules("neurorep.data.readers")

__all__ = ["READERS", "pair_sleep_edf", "read_annotations_edf", "read_dreams_hypnogram", "read_edf",
           "read_recording", "register_reader"]
