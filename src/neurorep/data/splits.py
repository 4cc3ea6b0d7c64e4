"""Subject-wise splits (train/val/test and k-fold), with a check that refuses leakage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurorep.errors import ConfigError, LeakageError


@dataclass(frozen=True)
class Split:
    """Index arrays into a dataset, made so that no subject is on two sides."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def check(self, subjects: np.ndarray) -> None:
        """Raise :class:`LeakageError` if a subject appears in more than one part."""
        check_disjoint_subjects(subjects, {"train": self.train, "val": self.val, "test": self.test})


def check_disjoint_subjects(subjects: np.ndarray, parts: dict[str, np.ndarray], what: str = "subject") -> None:
    """Refuse any split where a group (a subject, or e.g. a concept with ``what="concept"``) sits on two
    sides; names the group and the sides. ``subjects[i]`` is the group of row ``i``."""
    subjects = np.asarray(subjects)
    seen: dict[object, str] = {}
    for name, idx in parts.items():
        for s in np.unique(subjects[idx]).tolist():
            if s in seen and seen[s] != name:
                raise LeakageError(f"{what} {s} is in both the {seen[s]} and the {name} split")
            seen[s] = name


def subject_split(subjects: np.ndarray, val: float = 0.15, test: float = 0.2, seed: int = 0) -> Split:
    """Seeded train/val/test split of windows by subject.

    ``val`` and ``test`` are shares of subjects (at least one subject each when > 0).
    """
    subjects = np.asarray(subjects)
    uniq = np.unique(subjects)
    if not 0 <= val < 1 or not 0 <= test < 1 or val + test >= 1:
        raise ConfigError(f"split shares must be in [0, 1) and sum below 1; got val={val}, test={test}")
    n = len(uniq)
    n_test = max(1, round(test * n)) if test > 0 else 0
    n_val = max(1, round(val * n)) if val > 0 else 0
    if n_test + n_val >= n:
        raise ConfigError(f"{n} subjects are too few for a split with val={val} and test={test}")
    order = np.random.default_rng(seed).permutation(uniq)
    test_s, val_s = set(order[:n_test].tolist()), set(order[n_test:n_test + n_val].tolist())
    idx = np.arange(len(subjects))
    in_test = np.isin(subjects, list(test_s))
    in_val = np.isin(subjects, list(val_s))
    split = Split(train=idx[~in_test & ~in_val], val=idx[in_val], test=idx[in_test])
    split.check(subjects)
    return split


def subject_kfold(subjects: np.ndarray, k: int = 5, val: float = 0.15, seed: int = 0) -> list[Split]:
    """Seeded k-fold over subjects: each fold tests on 1/k of the subjects; val is taken from the rest."""
    subjects = np.asarray(subjects)
    uniq = np.random.default_rng(seed).permutation(np.unique(subjects))
    if k < 2 or k > len(uniq):
        raise ConfigError(f"k must be between 2 and the number of subjects ({len(uniq)}); got {k}")
    folds = np.array_split(uniq, k)
    idx = np.arange(len(subjects))
    out = []
    for f, test_s in enumerate(folds):
        rest = np.concatenate([folds[j] for j in range(k) if j != f])
        n_val = max(1, round(val * len(uniq))) if val > 0 else 0
        val_s = rest[:n_val]
        in_test, in_val = np.isin(subjects, test_s), np.isin(subjects, val_s)
        split = Split(train=idx[~in_test & ~in_val], val=idx[in_val], test=idx[in_test])
        split.check(subjects)
        out.append(split)
    return out


def window_kfold(labels: np.ndarray, k: int = 5, val: float = 0.15, seed: int = 0) -> list[Split]:
    """Seeded stratified k-fold over the labelled windows (``labels >= 0``), for within-subject studies.

    Each fold tests on 1/k of the labelled windows of every class; ``val`` is a stratified share of the
    rest; unlabelled windows (``-1``) are always in the training part (for pretraining). Windows of one
    subject sit on several sides by design, so no leakage check applies: use it only when the windows
    do not overlap in time.
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    labels = np.asarray(labels)
    labelled = np.flatnonzero(labels >= 0)
    counts = np.bincount(labels[labelled]) if len(labelled) else np.zeros(0, int)
    if k < 2 or len(labelled) < k or counts[counts > 0].min() < k:
        raise ConfigError(f"split.by=window: k={k} folds need at least k labelled windows of every class "
                          f"(counts {counts[counts > 0].tolist()}); use fewer folds")
    unlabelled = np.flatnonzero(labels < 0)
    out = []
    for rest, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(labelled, labels[labelled]):
        rest, test = labelled[rest], labelled[test]
        val_idx = np.zeros(0, np.int64)
        if val > 0:
            rest, val_idx = train_test_split(rest, test_size=val, stratify=labels[rest], random_state=seed)
        out.append(Split(train=np.sort(np.concatenate([rest, unlabelled])), val=np.sort(val_idx), test=np.sort(test)))
    return out
