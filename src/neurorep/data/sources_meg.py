"""HCP-style MEG setting folders as a data source of the one cache path (:func:`neurorep.data.cache.prepare`).

A setting folder (``Intra/`` or ``Cross/``) holds ``train/`` and ``test/`` (or ``test1/``, ``test2/`` ...)
folders of ``<task>_<subject>_<chunk>.h5`` files (:mod:`neurorep.data.readers.meg_h5`). Each file is one
recording whose class is its task; its entry in the cache's recordings list also names its ``part``
(the folder), ``task`` and ``chunk``, so a split can follow the folders
(:func:`~neurorep.data.splits.make_splits` with ``parts``).

Windowing one recording: refuse flat channels, downsample to ``sfreq`` (polyphase, anti-aliased), scale
each channel over the recording, cut windows of ``window_s`` every ``stride_s``. The files do not store
their rate, so :class:`MegWindowConfig` carries it (``sfreq_in``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from neurorep.data.readers.meg_h5 import HCP_SFREQ, MEG_CLASSES, MegFile, find_meg_files, meg_length, read_meg_h5
from neurorep.data.recording import Recording
from neurorep.data.sources_base import DATASETS, Source, SourceItem
from neurorep.data.windows import PrepareConfig, Windows, resample, scale
from neurorep.errors import DataError


class MegWindowConfig(PrepareConfig):
    """Preparation settings of MEG windows: :class:`PrepareConfig` plus the files' rate and the window step."""

    sfreq_in: float = Field(HCP_SFREQ, gt=0, description="rate of the files (not stored in them; HCP: 2034 Hz)")
    stride_s: float = Field(0.5, gt=0, description="step between window starts in seconds")


def setting_parts(root: Path) -> dict[str, list[MegFile]]:
    """``{"train": files, "test": files}`` (Intra) or ``{"train", "test1", "test2", ...}`` (Cross) of ``root``."""
    if not root.is_dir():
        raise DataError(f"{root}: MEG setting folder not found (expected Intra/ or Cross/ with train/ and test*/)")
    parts = {p.name: find_meg_files(p) for p in sorted(root.iterdir()) if p.is_dir() and
             (p.name == "train" or p.name.startswith("test"))}
    if "train" not in parts or not any(k.startswith("test") for k in parts):
        found = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "none"
        raise DataError(f"{root}: expected a train/ folder and test/ (or test1/, test2/ ...) folders; found {found}")
    return parts


@DATASETS.register("hcp-meg", "HCP-style MEG setting folder: train/ and test*/ of <task>_<subject>_<chunk>.h5")
class HcpMeg(Source):
    """One HCP-style setting folder; the class of a recording is its task (rest, motor, story_math, working_memory)."""

    name = "hcp-meg"
    config_class = MegWindowConfig
    prepare_defaults = {"sfreq": 100.0, "l_freq": None, "h_freq": None, "window_s": 1.0, "scaling": "zscore"}
    sfreq_in: float = HCP_SFREQ

    def setup(self, cfg: Any) -> None:
        self.sfreq_in = float(cfg.sfreq_in)

    def discover(self, root: Path) -> list[SourceItem]:
        return [SourceItem(f.path, None, f.subject, str(f.chunk)) for fs in setting_parts(root).values() for f in fs]

    def describe(self, item: SourceItem) -> dict[str, Any]:
        from neurorep.data.readers.meg_h5 import parse_meg_name

        f = parse_meg_name(item.path)
        return {"part": item.path.parent.name, "task": f.label, "chunk": f.chunk}

    def classes(self, cfg: Any) -> list[str]:
        return list(MEG_CLASSES)

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        rec = read_meg_h5(item.path, sfreq=self.sfreq_in)
        return rec.pick(channels) if channels else rec

    def channels(self, item: SourceItem) -> list[tuple[str, float, int]]:
        n_ch, n_times = meg_length(item.path)
        return [(f"A{i + 1}", self.sfreq_in, n_times) for i in range(n_ch)]

    def windows(self, rec: Recording, cfg: Any) -> Windows:
        flat = np.where(np.ptp(rec.data, axis=1) == 0)[0]
        if len(flat):
            raise DataError(f"{rec.source}: channel {rec.ch_names[int(flat[0])]} is flat (constant)")
        data, sfreq = resample(rec.data, rec.sfreq, cfg.sfreq)
        data = scale(data, cfg.scaling)
        stride_s = float(cfg.stride_s)
        win, step = int(round(cfg.window_s * sfreq)), max(1, int(round(stride_s * sfreq)))
        if data.shape[1] < win:
            raise DataError(f"{rec.source}: recording ({rec.duration:.2f} s) is shorter than one window "
                            f"({cfg.window_s} s)")
        starts = np.arange(0, data.shape[1] - win + 1, step)
        x = np.lib.stride_tricks.sliding_window_view(data, win, axis=1)[:, starts].transpose(1, 0, 2)
        y = np.full(len(starts), MEG_CLASSES.index(rec.annotations.description[0]), np.int64)
        return Windows(np.ascontiguousarray(x, dtype=np.float32), y, np.arange(len(starts)) * stride_s, sfreq,
                       list(rec.ch_names))
