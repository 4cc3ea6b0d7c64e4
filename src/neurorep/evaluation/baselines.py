"""Classic (non-deep) baselines on raw windows, built from scikit-learn, MNE and pyriemann.

Every baseline is a scikit-learn estimator: ``fit(X[n, C, T], y[n])`` then ``predict(X[m, C, T])``
returns class indices. :func:`make_baseline` builds one by name for a cache's channels and rate;
:data:`TASK_BASELINES` lists which apply to each kind of task. Example::

    model = make_baseline("bandpower_lr", sfreq=100.0, n_channels=2, classes=["W", "N1", "N2", "N3", "R"])
    y_pred = model.fit(x_train, y_train).predict(x_test)

Baselines:

- ``bandpower_lr``: log band power (Welch) per channel in the classic EEG bands, standardised,
  class-balanced logistic regression. Any EEG.
- ``spectral_gb``: log and relative band power, total log power and the 95 % spectral edge per
  channel, class-balanced histogram gradient boosting. Sleep EEG.
- ``csp_lda``: common spatial patterns (``mne.decoding.CSP``, log-variance of the filtered
  windows) and linear discriminant analysis. Event-related / motor data, 2+ channels.
- ``tangent_lr``: shrunk spatial covariance (``pyriemann.estimation.Covariances``, OAS), Riemannian
  tangent space (``pyriemann.tangentspace.TangentSpace``), logistic regression. 2+ channels.
- ``fb_tangent_lr``: the same on the window band-passed around each stimulus frequency (+-1 Hz),
  bands stacked as channels (the extended SSVEP signal). SSVEP.
- ``cca`` / ``fbcca``: canonical correlation with sine/cosine references at each stimulus
  frequency and its harmonics (``sklearn.cross_decomposition.CCA``), plain or over a filter bank
  (see :mod:`neurorep.evaluation.baselines_ssvep`). SSVEP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.signal import welch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from neurorep.errors import ConfigError, unknown_name_message

__all__ = ["BASELINE_LABELS", "EEG_BANDS", "TASK_BASELINES", "LogBandPower", "make_baseline", "split_features"]

#: Classic EEG bands (Hz): delta, theta, alpha, sigma, beta, low gamma. Bands above the Nyquist
#: rate of the data are dropped; a band that holds no Welch bin takes its nearest bin.
EEG_BANDS: tuple[tuple[float, float], ...] = ((0.5, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0), (16.0, 30.0),
                                               (30.0, 45.0))

#: Table labels of the baselines.
BASELINE_LABELS = {"bandpower_lr": "Band power + LR", "spectral_gb": "Spectral + GB", "csp_lda": "CSP + LDA",
                   "tangent_lr": "Tangent space + LR", "fb_tangent_lr": "Stimulus-band tangent space + LR",
                   "cca": "CCA", "fbcca": "FBCCA"}

#: Baselines that apply to each kind of task (the rows every table of that task must have).
TASK_BASELINES: dict[str, list[str]] = {
    "sleep": ["bandpower_lr", "spectral_gb"],
    "motor": ["bandpower_lr", "csp_lda", "tangent_lr"],
    "ssvep": ["bandpower_lr", "tangent_lr", "fb_tangent_lr", "cca", "fbcca"],
    "clinical": ["bandpower_lr", "spectral_gb"],
    "generic": ["bandpower_lr", "tangent_lr"],
}

_MIN_CHANNELS = {"csp_lda": 2, "tangent_lr": 2}


class LogBandPower(BaseEstimator, TransformerMixin):
    """``X[n, C, T] -> features[n, C * k]``: log mean Welch power in each band, per channel.

    With ``relative=True`` each channel also gets its band powers divided by the total in the
    bands, its log total power and its 95 % spectral edge frequency (Hz).
    """

    stateless = True

    def __init__(self, sfreq: float, bands: Sequence[tuple[float, float]] = EEG_BANDS, relative: bool = False,
                 segment_s: float = 2.0) -> None:
        self.sfreq = sfreq
        self.bands = bands
        self.relative = relative
        self.segment_s = segment_s

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> LogBandPower:  # noqa: N803 - sklearn naming
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:  # noqa: N803 - sklearn naming
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"LogBandPower: expected windows [n, C, T], got shape {X.shape}")
        nperseg = int(min(X.shape[-1], round(self.segment_s * self.sfreq)))
        freqs, psd = welch(X, fs=self.sfreq, nperseg=nperseg, axis=-1)
        masks = band_masks(freqs, self.bands)
        power = np.stack([psd[..., m].mean(-1) for m in masks], axis=-1)  # [n, C, bands]
        eps = 1e-30
        feats = [np.log(power + eps)]
        if self.relative:
            total = power.sum(-1, keepdims=True)
            feats.append(power / (total + eps))
            feats.append(np.log(total + eps))
            cum = np.cumsum(psd, axis=-1)
            edge = (cum >= 0.95 * cum[..., -1:]).argmax(-1)
            feats.append(freqs[edge][..., None])
        return np.concatenate(feats, axis=-1).reshape(len(X), -1)


def band_masks(freqs: np.ndarray, bands: Sequence[tuple[float, float]]) -> list[np.ndarray]:
    """One boolean mask over ``freqs`` per band below the highest frequency; an empty band takes its
    nearest bin."""
    masks = []
    for lo, hi in bands:
        if lo >= freqs[-1]:
            continue
        m = (freqs >= lo) & (freqs < hi)
        if not m.any():
            m = np.zeros(len(freqs), bool)
            m[np.abs(freqs - (lo + hi) / 2).argmin()] = True
        masks.append(m)
    if not masks:
        raise ConfigError(f"band power: no band lies below {freqs[-1]:g} Hz (the Nyquist rate of the data)")
    return masks


class _Float64(BaseEstimator, TransformerMixin):
    """Windows as float64 (MNE's CSP and pyriemann's covariances expect double precision)."""

    stateless = True

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> _Float64:  # noqa: N803
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        return np.asarray(X, dtype=np.float64)


def _logistic() -> LogisticRegression:
    return LogisticRegression(class_weight="balanced", max_iter=2000)


def _bandpower_lr(sfreq: float, bands: Sequence[Sequence[float]] | None = None, **_: Any) -> Pipeline:
    return make_pipeline(LogBandPower(sfreq, _check_bands(bands) if bands is not None else EEG_BANDS), StandardScaler(),
                         _logistic())


def _check_bands(bands: Any) -> tuple[tuple[float, float], ...]:
    """``bands`` option of ``bandpower_lr``: ``[[low, high], ...]`` in Hz with ``0 <= low < high``."""
    try:
        out = tuple((float(lo), float(hi)) for lo, hi in bands)
    except (TypeError, ValueError):
        raise ConfigError(f"classic_options.bands: expected [[low, high], ...] in Hz, got {bands!r}") from None
    if not out or any(not 0 <= lo < hi for lo, hi in out):
        raise ConfigError(f"classic_options.bands: each band needs 0 <= low < high (Hz), got {bands!r}")
    return out


def _spectral_gb(sfreq: float, seed: int = 0, **_: Any) -> Pipeline:
    return make_pipeline(LogBandPower(sfreq, relative=True),
                         HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, min_samples_leaf=5,
                                                        class_weight="balanced", random_state=seed))


def _csp_lda(n_channels: int, **_: Any) -> Pipeline:
    from mne.decoding import CSP
    from mne.utils import use_log_level

    class QuietCSP(CSP):
        """MNE's CSP without the rank and covariance log lines it prints on every fit."""

        def fit(self, X: np.ndarray, y: np.ndarray) -> QuietCSP:
            with use_log_level("warning"):
                return super().fit(X, y)

    return make_pipeline(_Float64(), QuietCSP(n_components=min(4, n_channels), reg="ledoit_wolf", log=True),
                         LinearDiscriminantAnalysis())


