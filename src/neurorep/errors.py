"""Error types raised for user mistakes and bad input.

Every error that a user can cause (a malformed file, an unknown name in a config, a split that
leaks subjects) is a :class:`NeurorepError`. The command-line front end turns it into one line on
stderr and exit code 2; library users can catch it as a ``ValueError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NeurorepError(ValueError):
    """Base class for errors caused by input, configuration or data (not by a bug)."""


class DataError(NeurorepError):
    """A file or dataset on disk is missing, malformed or inconsistent."""


class LabelFileError(DataError):
    """A label file that many recordings share is wrong; preparing stops even where bad recordings are skipped."""


class ConfigError(NeurorepError):
    """A configuration value or name is invalid."""


class LeakageError(NeurorepError):
    """A data split places one subject on more than one side."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name`` (for "did you mean" hints), or ``None``."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name_message(kind: str, name: str, choices: Iterable[str]) -> str:
    """Message for an unknown name: lists the known names and the closest match."""
    choices = sorted(choices)
    hint = closest(name, choices)
    msg = f"unknown {kind} {name!r}; known {kind}s are: {', '.join(choices) or '(none)'}"
    if hint is not None:
        msg += f" (did you mean {hint!r}?)"
    return msg
