"""Sleep-stage label schemes, kept as data.

A scheme maps raw annotation descriptions (Sleep-EDF / R&K, AASM, DREAMS after reading) to class
names, or to ``None`` for epochs that are dropped and counted (movement, unscored).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from neurorep.errors import ConfigError, DataError, unknown_name_message

#: Raw description -> canonical stage (AASM names; R&K stages 3 and 4 both map to N3).
CANONICAL_STAGE: dict[str, str | None] = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
    "Sleep stage N1": "N1",
    "Sleep stage N2": "N2",
    "Sleep stage N3": "N3",
    "Sleep stage N": None,
    "Sleep stage ?": None,
    "Movement time": None,
}


@dataclass(frozen=True)
class LabelScheme:
    """Class names and the mapping from canonical stages to them."""

    name: str
    classes: tuple[str, ...]
    stage_to_class: dict[str, str] = field(default_factory=dict)

    def encode_descriptions(self, descriptions: list[str], source: str = "") -> tuple[np.ndarray, Counter[str]]:
        """Class index per description (-1 for dropped) and counts of what was dropped.

        An unknown description is an error naming it and the known ones.
        """
        out = np.full(len(descriptions), -1, dtype=np.int64)
        dropped: Counter[str] = Counter()
        for i, d in enumerate(descriptions):
            key = d.strip()
            if key not in CANONICAL_STAGE:
                where = f"{source}: " if source else ""
                raise DataError(
                    f"{where}unknown sleep stage annotation {key!r}; known ones are: {', '.join(CANONICAL_STAGE)}"
                )
            stage = CANONICAL_STAGE[key]
            if stage is None:
                dropped[key] += 1
                continue
            out[i] = self.classes.index(self.stage_to_class[stage])
        return out, dropped


def _scheme(name: str, mapping: dict[str, str]) -> LabelScheme:
    classes = tuple(dict.fromkeys(mapping.values()))
    return LabelScheme(name, classes, mapping)


SCHEMES: dict[str, LabelScheme] = {
    "aasm5": _scheme("aasm5", {"W": "W", "N1": "N1", "N2": "N2", "N3": "N3", "REM": "REM"}),
    "4class": _scheme("4class", {"W": "W", "N1": "light", "N2": "light", "N3": "deep", "REM": "REM"}),
    "3class": _scheme("3class", {"W": "W", "N1": "NREM", "N2": "NREM", "N3": "NREM", "REM": "REM"}),
}


def get_scheme(name: str) -> LabelScheme:
    """Label scheme by name (``aasm5``, ``4class``, ``3class``)."""
    if name not in SCHEMES:
        raise ConfigError(unknown_name_message("label scheme", name, SCHEMES))
    return SCHEMES[name]


def epoch_labels(onset: np.ndarray, duration: np.ndarray, codes: np.ndarray, n_windows: int,
                 window_s: float, min_coverage: float = 0.5) -> np.ndarray:
    """Label of each window ``[k*window_s, (k+1)*window_s)`` from interval annotations.

    Each window takes the class whose annotations cover most of it; a window whose best class
    covers less than ``min_coverage`` of it, or that is covered only by dropped epochs (code -1),
    gets -1. Scorings finer than the window (e.g. 5-s DREAMS epochs) are thereby voted; scorings
    aligned with it (30-s Sleep-EDF) map one to one.

    Returns: int64 array ``(n_windows,)``.
    """
    n_classes = int(codes.max()) + 2 if len(codes) else 1
    cover = np.zeros((n_windows, n_classes), dtype=np.float64)  # column 0 = dropped
    starts = np.arange(n_windows) * window_s
    for o, d, c in zip(onset, duration, codes, strict=True):
        if d <= 0:
            continue
        first = max(int(np.floor(o / window_s)), 0)
        last = min(int(np.ceil((o + d) / window_s)), n_windows)
        if last <= first:
            continue
        ws = starts[first:last]
        overlap = np.clip(np.minimum(ws + window_s, o + d) - np.maximum(ws, o), 0, None)
        cover[first:last, int(c) + 1] += overlap
    best = cover[:, 1:].argmax(axis=1) if n_classes > 1 else np.zeros(n_windows, dtype=np.int64)
    best_cover = cover[np.arange(n_windows), best + 1] if n_classes > 1 else np.zeros(n_windows)
    labels = np.where(best_cover >= min_coverage * window_s, best, -1)
    return labels.astype(np.int64)


def check_annotations(onset: np.ndarray, duration: np.ndarray, source: str, psg_duration: float | None = None,
                      tolerance_s: float = 30.0) -> None:
    """Refuse overlapping stage annotations and a hypnogram that does not match its PSG.

    A hypnogram may run past the PSG end only with unscored (``?``) epochs; this check is done by
    the caller with the stage codes. Here: onsets must be sorted without overlap, and the scored
    span must start inside the recording.
    """
    if len(onset) == 0:
        raise DataError(f"{source}: the hypnogram holds no stage annotations")
    order = np.argsort(onset, kind="stable")
    o, d = onset[order], duration[order]
    ends = o + d
    overlap = np.where(o[1:] < ends[:-1] - 1e-6)[0]
    if len(overlap):
        i = int(overlap[0])
        raise DataError(
            f"{source}: overlapping stage annotations at {o[i]:.1f}s (+{d[i]:.1f}s) and {o[i + 1]:.1f}s"
        )
    if psg_duration is not None and o[0] > psg_duration + tolerance_s:
        raise DataError(f"{source}: the hypnogram starts at {o[0]:.0f}s, after its PSG ends ({psg_duration:.0f}s)")
