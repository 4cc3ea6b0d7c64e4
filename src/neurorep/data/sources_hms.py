"""HMS (Harmful Brain Activity) folders as a data source of the one cache path (:func:`neurorep.data.cache.prepare`).

A folder holds ``train.csv`` (one row per labelled segment: ``eeg_id``, ``eeg_label_offset_seconds``,
``patient_id``, six expert vote columns) and ``train_eegs/<eeg_id>.parquet``
(:mod:`neurorep.data.readers.hms`). Each EEG is one recording of its patient; each of its label rows
is one window: the ``window_s`` (default 50 s) segment from the label offset, zero-padded when it runs
up to one second past the end of the EEG, ``y`` the consensus class, and the per-window array ``votes``
(the six vote counts). The whole preprocessed EEG is kept as the per-recording array ``signal``
``[C, T]`` (unlabelled random crops for pretraining are drawn from it).

Preprocessing (:func:`preprocess`): optional double-banana montage, band-pass, resample, then µV /
``scale_uv`` clipped to ``+-clip``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from neurorep.data.montage import bipolar
from neurorep.data.readers.hms import HMS_CLASSES, HMS_EEG_CHANNELS, VOTE_COLUMNS, read_hms_eeg, read_hms_labels
from neurorep.data.recording import Recording
from neurorep.data.sources_base import DATASETS, Source, SourceItem
from neurorep.data.windows import PrepareConfig, Windows, bandpass, resample
from neurorep.errors import DataError, LabelFileError


class HMSPrepareConfig(PrepareConfig):
    """Preparation settings of HMS windows: :class:`PrepareConfig` (rate, band-pass, ``window_s`` = the
    labelled segment) plus the montage, the EKG lead, scaling and a cap on label rows per EEG."""

    montage: Literal["none", "double_banana"] = "none"
    include_ekg: bool = False
    scale_uv: float = Field(50.0, gt=0, description="inputs are µV / scale_uv ...")
    clip: float = Field(20.0, gt=0, description="... clipped to +-clip")
    max_rows_per_eeg: int | None = Field(None, ge=1, description="cap on labelled rows per EEG")


def preprocess(data_volts: np.ndarray, ch_names: list[str], sfreq: float, cfg: Any,
               source: str = "") -> tuple[np.ndarray, list[str], float]:
    """Montage, band-pass, resample and scale ``[C, T]`` (volts) -> float32 ``[C', T']`` in units of
    ``scale_uv`` µV clipped to ``+-clip``; returns (data, channel names, new rate)."""
    data, names = np.asarray(data_volts, dtype=np.float32) * 1e6, list(ch_names)
    if cfg.montage == "double_banana":
        eeg, eeg_names = bipolar(data[: len(HMS_EEG_CHANNELS)], names[: len(HMS_EEG_CHANNELS)], source=source)
        extra = data[len(HMS_EEG_CHANNELS):]
        data, names = np.vstack([eeg, extra]), eeg_names + names[len(HMS_EEG_CHANNELS):]
    data = bandpass(data, sfreq, cfg.l_freq, cfg.h_freq)
    data, rate = resample(data, sfreq, cfg.sfreq)
    data = np.clip(data / cfg.scale_uv, -cfg.clip, cfg.clip).astype(np.float32)
    return data, names, rate


@DATASETS.register("hms", "HMS layout: train.csv (expert votes per labelled segment) + train_eegs/<eeg_id>.parquet")
class HMS(Source):
    """HMS EEGs, one window per label row (its segment), with the vote counts and the whole signal kept."""

    name = "hms"
    config_class = HMSPrepareConfig
    prepare_defaults = {"sfreq": 200.0, "l_freq": 0.5, "h_freq": 40.0, "window_s": 50.0}

    def __init__(self) -> None:
        self.max_rows: int | None = None
        self.include_ekg = False
        self.rows: dict[int, dict[str, np.ndarray]] = {}

    def setup(self, cfg: Any) -> None:
        self.max_rows = cfg.max_rows_per_eeg
        self.include_ekg = cfg.include_ekg

    def discover(self, root: Path) -> list[SourceItem]:
        labels = root / "train.csv"
        df = read_hms_labels(labels)
        if self.max_rows is not None:
            df = df.groupby("eeg_id", sort=False).head(self.max_rows)
        items = []
        for eeg_id, rows in df.groupby("eeg_id", sort=False):
            path = root / "train_eegs" / f"{int(eeg_id)}.parquet"
            if not path.is_file():
                raise DataError(f"{path}: EEG file listed in {labels} not found")
            self.rows[int(eeg_id)] = {
                "offset_s": rows["eeg_label_offset_seconds"].to_numpy(np.float64),
                "y": rows["y"].to_numpy(np.int64), "votes": rows[VOTE_COLUMNS].to_numpy(np.float32)}
            items.append(SourceItem(path, labels, str(rows["patient_id"].iloc[0]), str(int(eeg_id))))
        return items

    def describe(self, item: SourceItem) -> dict[str, Any]:
        return {"eeg_id": int(item.session)}

    def classes(self, cfg: Any) -> list[str]:
        return list(HMS_CLASSES)

    def load(self, item: SourceItem, channels: list[str] | None) -> Recording:
        want = channels or HMS_EEG_CHANNELS + (["EKG"] if self.include_ekg else [])
        return read_hms_eeg(item.path, subject=item.subject, channels=want)

    def windows(self, rec: Recording, cfg: Any) -> Windows:
        data, names, rate = preprocess(rec.data, rec.ch_names, rec.sfreq, cfg, source=str(rec.source))
        rows = self.rows[int(Path(str(rec.source)).stem)]
        seg = int(round(cfg.window_s * rate))
        length_s = data.shape[1] / rate
        ends = rows["offset_s"] + cfg.window_s
        bad = np.flatnonzero(ends > length_s + 1.0)
        if len(bad):
            j = int(bad[0])
            raise LabelFileError(f"{rec.source}: label offset {rows['offset_s'][j]:g} s puts its {cfg.window_s:g} s "
                            f"segment past the end of the EEG ({length_s:g} s); {len(bad)} label(s) affected")
        starts = np.round(rows["offset_s"] * rate).astype(np.int64)
        x = np.zeros((len(starts), data.shape[0], seg), np.float32)
        for k, a in enumerate(starts):
            part = data[:, a:a + seg]
            x[k, :, :part.shape[1]] = part
        return Windows(x, rows["y"], rows["offset_s"], rate, names, extra={"votes": rows["votes"]},
                       whole={"signal": data})
