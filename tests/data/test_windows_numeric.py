"""Numerics of window preparation: partition quantiles, float32 band-pass, no writes into the input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurorep.data.recording import Annotations, Recording
from neurorep.data.windows import FLOAT32_MIN_EDGE, PrepareConfig, bandpass, make_windows, quantiles, scale_stats


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 100, 1001, 30_000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantiles_equal_numpy_percentile(n: int, dtype: type) -> None:
    rng = np.random.default_rng(n)
    x = np.stack([rng.standard_normal(n) * 1e-5, np.round(rng.standard_normal(n) * 10), rng.standard_normal(n) * 1e3])
    x = x.astype(dtype)
    q = [0.1, 0.25, 0.5, 0.75, 0.9]
    got = quantiles(x, q)
    assert np.array_equal(got, np.percentile(x, np.array(q) * 100, axis=1).T)


def test_quantiles_nan_row_like_percentile() -> None:
    x = np.random.default_rng(0).standard_normal((2, 50))
    x[0, 7] = np.nan
    got = quantiles(x, [0.25, 0.5])
    assert np.isnan(got[0]).all() and np.array_equal(got[1], np.percentile(x[1], [25, 50]))


def test_robust_scale_stats_are_median_and_iqr() -> None:
    x = np.random.default_rng(1).standard_normal((3, 999)).astype(np.float32)
    center, spread = scale_stats(x, "robust")
    q25, med, q75 = np.percentile(x, [25, 50, 75], axis=1, keepdims=True)
    assert np.array_equal(center, med.astype(np.float32)) and np.array_equal(spread, (q75 - q25).astype(np.float32))


@pytest.mark.parametrize(("sfreq", "l_freq", "h_freq"), [(100, 0.3, 35), (256, 0.3, 35), (512, 0.3, 35), (200, 0.5, None),
                                                          (1000, 0.1, 40), (1000, 0.05, None)])
def test_bandpass_close_to_float64_filter(sfreq: float, l_freq: float, h_freq: float | None) -> None:
    from scipy import signal

    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, int(sfreq * 300))) * 50e-6 + 20e-6).astype(np.float32)
    got = bandpass(x, sfreq, l_freq, h_freq)
    band = [l_freq, h_freq] if h_freq else l_freq
    sos = signal.butter(4, band, btype="bandpass" if h_freq else "highpass", fs=sfreq, output="sos")
    want = signal.sosfiltfilt(sos, x.astype(np.float64), axis=-1)
    assert got.dtype == np.float32 and got.shape == x.shape
    rms = np.sqrt(np.mean((got - want) ** 2) / np.mean(want**2))
    # float32 sections above FLOAT32_MIN_EDGE (bounded error), float64 below it (float32 output rounding only)
    assert rms < (3e-4 if l_freq / sfreq >= FLOAT32_MIN_EDGE else 1e-6)


def test_bandpass_keeps_leading_shape() -> None:
    x = np.random.default_rng(3).standard_normal((2, 3, 1000)).astype(np.float32)
    got = bandpass(x, 100, 0.5, 30)
    assert got.shape == x.shape and np.allclose(got[1, 2], bandpass(x[1, 2][None], 100, 0.5, 30)[0])


@pytest.mark.parametrize("l_freq", [None, 0.3])
def test_make_windows_never_writes_into_the_recording(l_freq: float | None) -> None:
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 100 * 300)).astype(np.float32) * 1e-5
    before = data.copy()
    ann = Annotations([0.0], [300.0], ["Sleep stage 2"])
    rec = Recording(data=data, sfreq=100.0, ch_names=["EEG a", "EEG b"], ch_types=["eeg", "eeg"], annotations=ann)
    cfg = PrepareConfig(sfreq=None, l_freq=l_freq, h_freq=None, trim_wake_min=None)
    w = make_windows(rec, cfg)
    assert np.array_equal(rec.data, before)
    assert np.allclose(np.median(w.x.transpose(1, 0, 2).reshape(2, -1), axis=1), 0, atol=1e-6)


def test_importing_windows_does_not_import_scipy_signal() -> None:
    code = "import sys, neurorep.data.windows, neurorep.data.cache; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
