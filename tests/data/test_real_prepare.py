"""Real files through the whole preparation path (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurorep.data.cache import prepare
from neurorep.data.readers.edf import read_annotations_edf
from neurorep.data.windows import PrepareConfig
from tests.conftest import write_psg

pytestmark = pytest.mark.real_data

# 30-s epochs per stage of SC4001EC and SC4012EC, from ../shared/data/README.md (N3 = stages 3 + 4)
EXPECTED = {"SC4001EC": {"W": 1997, "N1": 58, "N2": 250, "N3": 220, "REM": 125},
            "SC4012EC": {"W": 1824, "N1": 92, "N2": 660, "N3": 96, "REM": 176}}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_hypnogram_with_written_psg(shared_data: Path, tmp_path: Path, name: str) -> None:
    hyp = shared_data / "sleep-edf" / "hypnograms" / f"{name}-Hypnogram.edf"
    ann = read_annotations_edf(hyp)
    scored = [i for i, d in enumerate(ann.description) if d not in ("Sleep stage ?", "Movement time")]
    end = float(max(ann.onset[i] + ann.duration[i] for i in scored))
    folder = tmp_path / "night"
    folder.mkdir()
    write_psg(folder / f"{name[:6]}E0-PSG.edf", int(np.ceil(end / 30)), sfreq=10.0)
    (folder / hyp.name).symlink_to(hyp)
    cfg = PrepareConfig(sfreq=None, l_freq=None, h_freq=None, trim_wake_min=None)
    cache = prepare(folder, tmp_path / "cache", cfg=cfg, progress=False).cache
    assert cache.info.label_counts == EXPECTED[name]
    rec = cache.info.recordings[0]
    assert rec.subject == name[:5] and rec.session == name[5]
    # with the default 30 minutes of wake kept around sleep, most of the 24-h wake is trimmed
    trimmed = prepare(folder, tmp_path / "cache", cfg=PrepareConfig(sfreq=None, l_freq=None, h_freq=None),
                      progress=False).cache
    assert trimmed.info.label_counts["W"] < 400
    assert {k: v for k, v in trimmed.info.label_counts.items() if k != "W"} == {
        k: v for k, v in EXPECTED[name].items() if k != "W"}


def test_real_dreams_prepare(shared_data: Path, tmp_path: Path) -> None:
    cache = prepare(shared_data / "dreams", tmp_path / "c", cfg=PrepareConfig(sfreq=50.0, h_freq=20.0,
                                                                              trim_wake_min=None),
                    progress=False).cache
    assert cache.info.dataset == "dreams" and cache.info.ch_names == ["C3-A1", "O1-A1"]
    # 360 codes of 5 s = 60 windows of 30 s, each labelled by the stage covering most of it
    assert sum(cache.info.label_counts.values()) == 60
    assert set(cache.info.label_counts) <= {"W", "N1", "N2", "N3"}
    x = cache.windows(0)
    assert x.shape == (60, 2, 1500) and np.isfinite(x).all()
