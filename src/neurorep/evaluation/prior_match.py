"""Label-free, per-recording prior matching of class decisions.

A stager trained on a few people carries their stage mix into its decisions, and on a new night a
minority class whose probability rarely tops the others (REM for a heart-rate stager) may never be
predicted. Prior matching adjusts each recording's decisions without its labels: per-class offsets
``b_k`` are added to the recording's log-probabilities so that the proportions of its decisions
``argmax_k (log p_k + b_k)`` come as close as the offsets allow to ``target`` (e.g. the stage
proportions of the training people). The offsets are bounded, ``|b_k| <= bound`` (``b_0 = 0``, the
first class is the reference), so a recording whose evidence says it has (almost) none of a class is
not forced to show that class: moving a decision needs a log-probability margin below the bound.

The offsets are found by coordinate descent on a grid (:func:`prior_match_offsets`): each class's
offset in turn tries the grid values in order of increasing size and is moved only when the total
variation distance between decided and target proportions strictly drops. So a recording whose
decisions already have the target proportions keeps plain argmax (all offsets zero), and among equally
good offsets the smallest are kept.
"""

from __future__ import annotations

import numpy as np

from neurorep.errors import ConfigError, DataError

__all__ = ["class_proportions", "decided_proportions", "log_probs", "prior_match", "prior_match_offsets", "select_bound"]


