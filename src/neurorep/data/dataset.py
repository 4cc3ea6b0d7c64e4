"""The torch Dataset over a window cache: each sample is a dict."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from neurorep.data.cache import WindowCache


class WindowDataset(Dataset[dict[str, torch.Tensor]]):
    """Windows of a :class:`WindowCache`, optionally restricted to ``indices``.

    A sample is ``{"x": float32 (C, T), "y": int64 (-1 if unlabelled), "subject": int64,
    "recording": int64, "index": int64}``, plus one key per further per-window array of the cache
    (``cache.info.extra_arrays``, e.g. soft labels); ``index`` is the row in the cache's metadata, so
    embeddings and predictions can be joined back to recordings and onsets.
    """

    def __init__(self, cache: WindowCache, indices: np.ndarray | None = None) -> None:
        self.cache = cache
        self.indices = np.arange(len(cache)) if indices is None else np.asarray(indices, dtype=np.int64)
        m = cache.meta
        self._rec = m["recording"].astype(np.int64)
        self._local = m["local"].astype(np.int64)
        self._y = m["y"].astype(np.int64)
        self._subject = m["subject"].astype(np.int64)
        self._extra = list(cache.info.extra_arrays)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = int(self.indices[i])
        x = np.array(self.cache.windows(int(self._rec[j]))[self._local[j]], dtype=np.float32)
        return {
            "x": torch.from_numpy(x),
            "y": torch.tensor(self._y[j]),
            "subject": torch.tensor(self._subject[j]),
            "recording": torch.tensor(self._rec[j]),
            "index": torch.tensor(j),
            **{k: torch.from_numpy(np.array(self.cache.array(k, int(self._rec[j]))[self._local[j]]))
               for k in self._extra},
        }

    def __getitems__(self, items: list[int]) -> list[dict[str, torch.Tensor]]:
        """A whole batch at once (the DataLoader's batched fetch): one memory-map read per recording
        instead of one per window; the samples equal ``[self[i] for i in items]``."""
        if self._extra:  # per-window arrays beside the windows: read item by item
            return [self[int(i)] for i in items]
        rows = self.indices[np.asarray(items, dtype=np.int64)]
        rec, local = self._rec[rows], self._local[rows]
        first = self.cache.windows(int(rec[0])) if len(rows) else None
        x = np.empty((len(rows), *(first.shape[1:] if first is not None else (0,))), dtype=np.float32)
        for r in np.unique(rec):
            sel = np.flatnonzero(rec == r)
            x[sel] = self.cache.windows(int(r))[local[sel]]
        xt = torch.from_numpy(x)
        cols = {"y": self._y[rows], "subject": self._subject[rows], "recording": rec, "index": rows}
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in cols.items()}
        return [{"x": xt[k], **{name: t[k] for name, t in tensors.items()}} for k in range(len(rows))]

    @property
    def labels(self) -> np.ndarray:
        """Labels of the samples in order, ``(len,)``."""
        return self._y[self.indices]

    @property
    def subjects(self) -> np.ndarray:
        """Subject codes of the samples in order, ``(len,)``."""
        return self._subject[self.indices]

    def load_all(self) -> np.ndarray:
        """All windows as one in-memory array ``(len, C, T)`` (for small subsets)."""
        out = np.empty((len(self), *self.cache.windows(int(self._rec[self.indices[0]])).shape[1:]), np.float32)
        for k, j in enumerate(self.indices):
            out[k] = self.cache.windows(int(self._rec[j]))[self._local[j]]
        return out
