"""Classic heart-rate sleep-staging baseline: HRV time-domain features + logistic regression / boosting.

Input is a night cut into 30-s windows of instantaneous heart rate (IHR, bpm, e.g. the 4-Hz series of
:mod:`neurorep.data.heart_rate`, unscaled). For each window the beats are recovered from the rate
(a beat each time the integral of ``IHR / 60`` crosses an integer, which inverts the
``60 / RR``-at-each-beat construction up to the interpolation), the RR intervals of the window and
``context`` windows on either side are handed to :func:`neurokit2.hrv_time`, and the chosen indices
(mean heart rate, SDNN, RMSSD by default) become the window's features. Features are z-scored within
each recording by default (heart-rate levels differ far more between people than between stages), then
a scikit-learn classifier is fitted: ``lr`` (standardised logistic regression) or ``gb``
(histogram gradient boosting), both class-balanced by default.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from neurorep.errors import ConfigError, DataError

__all__ = ["HRV_BASELINES", "HRVBaseline", "beats_from_ihr", "hrv_window_features"]

#: baseline name -> (classifier, table label)
HRV_BASELINES = {"hrv_lr": ("lr", "HRV features + LR (classic)"), "hrv_gb": ("gb", "HRV features + GB (classic)")}
#: feature name -> neurokit2 column (``MeanHR`` is ``60000 / HRV_MeanNN``)
FEATURES = {"MeanHR": "HRV_MeanNN", "SDNN": "HRV_SDNN", "RMSSD": "HRV_RMSSD", "pNN50": "HRV_pNN50",
            "MedianNN": "HRV_MedianNN", "IQRNN": "HRV_IQRNN", "CVSD": "HRV_CVSD"}
DEFAULT_FEATURES = ("MeanHR", "SDNN", "RMSSD")


def beats_from_ihr(ihr: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """RR intervals (ms) and their end times (s) of the beats implied by a heart-rate series ``ihr`` (bpm)."""
    rate = np.asarray(ihr, dtype=np.float64).reshape(-1)
    if rate.size < 2 or not np.isfinite(rate).all() or (rate <= 0).any():
        raise DataError("heart rate must be a finite, positive series of at least 2 samples")
    phase = np.concatenate([[0.0], np.cumsum(rate / 60.0 / fs)])  # beats elapsed at each sample edge
    t = np.arange(phase.size) / fs
    k = np.arange(1, int(np.floor(phase[-1])) + 1)
    times = np.interp(k, phase, t)
    return np.diff(times) * 1000.0, times[1:]


def hrv_window_features(ihr: np.ndarray, recording: np.ndarray, local: np.ndarray, fs: float, context: int = 4,
                        features: tuple[str, ...] = DEFAULT_FEATURES) -> np.ndarray:
    """Features ``[N, F]`` of ``N`` windows of heart rate ``ihr [N, T]`` (or ``[N, 1, T]``, bpm).

    ``recording [N]`` and ``local [N]`` (position in the night) say which windows are neighbours: each
    window's features use the RR intervals of itself and ``context`` windows either side of the same
    recording.
    """
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features:
        raise ConfigError(f"HRV feature {unknown[0] if unknown else '(none)'!r} is unknown; choose from "
                          f"{', '.join(FEATURES)}")
    x = np.asarray(ihr, dtype=np.float64)
    if x.ndim == 3:
        if x.shape[1] != 1:
            raise DataError(f"expected one heart-rate channel, got {x.shape[1]}")
        x = x[:, 0]
    rec, loc = np.asarray(recording), np.asarray(local)
    if x.ndim != 2 or len(rec) != len(x) or len(loc) != len(x):
        raise DataError(f"expected ihr [N, T] with recording and local [N]; got {x.shape}, {rec.shape}, {loc.shape}")
    import neurokit2 as nk

    out = np.zeros((len(x), len(features)))
    cols = [FEATURES[f] for f in features]
    for r in np.unique(rec):
        rows = np.flatnonzero(rec == r)
        rows = rows[np.argsort(loc[rows])]
        for j, row in enumerate(rows):
            seg = x[rows[max(j - context, 0): j + context + 1]].reshape(-1)
            rri, times = beats_from_ihr(seg, fs)
            if rri.size < 4:
                raise DataError(f"recording {r}: too few beats around window {loc[row]} for HRV features")
            with warnings.catch_warnings():  # neurokit2 warns about indices that need longer segments
                warnings.simplefilter("ignore")
                df = nk.hrv_time({"RRI": rri, "RRI_Time": times})
            vals = df[cols].to_numpy(dtype=np.float64)[0]
            out[row] = vals
    if "MeanHR" in features:
        i = features.index("MeanHR")
        out[:, i] = 60000.0 / out[:, i]
    return out


def _zscore_per_recording(f: np.ndarray, recording: np.ndarray) -> np.ndarray:
    out = np.empty_like(f)
    for r in np.unique(recording):
        m = recording == r
        sd = f[m].std(0)
        out[m] = (f[m] - f[m].mean(0)) / np.where(sd > 0, sd, 1.0)
    return out


class HRVBaseline:
    """HRV features + a scikit-learn classifier, fitted and applied on windows of heart rate.

    Args:
        model: ``lr`` (standardised logistic regression) or ``gb`` (histogram gradient boosting).
        fs: sampling rate of the heart-rate windows (Hz).
        context: windows on either side whose beats join a window's features (4: a 4.5-min span).
        normalize: ``recording`` z-scores every feature within its recording; ``none`` keeps raw units.
        balanced: weight classes inversely to their frequency when fitting.
    """

    def __init__(self, model: Literal["lr", "gb"] = "lr", fs: float = 4.0, context: int = 4,
                 features: tuple[str, ...] = DEFAULT_FEATURES, normalize: Literal["recording", "none"] = "recording",
                 balanced: bool = True, seed: int = 0) -> None:
        if model not in ("lr", "gb"):
            raise ConfigError(f"HRV baseline model {model!r} is unknown; choose lr or gb")
        if normalize not in ("recording", "none"):
            raise ConfigError(f"HRV baseline normalize {normalize!r} is unknown; choose recording or none")
        if context < 0 or fs <= 0:
            raise ConfigError(f"need context >= 0 and fs > 0; got {context}, {fs}")
        self.model, self.fs, self.context, self.features = model, float(fs), int(context), tuple(features)
        self.normalize, self.balanced, self.seed = normalize, bool(balanced), int(seed)
        self.clf: ClassifierMixin | None = None

    def transform(self, ihr: np.ndarray, recording: np.ndarray, local: np.ndarray) -> np.ndarray:
        """Features ``[N, F]`` of every window (normalised as configured)."""
        f = hrv_window_features(ihr, recording, local, self.fs, self.context, self.features)
        return _zscore_per_recording(f, np.asarray(recording)) if self.normalize == "recording" else f

    def _new(self) -> ClassifierMixin:
        cw = "balanced" if self.balanced else None
        if self.model == "lr":
            return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight=cw))
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                              class_weight=cw, random_state=self.seed)

    def fit_features(self, feats: np.ndarray, y: np.ndarray) -> HRVBaseline:
        """Fit on precomputed features of labelled windows (``y >= 0``; ``-1`` rows are ignored)."""
        y = np.asarray(y)
        keep = y >= 0
        if keep.sum() == 0 or len(np.unique(y[keep])) < 2:
            raise DataError("the HRV baseline needs labelled windows of at least two classes to fit")
        with threadpool_limits(limits=1):  # a few thousand rows: threads only add contention
            self.clf = self._new().fit(feats[keep], y[keep])
        return self

    def predict_features(self, feats: np.ndarray) -> np.ndarray:
        if self.clf is None:
            raise ConfigError("the HRV baseline is not fitted; call fit first")
        with threadpool_limits(limits=1):
            return np.asarray(self.clf.predict(feats))

    def predict_proba_features(self, feats: np.ndarray, n_classes: int | None = None) -> np.ndarray:
        """Class probabilities ``[N, K]``, column ``c`` for class index ``c`` (``K = n_classes``, default one
        past the largest class seen when fitting; classes absent from the fit get probability 0)."""
        if self.clf is None:
            raise ConfigError("the HRV baseline is not fitted; call fit first")
        seen = np.asarray(self.clf.classes_, dtype=np.int64)
        with threadpool_limits(limits=1):
            prob = np.asarray(self.clf.predict_proba(feats))
        out = np.zeros((len(prob), int(seen.max()) + 1 if n_classes is None else n_classes))
        out[:, seen] = prob
        return out

    def out_of_fold_proba(self, feats: np.ndarray, y: np.ndarray, groups: np.ndarray,
                          n_classes: int | None = None) -> np.ndarray:
        """Class probabilities ``[N, K]`` of labelled windows, each from a model fitted without its group
        (leave one group, e.g. one person, out; ``K = n_classes``, default the classes of ``y``). Leaves this
        model as it is."""
        y, groups = np.asarray(y), np.asarray(groups)
        out = np.zeros((len(y), int(y.max()) + 1 if n_classes is None else n_classes))
        for g in np.unique(groups):
            m = groups == g
            inner = HRVBaseline(self.model, self.fs, self.context, self.features, self.normalize, self.balanced,  # type: ignore[arg-type]
                                self.seed).fit_features(feats[~m], y[~m])
            out[m] = inner.predict_proba_features(feats[m], out.shape[1])
        return out

    def fit(self, ihr: np.ndarray, y: np.ndarray, recording: np.ndarray, local: np.ndarray) -> HRVBaseline:
        return self.fit_features(self.transform(ihr, recording, local), y)

    def predict(self, ihr: np.ndarray, recording: np.ndarray, local: np.ndarray) -> np.ndarray:
        return self.predict_features(self.transform(ihr, recording, local))
