"""SSVEP baselines: canonical correlation with sine/cosine references, plain (CCA) or over a filter
bank (FBCCA).

For a window ``X[C, T]`` and a stimulus frequency ``f`` the reference is
``Y = [sin(2 pi h f t), cos(2 pi h f t)]`` for harmonics ``h = 1..H``; the score of ``f`` is the
first canonical correlation of ``X`` and ``Y`` (``sklearn.cross_decomposition.CCA``). FBCCA
band-passes ``X`` into sub-bands ``m = 1..M`` starting at ``m`` times the lowest stimulus frequency
minus 2 Hz (zero-phase Butterworth, ``scipy.signal``) and scores ``sum_m (m^-1.25 + 0.25) rho_m^2``.

When every class has a stimulus frequency the prediction is the class of the highest score and
needs no training. When a class has none (a rest or reject class), a class-balanced logistic
regression on the vector of scores is fitted on the training windows.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.signal import butter, sosfiltfilt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cross_decomposition import CCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurorep.errors import ConfigError

__all__ = ["SSVEPCCA", "canonical_correlation", "class_frequencies", "sine_references"]

_FREQ = re.compile(r"(\d+(?:\.\d+)?)\s*hz", re.IGNORECASE)


def class_frequencies(classes: Sequence[str]) -> list[float | None]:
    """The stimulus frequency in each class name (``13Hz``, ``8.57 Hz``, ``stim_15hz``), ``None`` where absent."""
    out: list[float | None] = []
    for c in classes:
        m = _FREQ.search(str(c))
        out.append(float(m.group(1)) if m else None)
    return out


def sine_references(freq: float, sfreq: float, n_times: int, n_harmonics: int = 3) -> np.ndarray:
    """``[T, 2 * n_harmonics]``: sine and cosine at ``freq`` and its harmonics, sampled at ``sfreq``."""
    t = np.arange(n_times) / sfreq
    cols = []
    for h in range(1, n_harmonics + 1):
        cols += [np.sin(2 * np.pi * h * freq * t), np.cos(2 * np.pi * h * freq * t)]
    return np.stack(cols, axis=1)


def canonical_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """First canonical correlation of ``x[T, p]`` and ``y[T, q]`` with scikit-learn's CCA."""
    cca = CCA(n_components=1, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        u, v = cca.fit_transform(x, y)
    return float(abs(np.corrcoef(u[:, 0], v[:, 0])[0, 1]))


class SSVEPCCA(BaseEstimator, ClassifierMixin):
    """CCA (``n_bands=None``) or filter-bank CCA (``n_bands=M``) SSVEP classifier on ``X[n, C, T]``."""

    def __init__(self, sfreq: float, classes: Sequence[str], frequencies: Sequence[float | None] | None = None,
                 n_harmonics: int = 3, n_bands: int | None = None) -> None:
        self.sfreq = sfreq
        self.classes = classes
        self.frequencies = frequencies
        self.n_harmonics = n_harmonics
        self.n_bands = n_bands

    def _freqs(self) -> list[float | None]:
        freqs = list(self.frequencies) if self.frequencies is not None else class_frequencies(self.classes)
        if len(freqs) != len(self.classes):
            raise ConfigError(f"SSVEP baseline: {len(freqs)} frequencies for {len(self.classes)} classes")
        if not any(f is not None for f in freqs):
            raise ConfigError("SSVEP baseline: no stimulus frequency in the class names "
                              f"({', '.join(map(str, self.classes))}); name classes like '13Hz' or set frequencies")
        nyq = self.sfreq / 2
        for f in freqs:
            if f is not None and not 0 < f < nyq:
                raise ConfigError(f"SSVEP baseline: stimulus frequency {f} Hz is not below the Nyquist rate {nyq} Hz")
        return freqs

    def _filter_bank(self, n_times: int) -> list[np.ndarray | None]:
        if not self.n_bands:
            return [None]
        lowest = min(f for f in self._freqs() if f is not None)
        hi = min(0.45 * self.sfreq, 90.0)
        bank = []
        for m in range(1, self.n_bands + 1):
            lo = max(1.0, m * lowest - 2.0)
            if lo >= hi - 1:
                break
            bank.append(butter(4, [lo, hi], btype="bandpass", fs=self.sfreq, output="sos"))
        return bank

    def scores(self, X: np.ndarray) -> np.ndarray:  # noqa: N803 - sklearn naming
        """``[n, K']``: the score of each stimulus frequency (classes with a frequency, in order)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"SSVEP baseline: expected windows [n, C, T], got shape {X.shape}")
        freqs = [f for f in self._freqs() if f is not None]
        refs = [sine_references(f, self.sfreq, X.shape[-1], self.n_harmonics) for f in freqs]
        bank = self._filter_bank(X.shape[-1])
        weights = np.array([(m + 1) ** -1.25 + 0.25 for m in range(len(bank))])
        out = np.zeros((len(X), len(freqs)))
        for i, win in enumerate(X):
            for b, sos in enumerate(bank):
                xb = (win if sos is None else sosfiltfilt(sos, win, axis=-1)).T
                for k, ref in enumerate(refs):
                    rho = canonical_correlation(xb, ref)
                    out[i, k] += rho if sos is None else weights[b] * rho**2
        return out

    def fit(self, X: np.ndarray, y: np.ndarray) -> SSVEPCCA:  # noqa: N803 - sklearn naming
        freqs = self._freqs()
        self.stim_classes_ = np.array([i for i, f in enumerate(freqs) if f is not None])
        self.model_ = None
        if len(self.stim_classes_) < len(freqs):  # a class without a stimulus: learn from the scores
            self.model_ = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000))
            self.model_.fit(self.scores(X), y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803 - sklearn naming
        s = self.scores(X)
        if self.model_ is not None:
            return np.asarray(self.model_.predict(s), dtype=np.int64)
        return self.stim_classes_[s.argmax(1)].astype(np.int64)
