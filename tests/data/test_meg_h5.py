"""HCP-style MEG reader: names, datasets, errors; the simulated corpus layout; windows and cache."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from neurorep.data.readers import read_recording
from neurorep.data.readers.meg_h5 import find_meg_files, parse_meg_name, read_meg_h5
from neurorep.errors import ConfigError, DataError


def write_h5(path: Path, data: np.ndarray, dataset: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    name = dataset or "_".join(path.stem.split("_")[:-1])
    with h5py.File(path, "w") as f:
        f.create_dataset(name, data=data)
    return path


@pytest.mark.parametrize(("name", "task", "label", "subject", "chunk"), [
    ("rest_105923_1.h5", "rest", "rest", "105923", 1),
    ("task_motor_105923_5.h5", "task_motor", "motor", "105923", 5),
    ("task_story_math_113922_1.h5", "task_story_math", "story_math", "113922", 1),
    ("task_working_memory_707749_10.h5", "task_working_memory", "working_memory", "707749", 10),
])
def test_parse_hcp_names(name: str, task: str, label: str, subject: str, chunk: int) -> None:
    m = parse_meg_name(Path("Cross/test1") / name)
    assert (m.task, m.label, m.subject, m.chunk) == (task, label, subject, chunk)
    assert m.dataset == f"{task}_{subject}"


@pytest.mark.parametrize("name", ["rest_105923.h5", "task_sleep_105923_1.h5", "motor_105923_1.h5",
                                  "rest_abc_1.h5", "rest_105923_1.hdf5"])
def test_other_names_are_data_errors(name: str) -> None:
    with pytest.raises(DataError, match=r"expected <task>_<subject>_<chunk>\.h5"):
        parse_meg_name(name)


def test_read_recording(tmp_path: Path) -> None:
    data = np.random.default_rng(0).normal(0, 1e-12, (248, 500))
    path = write_h5(tmp_path / "task_motor_105923_3.h5", data)
    rec = read_recording(path)  # dispatched by extension
    assert rec.data.shape == (248, 500) and rec.data.dtype == np.float32 and rec.sfreq == 2034.0
    assert rec.ch_names[0] == "A1" and rec.ch_types == ["mag"] * 248
    assert rec.subject == "105923" and rec.session == "3"
    assert rec.annotations.description == ["motor"] and rec.annotations.duration[0] == pytest.approx(500 / 2034)
    np.testing.assert_allclose(rec.data, data.astype(np.float32))
    part = read_meg_h5(path, start=100, stop=200)
    np.testing.assert_allclose(part.data, data[:, 100:200].astype(np.float32))


def test_reader_errors(tmp_path: Path) -> None:
    wrong = write_h5(tmp_path / "rest_105923_1.h5", np.zeros((248, 10)), dataset="rest_999")
    with pytest.raises(DataError, match="expected a dataset named 'rest_105923'; found rest_999"):
        read_meg_h5(wrong)
    flat3d = write_h5(tmp_path / "rest_105924_1.h5", np.zeros((2, 248, 10)))
    with pytest.raises(DataError, match="must be 2-D"):
        read_meg_h5(flat3d)
    junk = tmp_path / "rest_105925_1.h5"
    junk.write_text("not hdf5")
    with pytest.raises(DataError, match="cannot read as HDF5"):
        read_meg_h5(junk)
    bad = write_h5(tmp_path / "sub" / "rest_1_1.h5", np.zeros((248, 10)))
    (bad.parent / "notes_1.h5").write_text("x")
    with pytest.raises(DataError, match="notes_1.h5: not an HCP-style MEG file name"):
        find_meg_files(bad.parent)


def test_simulated_corpus_layout_and_class_signature(tmp_path: Path) -> None:
    from neurorep.data.corpora import simulate

    files = simulate("meg", tmp_path, n_subjects=3, seconds=2.0, sfreq=500.0, test_subjects=1, intra_train=1,
                     intra_test=1, cross_train=1, cross_test=1, progress=False)
    assert len(files) == 4 * (1 + 1 + 1 + 1)
    folders = {f.parent.relative_to(tmp_path).as_posix() for f in files}
    assert folders == {"Intra/train", "Intra/test", "Cross/train", "Cross/test1"}
    intra = {parse_meg_name(f).subject for f in files if "Intra" in f.parts}
    cross_train = {parse_meg_name(f).subject for f in files if "train" in f.parts and "Cross" in f.parts}
    cross_test = {parse_meg_name(f).subject for f in files if f.parent.name.startswith("test1")}
    assert len(intra) == 1 and len(cross_train) == 1 and not (cross_test & cross_train)
    rest = read_meg_h5(next(f for f in files if f.name.startswith("rest_") and "Intra" in f.parts), sfreq=500.0)
    motor = read_meg_h5(next(f for f in files if f.name.startswith("task_motor") and "Intra" in f.parts), sfreq=500.0)
    assert rest.data.shape == (248, 1000) and 1e-14 < rest.data.std() < 1e-10  # tesla scale

    def alpha_share(x: np.ndarray) -> np.ndarray:
        spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
        f = np.fft.rfftfreq(x.shape[-1], 1 / 500.0)
        return spec[:, (f >= 8) & (f < 13)].sum(1) / spec[:, (f > 1) & (f < 45)].sum(1)

    from neurorep.data.sensor_grid import magnes_positions

    back = magnes_positions()[:, 1] < np.quantile(magnes_positions()[:, 1], 0.2)
    # posterior alpha is stronger at rest than during the motor task
    assert alpha_share(rest.data)[back].mean() > alpha_share(motor.data)[back].mean()
    with pytest.raises(ConfigError, match="n_subjects must be at least"):
        simulate("meg", tmp_path / "x", n_subjects=2, progress=False)
    with pytest.raises(ConfigError, match="no option 'noise'"):
        simulate("meg", tmp_path / "x", noise=1.0, progress=False)