def _tangent_lr(**_: Any) -> Pipeline:
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace

    return make_pipeline(_Float64(), Covariances(estimator="oas"), TangentSpace(metric="riemann"), StandardScaler(),
                         _logistic())


def _fb_tangent_lr(sfreq: float, classes: Sequence[str], frequencies: Sequence[float | None] | None = None,
                   **_: Any) -> Pipeline:
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace

    from neurorep.evaluation.baselines_ssvep import StimulusBands, class_frequencies

    freqs = list(frequencies) if frequencies is not None else class_frequencies(classes)
    return make_pipeline(StimulusBands(sfreq, freqs), Covariances(estimator="oas"), TangentSpace(metric="riemann"),
                         StandardScaler(), _logistic())


def _cca(sfreq: float, classes: Sequence[str], frequencies: Sequence[float | None] | None = None,
         n_harmonics: int = 3, **_: Any) -> Pipeline:
    from neurorep.evaluation.baselines_ssvep import ssvep_cca

    return ssvep_cca(sfreq, classes, frequencies=frequencies, n_harmonics=n_harmonics)


def _fbcca(sfreq: float, classes: Sequence[str], frequencies: Sequence[float | None] | None = None,
           n_harmonics: int = 3, n_bands: int = 5, **_: Any) -> Pipeline:
    from neurorep.evaluation.baselines_ssvep import ssvep_cca

    return ssvep_cca(sfreq, classes, frequencies=frequencies, n_harmonics=n_harmonics, n_bands=n_bands)