def class_proportions(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Proportions ``[K]`` of the labelled entries of ``y`` (``y >= 0``) in each of ``n_classes`` classes."""
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    y = y[y >= 0]
    if y.size == 0:
        raise DataError("no labelled entries to take class proportions from")
    if y.max() >= n_classes:
        raise DataError(f"class {int(y.max())} outside the {n_classes} classes")
    return np.bincount(y, minlength=n_classes) / y.size


def log_probs(prob: np.ndarray, floor: float = 1e-8) -> np.ndarray:
    """``log(clip(prob, floor, 1))``: class probabilities ``[N, K]`` as the log-probabilities the rules take
    (a class with probability 0 gets ``log(floor)``, so an offset can still reach it)."""
    return np.log(np.clip(np.asarray(prob), floor, 1.0))


def decided_proportions(log_probs: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Proportions ``[K]`` of ``argmax_k (log_probs + offsets)`` over the rows of ``log_probs [N, K]``."""
    lp = np.asarray(log_probs, dtype=np.float64)
    if offsets is not None:
        lp = lp + np.asarray(offsets, dtype=np.float64)
    return np.bincount(lp.argmax(1), minlength=lp.shape[1]) / lp.shape[0]


def _check(log_probs: np.ndarray, target: np.ndarray, bound: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    lp = np.asarray(log_probs, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    if lp.ndim != 2 or lp.shape[0] == 0 or lp.shape[1] != t.size:
        raise DataError(f"expected log_probs [N, K] with N > 0 and target [K]; got {lp.shape} and {t.shape}")
    if not np.isfinite(lp).all():
        raise DataError("log_probs hold non-finite values")
    if (t < 0).any() or not np.isclose(t.sum(), 1.0):
        raise DataError(f"target proportions must be >= 0 and sum to 1; got {t.round(4).tolist()}")
    if not bound >= 0 or not np.isfinite(bound) or steps < 1:
        raise ConfigError(f"prior matching needs a finite bound >= 0 and steps >= 1; got {bound}, {steps}")
    return lp, t


def prior_match_offsets(log_probs: np.ndarray, target: np.ndarray, bound: float = 2.0, steps: int = 40,
                        sweeps: int = 4) -> np.ndarray:
    """Offsets ``b [K]`` (``b_0 = 0``, ``|b_k| <= bound``) that bring the proportions of
    ``argmax(log_probs + b)`` closest to ``target`` (total variation distance).

    Coordinate descent: for each class ``k >= 1`` in turn, ``b_k`` tries ``0, ±bound/steps, ±2·bound/steps,
    ... ±bound`` (smallest first) and moves only on a strict drop of the distance; ``sweeps`` passes.
    ``bound = 0`` is plain argmax.

    Args:
        log_probs: log-probabilities (or logits) of one recording ``[N, K]``.
        target: class proportions to match ``[K]`` (non-negative, summing to 1).
    """
    lp, t = _check(log_probs, target, bound, steps)
    k = lp.shape[1]
    offsets = np.zeros(k)
    if bound == 0:
        return offsets
    mags = np.arange(1, int(steps) + 1) * (float(bound) / int(steps))
    grid = np.concatenate([[0.0], np.stack([-mags, mags], 1).reshape(-1)])  # 0, -d, +d, -2d, +2d, ...
    best = 0.5 * np.abs(decided_proportions(lp, offsets) - t).sum()
    for _ in range(int(sweeps)):
        changed = False
        for c in range(1, k):
            for g in grid:
                if g == offsets[c]:
                    continue
                trial = offsets.copy()
                trial[c] = g
                d = 0.5 * np.abs(decided_proportions(lp, trial) - t).sum()
                if d < best - 1e-12:
                    best, offsets, changed = d, trial, True
        if not changed or best == 0:
            break
    return offsets


def prior_match(log_probs: np.ndarray, groups: np.ndarray, target: np.ndarray, bound: float = 2.0,
                steps: int = 40) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Decisions ``[N]`` with offsets matched per group (recording) of ``groups [N]``, and the offsets.

    Each group gets its own :func:`prior_match_offsets` towards the same ``target``; no label is read.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    g = np.asarray(groups).reshape(-1)
    if lp.ndim != 2 or g.size != lp.shape[0]:
        raise DataError(f"expected log_probs [N, K] and groups [N]; got {lp.shape} and {g.shape}")
    pred = np.empty(lp.shape[0], dtype=np.int64)
    offsets: dict[int, np.ndarray] = {}
    for r in np.unique(g):
        m = g == r
        off = prior_match_offsets(lp[m], target, bound, steps)
        pred[m] = (lp[m] + off).argmax(1)
        offsets[int(r)] = off
    return pred, offsets


def select_bound(log_probs: np.ndarray, y: np.ndarray, recording: np.ndarray, person: np.ndarray,
                 bounds: list[float] | tuple[float, ...], steps: int = 40) -> tuple[float, list[dict[str, float]]]:
    """Choose a ``bound`` for :func:`prior_match` on held-out predictions of several people (e.g. the
    out-of-fold predictions of the training people), never on the people it will be applied to.

    Each person in turn plays the new night: its recordings are prior-matched towards the class
    proportions of the *other* people's labelled epochs, and scored by Cohen's kappa and by class
    coverage (the share of (recording, class) pairs with the class among the recording's labels that
    also appear among its decisions). The chosen bound has the highest coverage, then the highest mean
    kappa over people, then is the smallest.

    Args:
        log_probs: ``[N, K]``; ``y``: classes ``[N]`` (``-1`` unlabelled); ``recording``, ``person``: ``[N]``.

    Returns: ``(bound, [{"bound", "kappa", "coverage"} per candidate])``.
    """
    from sklearn.metrics import cohen_kappa_score

    lp = np.asarray(log_probs, dtype=np.float64)
    y, rec, who = (np.asarray(a).reshape(-1) for a in (y, recording, person))
    if lp.ndim != 2 or not len(y) == len(rec) == len(who) == lp.shape[0]:
        raise DataError(f"expected log_probs [N, K] and y, recording, person [N]; got {lp.shape}, {y.shape}, "
                        f"{rec.shape}, {who.shape}")
    people = np.unique(who[y >= 0])
    if len(people) < 2 or not bounds:
        raise DataError(f"choosing a prior-matching bound needs held-out predictions of at least 2 people and "
                        f"candidate bounds; got {len(people)} people, {len(bounds)} bounds")
    k = lp.shape[1]
    table = []
    for b in bounds:
        kappas, hits, pairs = [], 0, 0
        for p in people:
            m = who == p
            target = class_proportions(y[~m], k)
            pred, _ = prior_match(lp[m], rec[m], target, float(b), steps)
            lab = y[m] >= 0
            kappas.append(float(cohen_kappa_score(y[m][lab], pred[lab], labels=list(range(k)))))
            for r in np.unique(rec[m]):
                mr = (rec[m] == r) & lab
                for c in np.unique(y[m][mr]):
                    pairs += 1
                    hits += int((pred[mr] == c).any())
        table.append({"bound": float(b), "kappa": float(np.mean(kappas)), "coverage": hits / max(pairs, 1)})
    best = max(table, key=lambda t: (round(t["coverage"], 9), round(t["kappa"], 9), -t["bound"]))
    return best["bound"], table
