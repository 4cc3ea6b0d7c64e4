"""Windows of any recording: event-locked (MOABB style) or fixed with a vote over annotations.

Both kinds are cut from the continuous signal after the same preprocessing as every other source
(unit check, band-pass at the native rate, resampling, per-recording scaling:
:func:`neurorep.data.windows.preprocessed`), so a filter never sees the edge of a window.

* **Event-locked.** Each annotation whose description is one of the mapped codes gives the window
  ``[onset + tmin, onset + tmax)`` at the prepared rate: it starts at sample
  ``round((onset + tmin) * sfreq)`` and holds ``round((tmax - tmin) * sfreq)`` samples, the same for
  every event. Events whose window would leave the recording (or cross a gap of an EDF+D file) are
  dropped and counted in :attr:`Windows.dropped`. A window's ``onset`` is its first sample's time
  (``onset + tmin``, on the prepared rate's grid). With ``keep_unlabelled`` the stretches between
  event windows are also cut into fixed windows of ``tmax - tmin`` seconds (label -1), for
  pretraining; none of them overlaps an event window.
* **Fixed.** Windows of ``window_s`` every ``stride_s`` seconds from the start of each contiguous
  piece; each takes the class of the annotations that cover it (``vote``: ``coverage`` needs the
  class to cover ``min_coverage`` of the window, ``majority`` takes the class covering most of it).
  Windows no class wins are unlabelled (-1) and kept only with ``keep_unlabelled``.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from neurorep.data.recording import Annotations, Recording
from neurorep.data.windows import PrepareConfig, Windows, preprocessed
from neurorep.errors import ConfigError, DataError


def parse_events(text: str, option: str = "--events") -> list[tuple[str, str]]:
    """``NAME=CODE[,NAME=CODE...]`` as ``[(name, code), ...]`` in the order given (a class may take
    several codes: ``left=1,left=5``)."""
    pairs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, code = part.partition("=")
        if not sep or not name.strip() or not code.strip():
            raise ConfigError(f"{option}: expected NAME=CODE[,NAME=CODE...], got {part!r}")
        pairs.append((name.strip(), code.strip()))
    if not pairs:
        raise ConfigError(f"{option}: expected NAME=CODE[,NAME=CODE...], got {text!r}")
    codes = [c for _, c in pairs]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ConfigError(f"{option}: code {dup[0]!r} is given to more than one class")
    return pairs


def class_names(events: list[tuple[str, str]]) -> list[str]:
    """Class names of an events mapping, in the order they first appear."""
    return list(dict.fromkeys(name for name, _ in events))


def code_labels(events: list[tuple[str, str]]) -> dict[str, int]:
    """Event code or text -> class index."""
    classes = class_names(events)
    return {code: classes.index(name) for name, code in events}


def _normal(code: str) -> str:
    """Codes compare as numbers where they are numbers (``"2"`` and ``"2.0"`` are one code)."""
    try:
        value = float(code)
    except ValueError:
        return code.strip()
    return str(int(value)) if value.is_integer() else str(value)


def _forms(description: str) -> list[str]:
    """The forms a code may take in a description: itself, and for BrainVision markers
    (``Stimulus/S  1``, ``Comment/left``) the part after the type and its number (``S  1`` -> ``1``)."""
    out = [_normal(description)]
    if "/" in description:
        tail = description.split("/", 1)[1].strip()
        out.append(_normal(tail))
        m = re.fullmatch(r"[A-Za-z]\s*(\d+)", tail)
        if m:
            out.append(_normal(m.group(1)))
    return out


def missing_codes(codes: list[str], descriptions: set[str]) -> list[str]:
    """The ``codes`` that match none of ``descriptions``."""
    forms = {f for d in descriptions for f in _forms(d)}
    return [c for c in codes if _normal(c) not in forms]


def encode(ann: Annotations, mapping: dict[str, int]) -> np.ndarray:
    """Class index of each annotation (-1 where its description is not mapped)."""
    table = {_normal(k): v for k, v in mapping.items()}
    return np.array([next((table[f] for f in _forms(d) if f in table), -1) for d in ann.description],
                    dtype=np.int64)


def _signal(rec: Recording, cfg: PrepareConfig) -> tuple[list[np.ndarray], float]:
    return preprocessed(rec, cfg)


def event_windows(rec: Recording, cfg: PrepareConfig, mapping: dict[str, int]) -> Windows:
    """Event-locked windows of ``rec`` (see the module docstring)."""
    assert cfg.tmin is not None and cfg.tmax is not None
    pieces, sfreq = _signal(rec, cfg)
    n = int(round((cfg.tmax - cfg.tmin) * sfreq))
    codes = encode(rec.annotations, mapping)
    starts = [(t0, int(round(t0 * sfreq)), x) for (t0, _, _), x in zip(rec.pieces(), pieces, strict=True)]
    xs, ys, onsets, taken = [], [], [], []
    dropped: Counter[str] = Counter()
    for o, c, desc in zip(rec.annotations.onset, codes, rec.annotations.description, strict=True):
        if c < 0:
            continue
        a = int(round((o + cfg.tmin) * sfreq))
        piece = next(((p0, x) for _, p0, x in starts if p0 <= a and a + n <= p0 + x.shape[1]), None)
        if piece is None:
            dropped[f"{desc} (window outside the recording)"] += 1
            continue
        p0, x = piece
        xs.append(x[:, a - p0: a - p0 + n])
        ys.append(int(c))
        onsets.append(a / sfreq)
        taken.append((a, a + n))
    if cfg.keep_unlabelled:
        for (_, p0, x) in starts:
            for a in _free_starts(p0, p0 + x.shape[1], n, taken):
                xs.append(x[:, a - p0: a - p0 + n])
                ys.append(-1)
                onsets.append(a / sfreq)
    order = np.argsort(np.asarray(onsets), kind="stable")
    x_all = np.stack(xs)[order] if xs else np.zeros((0, rec.n_channels, n), np.float32)
    return Windows(x=np.ascontiguousarray(x_all, dtype=np.float32), y=np.asarray(ys, np.int64)[order],
                   onset=np.asarray(onsets, np.float64)[order], sfreq=sfreq, ch_names=list(rec.ch_names),
                   dropped=dropped)


def _free_starts(first: int, end: int, n: int, taken: list[tuple[int, int]]) -> list[int]:
    """Starts of back-to-back windows of ``n`` samples in ``[first, end)`` that overlap no ``taken`` span."""
    out, a = [], first
    spans = sorted(s for s in taken if s[1] > first and s[0] < end)
    for s0, s1 in [*spans, (end, end)]:
        while a + n <= s0:
            out.append(a)
            a += n
        a = max(a, s1)
    return out


def fixed_windows(rec: Recording, cfg: PrepareConfig, mapping: dict[str, int] | None) -> Windows:
    """Fixed windows of ``cfg.window_s`` every ``cfg.stride_s`` s, labelled by a vote of the mapped
    annotations (all -1 without a mapping)."""
    pieces, sfreq = _signal(rec, cfg)
    n = int(round(cfg.window_s * sfreq))
    step = int(round((cfg.stride_s or cfg.window_s) * sfreq))
    if n <= 0 or step <= 0:
        raise DataError(f"{rec.source}: window or stride is shorter than one sample at {sfreq:g} Hz")
    blocks, onsets = [], []
    for (t0, _, _), x in zip(rec.pieces(), pieces, strict=True):
        m = (x.shape[1] - n) // step + 1 if x.shape[1] >= n else 0
        if m:
            idx = np.arange(m) * step
            view = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)[:, idx]  # (C, m, n)
            blocks.append(view.transpose(1, 0, 2))
            onsets.append(t0 + idx / sfreq)
    if not blocks:
        raise DataError(f"{rec.source}: recording ({rec.end_time:.1f} s) is shorter than one window "
                        f"(--window {cfg.window_s:g} s)")
    onset = np.concatenate(onsets)
    if mapping is None:
        y = np.full(len(onset), -1, np.int64)
    else:
        y = vote_labels(rec.annotations, encode(rec.annotations, mapping), onset, cfg.window_s, cfg.vote,
                        cfg.min_coverage, max(mapping.values()) + 1)
    keep = np.arange(len(y)) if cfg.keep_unlabelled else np.where(y >= 0)[0]
    x = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    dropped: Counter[str] = Counter()
    if not cfg.keep_unlabelled and len(keep) < len(y):
        dropped["unlabelled window"] = int(len(y) - len(keep))
    return Windows(x=np.ascontiguousarray(x[keep], dtype=np.float32), y=y[keep], onset=onset[keep], sfreq=sfreq,
                   ch_names=list(rec.ch_names), dropped=dropped)


def vote_labels(ann: Annotations, codes: np.ndarray, starts: np.ndarray, window_s: float, vote: str,
                min_coverage: float, n_classes: int) -> np.ndarray:
    """Class of each window ``[start, start + window_s)`` from the annotations' codes (``-1``: none).

    ``coverage``: the class covering most of the window wins if it covers at least ``min_coverage``
    of it; ``majority``: the class covering most of the window wins if it covers any of it."""
    cover = np.zeros((len(starts), max(n_classes, 1)))
    ends = starts + window_s
    for o, d, c in zip(ann.onset, ann.duration, codes, strict=True):
        if c < 0 or d <= 0:
            continue
        cover[:, c] += np.clip(np.minimum(ends, o + d) - np.maximum(starts, o), 0, None)
    best = cover.argmax(axis=1)
    won = cover[np.arange(len(starts)), best]
    ok = won >= min_coverage * window_s - 1e-9 if vote == "coverage" else won > 1e-9
    return np.where(ok, best, -1).astype(np.int64)