_BUILDERS: dict[str, Callable[..., BaseEstimator]] = {
    "bandpower_lr": _bandpower_lr, "spectral_gb": _spectral_gb, "csp_lda": _csp_lda, "tangent_lr": _tangent_lr,
    "fb_tangent_lr": _fb_tangent_lr, "cca": _cca, "fbcca": _fbcca}


def check_baseline(name: str, n_channels: int) -> None:
    """Refuse an unknown baseline name, or one the data cannot feed (too few channels)."""
    if name not in _BUILDERS:
        raise ConfigError(unknown_name_message("classic baseline", name, list(_BUILDERS)))
    need = _MIN_CHANNELS.get(name, 1)
    if n_channels < need:
        raise ConfigError(f"classic baseline {name!r} needs at least {need} channels; the data has {n_channels} "
                          "(drop it from `classic`)")


def make_baseline(name: str, sfreq: float, n_channels: int, classes: Sequence[str], seed: int = 0,
                  **options: Any) -> BaseEstimator:
    """A fresh, unfitted baseline ``name`` for windows of ``n_channels`` channels at ``sfreq`` Hz.

    ``options`` go to the SSVEP baselines (``frequencies``: stimulus frequency per class, ``None``
    for a class without one; default: parsed from class names such as ``13Hz``; ``n_harmonics``;
    ``n_bands`` for ``fbcca``) and to ``bandpower_lr`` (``bands``: ``[[low, high], ...]`` in Hz instead
    of :data:`EEG_BANDS`, e.g. mu and beta for motor data).
    """
    check_baseline(name, n_channels)
    return _BUILDERS[name](sfreq=float(sfreq), n_channels=n_channels, classes=list(classes), seed=seed, **options)


def split_features(model: BaseEstimator) -> tuple[Callable[[np.ndarray], np.ndarray] | None, BaseEstimator]:
    """``(features, rest)``: the leading steps of a pipeline that learn nothing from data (band powers,
    filter banks, CCA scores, covariance matrices) as one function, and the rest of the pipeline, so
    features of a window set can be computed once and the rest fitted on several subsets of them.
    ``features`` is ``None`` when no step qualifies."""
    from pyriemann.estimation import Covariances

    if not isinstance(model, Pipeline):
        return None, model
    k = 0
    while k < len(model.steps) - 1 and (getattr(model.steps[k][1], "stateless", False)
                                        or isinstance(model.steps[k][1], Covariances)):
        k += 1
    steps = [step for _, step in model.steps[:k]]

    def features(X: np.ndarray) -> np.ndarray:  # noqa: N803 - sklearn naming
        for step in steps:
            X = step.transform(X)
        return X

    return (features if k else None), Pipeline(model.steps[k:])
