"""The data path's band-pass and robust statistics without ``scipy.signal``: the same numbers as SciPy's
functions and as the implementation before (``scipy.signal.sosfiltfilt``, ``np.percentile``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurorep.data import filtering, windows
from neurorep.data.filtering import butter_sos, sosfiltfilt
from neurorep.data.recording import Annotations, Recording
from neurorep.data.windows import PrepareConfig, make_windows, order_statistics, quantiles

BANDS = [(0.3, 35.0), (0.1, 40.0), (0.5, None), (None, 30.0), (1.0, 45.0), (0.05, None), (8.0, 12.0), (None, 49.0)]


@pytest.mark.parametrize("order", [1, 2, 3, 4, 6, 8])
@pytest.mark.parametrize("sfreq", [100.0, 128.0, 256.0, 500.0, 1000.0, 2048.0])
def test_butter_sos_equals_scipy(order: int, sfreq: float) -> None:
    from scipy import signal

    for lo, hi in BANDS:
        band = [lo, hi] if lo and hi else (lo or hi)
        btype = "bandpass" if lo and hi else ("highpass" if lo else "lowpass")
        want = signal.butter(order, band, btype=btype, fs=sfreq, output="sos")
        got = butter_sos(order, lo, hi, sfreq)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15 * np.abs(want).max())


def test_butter_sos_refuses_edges_outside_the_band() -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 50 Hz"):
        butter_sos(4, 0.3, 60.0, 100.0)
    with pytest.raises(ValueError, match="at least one band edge"):
        butter_sos(4, None, None, 100.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5000,), (3, 4000), (2, 2, 3000)])
def test_sosfiltfilt_equals_scipy_bit_for_bit(dtype: type, shape: tuple[int, ...]) -> None:
    from scipy import signal

    rng = np.random.default_rng(len(shape))
    x = (np.cumsum(rng.standard_normal(shape), axis=-1) * 1e-5 + 3e-5).astype(np.float32)
    sos = butter_sos(4, 0.3, 35.0, 100.0)
    want = signal.sosfiltfilt(sos.astype(dtype), x.astype(dtype), axis=-1).astype(np.float32)
    got = sosfiltfilt(sos, x, dtype)
    assert got.dtype == np.float32 and got.shape == x.shape
    assert np.array_equal(got, want)


def test_sosfiltfilt_through_the_public_function_when_the_kernel_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3000)).astype(np.float32)
    sos = butter_sos(4, 0.5, 30.0, 100.0)
    want = sosfiltfilt(sos, x)
    filtering._kernel.cache_clear()
    monkeypatch.setattr(filtering, "_load_kernel", lambda: None)
    try:
        assert np.array_equal(sosfiltfilt(sos, x), want)
    finally:
        filtering._kernel.cache_clear()


def test_a_kernel_that_does_not_filter_as_expected_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(1).standard_normal((1, 2000)).astype(np.float32)
    sos = butter_sos(4, 1.0, 20.0, 100.0)
    want = sosfiltfilt(sos, x)
    filtering._kernel.cache_clear()
    monkeypatch.setattr(filtering, "_load_kernel", lambda: lambda sos, x, zi: None)  # a kernel that does nothing
    try:
        assert np.array_equal(sosfiltfilt(sos, x), want)
    finally:
        filtering._kernel.cache_clear()


def test_sosfiltfilt_refuses_a_signal_shorter_than_its_padding() -> None:
    with pytest.raises(ValueError, match="longer than the filter's padding"):
        sosfiltfilt(butter_sos(4, 0.3, 35.0, 100.0), np.zeros((1, 27), np.float32))


def test_band_pass_does_not_import_scipy_signal_and_scipy_signal_still_works_after() -> None:
    code = (
        "import sys, numpy as np\n"
        "from neurorep.data.windows import bandpass\n"
        "x = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)\n"
        "y = bandpass(x, 100.0, 0.3, 35.0)\n"
        "print('scipy.signal' in sys.modules)\n"
        "from scipy import signal\n"
        "sos = signal.butter(4, [0.3, 35.0], btype='bandpass', fs=100.0, output='sos').astype(np.float32)\n"
        "print(np.array_equal(y, signal.sosfiltfilt(sos, x, axis=-1)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def _rows(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    walk = np.cumsum(rng.standard_normal(n)) * 1e-6
    stride = n // windows.SAMPLE_SIZE
    periodic = np.where(np.arange(n) % stride == 0, 5.0, rng.standard_normal(n))  # the sample sees only 5.0
    return {"noise": rng.standard_normal(n) * 1e-5, "walk": walk, "ties": np.round(rng.standard_normal(n) * 3),
            "constant": np.full(n, 2.5), "periodic": periodic, "skewed": rng.exponential(size=n) ** 3}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_order_statistics_equal_a_full_partition(dtype: type) -> None:
    n = 300_001
    ks = np.array([0, 1, 75_000, 75_001, 150_000, 225_000, 225_001, n - 2, n - 1])
    for name, row in _rows(n).items():
        row = row.astype(dtype)
        assert np.array_equal(order_statistics(row, ks), np.sort(row)[ks]), name


def test_order_statistics_partition_only_a_bracket_unless_the_sample_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    partition = np.partition

    def spy(a: np.ndarray, kth: object) -> np.ndarray:
        sizes.append(len(a))
        return partition(a, kth)

    monkeypatch.setattr(windows.np, "partition", spy)
    n = 300_001
    ks = np.array([75_000, 75_001, 150_000])
    rows = _rows(n)
    order_statistics(rows["noise"], ks)
    assert sizes and max(sizes) < n // 10  # only the values inside the brackets
    sizes.clear()
    order_statistics(rows["periodic"], ks)
    assert max(sizes) == n  # the strided sample saw one value: the whole row is partitioned


def test_long_row_quantiles_equal_numpy_percentile() -> None:
    q = [0.01, 0.25, 0.5, 0.75, 0.99]
    for name, row in _rows(300_000).items():
        x = np.stack([row, row[::-1] * 2]).astype(np.float32)
        assert np.array_equal(quantiles(x, q), np.percentile(x, np.array(q) * 100, axis=1).T), name
    x = np.stack([_rows(300_000)["noise"]] * 2)
    x[1, 1234] = np.nan
    got = quantiles(x, q)
    assert np.isnan(got[1]).all() and np.array_equal(got[0], np.percentile(x[0], np.array(q) * 100))


def _old_bandpass(data: np.ndarray, sfreq: float, l_freq: float | None, h_freq: float | None) -> np.ndarray:
    """The band-pass before this module: scipy.signal's design and sosfiltfilt, float32 sections per row."""
    from scipy import signal

    hi = h_freq if h_freq is not None and h_freq < sfreq / 2 * 0.99 else None
    lo = l_freq or None
    if lo is None and hi is None:
        return data
    band, btype = ([lo, hi], "bandpass") if lo and hi else ((lo, "highpass") if lo else (hi, "lowpass"))
    edge = lo if lo is not None else hi
    dtype = np.float32 if edge / sfreq >= windows.FLOAT32_MIN_EDGE else np.float64
    sos = signal.butter(4, band, btype=btype, fs=sfreq, output="sos").astype(dtype)
    rows = data.reshape(-1, data.shape[-1])
    return np.stack([signal.sosfiltfilt(sos, r.astype(dtype)) for r in rows]).astype(np.float32).reshape(data.shape)


