"""Classic baselines that predict something other than one class per window: a ridge map from EEG
features to image embeddings (eeg-image retrieval) and classifiers fitted to vote distributions
(soft labels, HMS-style). Both reuse the band powers of :mod:`neurorep.evaluation.baselines`.

Example::

    ridge = embedding_ridge(sfreq=100.0).fit(x_train, emb_train)     # x [n, C, T], emb [n, E]
    predicted = ridge.predict(x_test)                                # [m, E], compared by cosine

    model = make_soft_baseline("bandpower_lr", sfreq=50.0)
    probs = fit_soft_labels(model, x_train, votes_train).predict_proba(x_test)   # [m, K]

Baselines:

- ``embedding_ridge``: each channel's time course averaged into ``n_bins`` equal bins, plus its log
  band power (Welch), standardised, then ridge regression (``sklearn.linear_model.RidgeCV``, the
  penalty chosen by efficient leave-one-out over ``alphas``) onto the embedding.
- soft ``bandpower_lr``: log band power per channel, standardised, multinomial logistic regression.
- soft ``spectral_gb``: log and relative band power, total power and 95 % spectral edge per channel,
  histogram gradient boosting.

A classifier is fitted to vote distributions by giving each window one weighted copy per class with
a share above zero (weight = the share): the weighted log loss is then the cross-entropy between the
vote distribution and the prediction, so minimising it minimises the KL divergence.
"""

from __future__ import annotations

from collections.abc import Sequence
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from neurorep.errors import ConfigError, DataError, unknown_name_message
from neurorep.evaluation.baselines import LogBandPower, split_features

__all__ = ["SOFT_BASELINE_LABELS", "TimeCourseBins", "embedding_ridge", "fit_soft_labels", "make_soft_baseline",
           "soft_predict_proba"]

#: Table labels of the soft-label baselines.
SOFT_BASELINE_LABELS = {"bandpower_lr": "Band power + LR (votes)", "spectral_gb": "Spectral + GB (votes)"}


class TimeCourseBins(BaseEstimator, TransformerMixin):
    """``X[n, C, T] -> features[n, C * n_bins]``: each channel's mean over ``n_bins`` consecutive,
    (nearly) equal stretches of the window: a downsampled time course. Stateless."""

    stateless = True

    def __init__(self, n_bins: int = 20) -> None:
        self.n_bins = n_bins

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> TimeCourseBins:  # noqa: N803 - sklearn naming
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:  # noqa: N803 - sklearn naming
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"TimeCourseBins: expected windows [n, C, T], got shape {X.shape}")
        edges = np.linspace(0, X.shape[-1], min(self.n_bins, X.shape[-1]) + 1).round().astype(int)
        return (np.add.reduceat(X, edges[:-1], axis=-1) / np.diff(edges)).reshape(len(X), -1)


def embedding_ridge(sfreq: float, n_bins: int = 20, alphas: Sequence[float] | None = None) -> Pipeline:
    """Ridge regression from binned time courses + log band power of each channel to an embedding."""
    alphas = np.logspace(-1, 6, 15) if alphas is None else np.asarray(alphas, dtype=float)
    features = FeatureUnion([("time", TimeCourseBins(n_bins)), ("bands", LogBandPower(sfreq, segment_s=0.5))])
    return make_pipeline(features, StandardScaler(), RidgeCV(alphas=alphas))


def make_soft_baseline(name: str, sfreq: float, seed: int = 0) -> Pipeline:
    """A fresh soft-label baseline ``name`` (``bandpower_lr`` or ``spectral_gb``) for windows at ``sfreq`` Hz."""
    if name == "bandpower_lr":
        return make_pipeline(LogBandPower(sfreq), StandardScaler(), LogisticRegression(max_iter=2000))
    if name == "spectral_gb":
        return make_pipeline(LogBandPower(sfreq, relative=True),
                             HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, min_samples_leaf=10,
                                                            random_state=seed))
    raise ConfigError(unknown_name_message("soft-label baseline", name, list(SOFT_BASELINE_LABELS)))


def fit_soft_labels(model: Pipeline, X: np.ndarray, votes: np.ndarray) -> Pipeline:  # noqa: N803 - sklearn naming
    """Fit ``model`` (a pipeline ending in a classifier) to vote counts or shares ``votes[n, K]``."""
    votes = np.asarray(votes, dtype=np.float64)
    if votes.ndim != 2 or len(votes) != len(X) or (votes < 0).any() or not (votes.sum(1) > 0).all():
        raise DataError(f"soft labels: expected non-negative votes [n={len(X)}, K] with at least one vote per "
                        f"window; got shape {votes.shape}")
    share = votes / votes.sum(1, keepdims=True)
    window, label = np.nonzero(share > 0)
    features, rest = split_features(model)  # rest shares its estimators with model
    feats = X if features is None else features(X)
    if len(rest.steps) > 1:  # scalers etc. see each window once, the classifier its weighted copies
        feats = Pipeline(rest.steps[:-1]).fit_transform(feats)
    rest.steps[-1][1].fit(feats[window], label, sample_weight=share[window, label])
    return model


def soft_predict_proba(model: Pipeline, X: np.ndarray, n_classes: int) -> np.ndarray:  # noqa: N803
    """``[n, n_classes]`` class probabilities of a model fitted by :func:`fit_soft_labels` (a class no
    window voted for gets probability 0)."""
    proba = model.predict_proba(X)
    out = np.zeros((len(X), n_classes))
    out[:, model.classes_.astype(int)] = proba
    return out

