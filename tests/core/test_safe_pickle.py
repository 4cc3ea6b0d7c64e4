"""The restricted unpickler: NumPy dicts load, anything that calls code is refused."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from neurorep.errors import DataError
from neurorep.safe_pickle import load_npy, load_npy_dict, safe_loads


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_dict_of_arrays_round_trips(tmp_path: Path) -> None:
    d = {"preprocessed_eeg_data": np.arange(24, dtype=np.float32).reshape(2, 1, 3, 4), "ch_names": ["Pz", "Oz", "O1"],
         "times": np.linspace(-0.2, 0.8, 4), "scale": np.float64(2.5), "n": 3, "nested": {"a": [1, 2.0, "b"]}}
    np.save(tmp_path / "d.npy", d, allow_pickle=True)
    out = load_npy_dict(tmp_path / "d.npy")
    assert set(out) == set(d)
    np.testing.assert_array_equal(out["preprocessed_eeg_data"], d["preprocessed_eeg_data"])
    assert out["preprocessed_eeg_data"].dtype == np.float32
    assert out["ch_names"] == d["ch_names"] and out["scale"] == 2.5 and out["nested"] == {"a": [1, 2.0, "b"]}


def test_plain_numeric_npy_is_read_without_pickle(tmp_path: Path) -> None:
    a = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(load_npy(tmp_path / "a.npy"), a)
    with pytest.raises(DataError, match="expected a saved dict"):
        load_npy_dict(tmp_path / "a.npy")


@pytest.mark.parametrize("evil", [_Evil(), _EvalEvil()])
def test_malicious_npy_is_refused_and_not_executed(tmp_path: Path, evil: object) -> None:
    marker = tmp_path / "ran"
    payload = {"preprocessed_eeg_data": np.zeros(2), "x": evil}
    path = tmp_path / "evil.npy"
    np.save(path, np.array(payload, dtype=object), allow_pickle=True)
    with pytest.raises(DataError) as info:
        load_npy_dict(path)
    msg = str(info.value)
    assert str(path) in msg and "refused to load global" in msg
    assert ("posix.system" in msg or "os.system" in msg or "nt.system" in msg) or "builtins.eval" in msg
    assert not marker.exists()


def test_raw_malicious_pickle_bytes_refused() -> None:
    data = pickle.dumps(_Evil())
    with pytest.raises(DataError, match="refused to load global"):
        safe_loads(data, source="blob")
    # a plain container still loads
    assert safe_loads(pickle.dumps({"a": [1, "x", 2.5]})) == {"a": [1, "x", 2.5]}


def test_truncated_and_non_npy_files(tmp_path: Path) -> None:
    np.save(tmp_path / "d.npy", {"a": np.ones(1000)}, allow_pickle=True)
    data = (tmp_path / "d.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.npy"):
        load_npy(tmp_path / "cut.npy")
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(DataError, match="not a NumPy .npy file"):
        load_npy(tmp_path / "text.npy")
    with pytest.raises(DataError, match="file not found"):
        load_npy(tmp_path / "missing.npy")


def test_numpy1_module_spelling_is_admitted() -> None:
    buf = io.BytesIO()
    pickle.dump(np.arange(3), buf, protocol=2)
    raw = buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    np.testing.assert_array_equal(safe_loads(raw), np.arange(3))
