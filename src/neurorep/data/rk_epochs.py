"""R&K 20-second scoring mapped onto 30-second windows.

MASS subsets SS2, SS4 and SS5 are scored in 20-s epochs (Rechtschaffen & Kales); SS1 and SS3
in 30-s epochs (AASM). The studies compared here cut every night into 30-s windows, so a 20-s
hypnogram is mapped onto a 30-s grid anchored at the first scored epoch:

* three 20-s epochs ``e0 e1 e2`` span exactly two 30-s windows ``w0 = [0, 30)`` and ``w1 = [30, 60)``;
* ``w0`` is covered 20 s by ``e0`` and 10 s by ``e1``; ``w1`` 10 s by ``e1`` and 20 s by ``e2``;
* rule ``dominant`` (default): each window takes the stage of the epoch covering 20 of its 30 s
  (``w0 <- e0``, ``w1 <- e2``); the middle epoch ``e1`` only ever fills a 10-s fringe;
* rule ``agree``: a window is labelled only when both epochs it overlaps carry the same stage,
  otherwise it becomes ``Sleep stage ?`` (unscored, dropped and counted like any unscored epoch).

A trailing 20-s epoch that does not fill a whole 30-s window is left out. A scoring whose epochs
already last 30 s passes through unchanged.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from neurorep.data.recording import Annotations
from neurorep.errors import ConfigError, DataError

UNSCORED = "Sleep stage ?"
Rule = Literal["dominant", "agree"]


def epoch_length(ann: Annotations) -> float:
    """The scoring epoch (s): the smallest duration among the stage annotations (20 or 30 in MASS)."""
    stage = [i for i, d in enumerate(ann.description) if d.startswith("Sleep stage")]
    if not stage:
        raise DataError("no 'Sleep stage ...' annotations to take the epoch length from")
    return float(np.min(ann.duration[stage]))


def expand_epochs(onset: np.ndarray, duration: np.ndarray, descriptions: list[str], epoch_s: float,
                  origin: float) -> list[str]:
    """One description per ``epoch_s`` epoch from ``origin`` (annotations spanning several epochs are split;
    gaps become ``Sleep stage ?``)."""
    ends = np.asarray(onset) + np.asarray(duration)
    n = int(np.floor((ends.max() - origin) / epoch_s + 1e-6))
    out = [UNSCORED] * max(n, 0)
    for o, d, text in zip(onset, duration, descriptions, strict=True):
        first = int(round((o - origin) / epoch_s))
        count = int(round(d / epoch_s))
        if abs((o - origin) / epoch_s - first) > 1e-3 or count < 1 or abs(d / epoch_s - count) > 1e-3:
            raise DataError(f"stage annotation at {o:.2f}s (+{d:.2f}s) is not on the {epoch_s:g}-s epoch grid "
                            f"starting at {origin:.2f}s")
        for i in range(first, min(first + count, n)):
            out[i] = text
    return out


def rk20_to_30(ann: Annotations, rule: Rule = "dominant", epoch_s: float = 20.0) -> Annotations:
    """Map 20-s stage annotations onto 30-s windows (see the module docstring for the rule).

    Non-stage annotations are dropped. Returns one 30-s annotation per window, from the first
    scored epoch's onset.
    """
    if rule not in ("dominant", "agree"):
        raise ConfigError(f"rk rule must be 'dominant' or 'agree'; got {rule!r}")
    idx = [i for i, d in enumerate(ann.description) if d.startswith("Sleep stage") or d == "Movement time"]
    if not idx:
        raise DataError("no 'Sleep stage ...' annotations to map onto 30-s windows")
    onset, duration = ann.onset[idx], ann.duration[idx]
    desc = [ann.description[i] for i in idx]
    origin = float(onset.min())
    epochs = expand_epochs(onset, duration, desc, epoch_s, origin)
    n_windows = int(len(epochs) * epoch_s // 30.0)
    out = []
    for k in range(n_windows):
        m, odd = divmod(k, 2)
        major, minor = (3 * m + 2, 3 * m + 1) if odd else (3 * m, 3 * m + 1)
        stage = epochs[major]
        if rule == "agree" and epochs[minor] != stage:
            stage = UNSCORED
        out.append(stage)
    return Annotations(origin + 30.0 * np.arange(n_windows), np.full(n_windows, 30.0), out)


def split_30_to_20(stages: list[str]) -> list[str]:
    """20-s scoring of a 30-s stage sequence: epoch ``i`` takes the 30-s stage at its midpoint.

    Used by the simulated MASS corpus to write R&K-style 20-s hypnograms; :func:`rk20_to_30`
    with the ``dominant`` rule maps the result back to ``stages`` exactly.
    """
    n20 = int(len(stages) * 30 // 20)
    return [stages[min(int((20 * i + 10) // 30), len(stages) - 1)] for i in range(n20)]