@pytest.mark.parametrize(("sfreq", "l_freq", "h_freq"), [(100.0, 0.3, 35.0), (128.0, 0.5, None), (1000.0, 0.3, 40.0)])
def test_windows_equal_the_implementation_before(monkeypatch: pytest.MonkeyPatch, sfreq: float, l_freq: float,
                                                 h_freq: float | None) -> None:
    rng = np.random.default_rng(5)
    n = int(sfreq * 3600)
    data = (np.cumsum(rng.standard_normal((2, n)), axis=1) * 1e-6 + rng.standard_normal((2, n)) * 2e-5)
    stages = rng.choice(["Sleep stage W", "Sleep stage 2", "Sleep stage R", "Sleep stage 3"], 120)
    ann = Annotations(np.arange(120) * 30.0, np.full(120, 30.0), list(stages))
    rec = Recording(data=data.astype(np.float32), sfreq=sfreq, ch_names=["EEG a", "EEG b"], ch_types=["eeg", "eeg"],
                    annotations=ann)
    cfg = PrepareConfig(sfreq=None, l_freq=l_freq, h_freq=h_freq, trim_wake_min=None)
    now = make_windows(rec, cfg)
    monkeypatch.setattr(windows, "bandpass", _old_bandpass)
    monkeypatch.setattr(windows, "quantiles", lambda x, q: np.percentile(x, np.array(q) * 100, axis=1).T)
    before = make_windows(rec, cfg)
    assert np.array_equal(now.x, before.x) and np.array_equal(now.y, before.y)
