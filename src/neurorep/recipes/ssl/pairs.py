"""Window pairs for the temporal-context objectives (``relative_positioning``, ``temporal_contrastive``).

A pair is two windows of the same recording of one cache; their distance is the difference of the
windows' onsets (the cache's per-window ``onset``, seconds). Near partners start within ``tau_pos``
seconds (the anchor itself excluded), far partners ``tau_neg`` seconds or more away. Windows with no
near partner (an event-locked window whose neighbours are a trial away) are never anchors.
Batches draw their anchors from any window, or all from one recording or one subject
(``batch_from``), so that the other pairs of a batch, the negatives of a contrastive loss, share the
recording or subject with the anchor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from neurorep.data.dataset import WindowDataset
from neurorep.errors import DataError

__all__ = ["GroupedBatches", "PairWindows", "pair_loader"]


class PairWindows(Dataset[dict[str, torch.Tensor]]):
    """Anchors with a drawn partner: ``{"x", "x_pair", "target"}`` (target 1 near, 0 far).

    Args:
        parts: window sets (each over one cache); pairs never cross parts or recordings.
        tau_pos: near partners start within this many seconds of the anchor.
        tau_neg: far partners start at least this many seconds away (``None``: near partners only).
        seed: seed of the partner draws.
        tau_min: near partners start at least this many seconds away (e.g. the window length, so
            that a pair never shares samples).
    """

    def __init__(self, parts: list[WindowDataset], tau_pos: float, tau_neg: float | None, seed: int,
                 tau_min: float = 0.0) -> None:
        self.parts, self.tau_pos, self.tau_neg, self.tau_min = parts, float(tau_pos), tau_neg, float(tau_min)
        self.rng = np.random.default_rng(seed)
        part, row, group, subject, onset = [], [], [], [], []
        for p, ds in enumerate(parts):
            m = ds.cache.meta
            idx = ds.indices
            part.append(np.full(len(idx), p))
            row.append(np.arange(len(idx)))
            group.append(p * 1_000_000 + m["recording"][idx].astype(np.int64))
            subject.append(np.asarray(ds.cache.subjects, dtype=object)[m["subject"][idx]])
            onset.append(m["onset"][idx].astype(np.float64))
        order = np.lexsort((np.concatenate(onset), np.concatenate(group)))
        self.part = np.concatenate(part)[order]
        self.row = np.concatenate(row)[order]
        self.group = np.concatenate(group)[order]
        self.subject = np.concatenate(subject)[order]
        self.onset = np.concatenate(onset)[order]
        self.near_lo = np.empty(len(self.group), np.int64)
        self.near_hi = np.empty(len(self.group), np.int64)
        self.in_lo = np.empty(len(self.group), np.int64)  # too close (< tau_min): [in_lo, in_hi), the anchor too
        self.in_hi = np.empty(len(self.group), np.int64)
        self.far_lo = np.empty(len(self.group), np.int64)  # far partners: [start, far_lo) and [far_hi, end)
        self.far_hi = np.empty(len(self.group), np.int64)
        self.start = np.searchsorted(self.group, self.group, side="left")
        self.end = np.searchsorted(self.group, self.group, side="right")
        for g in np.unique(self.group):
            s, e = np.searchsorted(self.group, g, "left"), np.searchsorted(self.group, g, "right")
            t = self.onset[s:e]
            self.near_lo[s:e] = s + np.searchsorted(t, t - self.tau_pos, "left")
            self.near_hi[s:e] = s + np.searchsorted(t, t + self.tau_pos, "right")
            if self.tau_min > 0:
                self.in_lo[s:e] = s + np.searchsorted(t, t - self.tau_min, "right")
                self.in_hi[s:e] = s + np.searchsorted(t, t + self.tau_min, "left")
            else:
                self.in_lo[s:e], self.in_hi[s:e] = np.arange(s, e), np.arange(s, e) + 1
            if tau_neg is not None:
                self.far_lo[s:e] = s + np.searchsorted(t, t - tau_neg, "right")
                self.far_hi[s:e] = s + np.searchsorted(t, t + tau_neg, "left")
        has_near = (self.in_lo > self.near_lo) | (self.near_hi > self.in_hi)
        if tau_neg is not None:
            has_far = (self.far_lo > self.start) | (self.far_hi < self.end)
            has_near &= has_far
        self.anchors = np.flatnonzero(has_near)
        if len(self.anchors) == 0:
            raise DataError(f"no window has a partner within {tau_pos:g} s"
                            + (f" (and {tau_min:g} s or more away)" if tau_min > 0 else "") + " in its recording"
                            + (f" and one {tau_neg:g} s or more away" if tau_neg is not None else "")
                            + "; pretrain on continuous windows (`data prepare --window W --stride S "
                              "--keep-unlabelled`, given as pretrain.extra_caches) or change tau_pos/tau_neg")

    def __len__(self) -> int:
        return len(self.anchors)

    def _x(self, k: int) -> torch.Tensor:
        return self.parts[int(self.part[k])][int(self.row[k])]["x"]

    def partner(self, k: int, near: bool) -> int:
        """A near (not ``k`` itself) or far partner of sorted position ``k``, drawn uniformly."""
        if near:
            cands = np.r_[self.near_lo[k]:self.in_lo[k], self.in_hi[k]:self.near_hi[k]]
        else:
            cands = np.r_[self.start[k]:self.far_lo[k], self.far_hi[k]:self.end[k]]
        return int(cands[self.rng.integers(len(cands))])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        k = int(self.anchors[i])
        near = self.tau_neg is None or bool(self.rng.integers(2))
        j = self.partner(k, near)
        return {"x": self._x(k), "x_pair": self._x(j), "target": torch.tensor(1.0 if near else 0.0)}


class GroupedBatches(Sampler[list[int]]):
    """``n_batches`` batches of anchor positions, each drawn from one group (recording or subject),
    groups chosen in proportion to their anchors; without replacement inside a batch when possible."""

    def __init__(self, groups: np.ndarray, batch_size: int, n_batches: int, seed: int) -> None:
        self.batch_size, self.n_batches = batch_size, n_batches
        self.rng = np.random.default_rng(seed)
        self.members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
        sizes = np.array([len(m) for m in self.members], dtype=float)
        self.p = sizes / sizes.sum()

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.n_batches):
            m = self.members[int(self.rng.choice(len(self.members), p=self.p))]
            yield self.rng.choice(m, self.batch_size, replace=len(m) < self.batch_size).tolist()


def pair_loader(pairs: PairWindows, sampling: dict[str, Any], batch_size: int, n_windows: int | None,
                seed: int, num_workers: int = 0) -> DataLoader:
    """Batches of pairs: ``n_windows`` anchors per epoch (default: every anchor once) in batches of
    ``batch_size``, from any window or one group each (``sampling["batch_from"]``)."""
    n = n_windows or len(pairs)
    n_batches = max(1, n // batch_size)
    how = sampling.get("batch_from", "any")
    if how == "any":
        groups = np.zeros(len(pairs), np.int64)
    elif how == "recording":
        groups = pairs.group[pairs.anchors]
    else:
        groups = np.unique(pairs.subject[pairs.anchors], return_inverse=True)[1]
    sampler = GroupedBatches(groups, batch_size, n_batches, seed)
    return DataLoader(pairs, batch_sampler=sampler, num_workers=num_workers)
