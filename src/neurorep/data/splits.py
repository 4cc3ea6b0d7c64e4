"""The one split helper: train/val/test or k folds by subject, session or recording, or a split file,
with a check that refuses leakage.

:func:`make_splits` groups the rows of a cache (windows) by subject, session or recording, and puts
whole groups on one side: seeded shares (``val``, ``test``), ``folds`` (k-fold over groups) or a
split file (JSON, ``{"train": [ids], "val": [ids], "test": [ids]}`` or ``{id: part}``). Every split
is checked before it is returned:

- no group on two sides (:class:`~neurorep.errors.LeakageError` naming the group and the sides);
- groups named in ``keep_apart`` (e.g. subjects when splitting by recording) never on both the
  training side (train + val) and a test side;
- no two recordings with the same content fingerprint on two sides (the same file filed twice, under
  two subjects or twice under one); the error names both files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from neurorep.errors import ConfigError, DataError, LeakageError

if TYPE_CHECKING:
    from neurorep.data.cache import WindowCache

SplitBy = Literal["subject", "session", "recording"]
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Index arrays into a dataset; ``test_parts`` names subsets of ``test`` (e.g. several test folders)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_parts: dict[str, np.ndarray] = field(default_factory=dict)

    def check(self, subjects: np.ndarray) -> None:
        """Raise :class:`LeakageError` if a subject appears in more than one part."""
        check_disjoint_subjects(subjects, {"train": self.train, "val": self.val, "test": self.test})


@dataclass(frozen=True)
class SplitTable:
    """What a split needs to know of each row: its subject, session and recording, and each recording's
    source file and content fingerprint (``None`` where unknown)."""

    subject: np.ndarray
    session: np.ndarray
    recording: np.ndarray
    names: dict[str, list[Any]] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)
    fingerprints: dict[int, str | None] = field(default_factory=dict)

    @classmethod
    def of_cache(cls, cache: WindowCache) -> SplitTable:
        """The table of a window cache (subject codes index ``cache.info.subjects``)."""
        m = cache.meta
        recs = {r.id: r for r in cache.info.recordings}
        rec = m["recording"].astype(np.int64)
        subject = m["subject"].astype(np.int64)
        sessions = sorted({f"{r.subject}/{r.session}" for r in recs.values()})
        code = {s: i for i, s in enumerate(sessions)}
        per_rec = {i: code[f"{r.subject}/{r.session}"] for i, r in recs.items()}
        session = np.array([per_rec[int(r)] for r in rec], dtype=np.int64) if len(rec) else np.zeros(0, np.int64)
        return cls(subject, session, rec, {"subject": list(cache.info.subjects), "session": sessions,
                                           "recording": sorted(recs)},
                   {i: r.source for i, r in recs.items()}, {i: r.fingerprint for i, r in recs.items()})

    @classmethod
    def of_subjects(cls, subjects: np.ndarray, recording: np.ndarray | None = None) -> SplitTable:
        """A table from per-row subject codes (and recording ids, default: one recording per subject)."""
        subjects = np.asarray(subjects)
        rec = subjects if recording is None else np.asarray(recording)
        return cls(subjects, subjects, rec)

    def groups(self, by: str) -> np.ndarray:
        if by not in ("subject", "session", "recording"):
            raise ConfigError(f"split.by: expected subject, session or recording; got {by!r}")
        return {"subject": self.subject, "session": self.session, "recording": self.recording}[by]

    def code_of(self, by: str, name: Any, path: Path) -> Any:
        """The group code of ``name`` as a split file spells it (the group's name, or its code)."""
        names = self.names.get(by)
        if by == "recording" and isinstance(name, str) and name.isdigit():  # a JSON object key
            name = int(name)
        if names is not None and name in names:
            return names.index(name) if by != "recording" else name
        if names is None and name in set(self.groups(by).tolist()):
            return name
        raise DataError(f"{path}: {by} {name!r} is not in the data")


def make_splits(data: WindowCache | SplitTable | np.ndarray, by: str = "subject", val: float = 0.15,
                test: float = 0.2, folds: int | None = None, split_file: str | Path | None = None, seed: int = 0,
                parts: Mapping[Any, str] | None = None, stratify: Mapping[Any, Any] | None = None,
                keep_apart: Sequence[str] = (), repeats: int = 1) -> list[Split]:
    """Splits of ``data`` (a cache, a :class:`SplitTable`, or per-row subject codes) by ``by`` groups.

    Args:
        by: ``subject``, ``session`` or ``recording``: whole groups go to one side; ``window``: a
            stratified k-fold over the labelled windows of ``data`` (a cache, or labels), see
            :func:`window_kfold`.
        val, test: shares of groups (at least one group each when > 0); with ``folds``, ``val`` is taken
            from the groups outside the test fold; with a split file or ``parts`` that has no ``val``
            part, ``val`` is the share of the training groups held out (per stratum of ``stratify``).
        folds: k-fold over groups instead of one split (returns k splits).
        split_file: a JSON split file (read and validated); it fixes the sides (``seed`` only draws ``val``
            when the file has no ``val`` part).
        parts: the same as a split file's content, given in memory (group code -> part name).
        stratify: group code -> stratum, for drawing ``val`` from training groups per stratum.
        keep_apart: further groups (``subject``, ``session``) that may not be on both the training side
            (train + val) and the test side.
        repeats: with ``by="window"``, the k-fold repeated with fresh shuffles (``repeats * folds`` splits).
    """
    if repeats != 1 and by != "window":
        raise ConfigError(f"split.repeats={repeats} needs split.by=window (repeated k-fold over the labelled "
                          "windows); group splits are not repeated")
    if by == "window":  # within-subject: windows, not groups, are split (no group check applies)
        if not folds or split_file is not None or parts is not None:
            raise ConfigError("split.by=window needs split.folds (a stratified k-fold over the labelled windows) "
                              "and no split file")
        if isinstance(data, SplitTable):
            raise ConfigError("split.by=window splits a cache's labelled windows, not a table of groups")
        labels = data if isinstance(data, np.ndarray) else data.meta["y"]
        return window_kfold(np.asarray(labels, dtype=np.int64), k=folds, val=val, seed=seed, repeats=repeats)
    table = data if isinstance(data, SplitTable) else (
        SplitTable.of_subjects(data) if isinstance(data, np.ndarray) else SplitTable.of_cache(data))
    groups = table.groups(by)
    if folds and (split_file is not None or parts is not None):
        raise ConfigError("split.folds and a given split (split.file) exclude each other; set one of them")
    if split_file is not None:
        path = Path(split_file)
        parts = {table.code_of(by, k, path): v for k, v in read_split_file(path).items()}
        named = set(parts.values())
        if "train" not in named or not any(p.startswith("test") for p in named):
            raise DataError(f"{path}: a split file needs a train and a test part; got {', '.join(sorted(named))}")
    if parts is not None:
        splits = [_assigned(groups, parts, val, seed, stratify)]
    elif folds:
        splits = _kfold(groups, folds, val, seed)
    else:
        splits = [_shares(groups, val, test, seed)]
    for s in splits:
        check_split(table, s, by, keep_apart)
    return splits


def split_groups(data: WindowCache | SplitTable, split: Split, by: str = "subject") -> dict[str, list[Any]]:
    """The ``by`` groups (names) of each side of ``split``, sorted: what a split file of it would hold."""
    table = data if isinstance(data, SplitTable) else SplitTable.of_cache(data)
    named = _named(table, by)
    return {k: sorted(set(named[getattr(split, k)].tolist())) for k in PARTS}


def _shares(groups: np.ndarray, val: float, test: float, seed: int) -> Split:
    uniq = np.unique(groups)
    if not 0 <= val < 1 or not 0 <= test < 1 or val + test >= 1:
        raise ConfigError(f"split shares must be in [0, 1) and sum below 1; got val={val}, test={test}")
    n = len(uniq)
    n_test = max(1, round(test * n)) if test > 0 else 0
    n_val = max(1, round(val * n)) if val > 0 else 0
    if n_test + n_val >= n:
        raise ConfigError(f"{n} groups are too few for a split with val={val} and test={test}")
    order = np.random.default_rng(seed).permutation(uniq)
    return _from_groups(groups, order[n_test:n_test + n_val], order[:n_test])


def _kfold(groups: np.ndarray, k: int, val: float, seed: int) -> list[Split]:
    uniq = np.random.default_rng(seed).permutation(np.unique(groups))
    if k < 2 or k > len(uniq):
        raise ConfigError(f"split.folds must be between 2 and the number of groups ({len(uniq)}); got {k}")
    chunks = np.array_split(uniq, k)
    n_val = max(1, round(val * len(uniq))) if val > 0 else 0
    out = []
    for f, test_g in enumerate(chunks):
        rest = np.concatenate([chunks[j] for j in range(k) if j != f])
        out.append(_from_groups(groups, rest[:n_val], test_g))
    return out


def _from_groups(groups: np.ndarray, val_g: np.ndarray, test_g: np.ndarray) -> Split:
    idx = np.arange(len(groups))
    in_test, in_val = np.isin(groups, test_g), np.isin(groups, val_g)
    return Split(train=idx[~in_test & ~in_val], val=idx[in_val], test=idx[in_test])


def _assigned(groups: np.ndarray, parts: Mapping[Any, str], val: float, seed: int,
              stratify: Mapping[Any, Any] | None) -> Split:
    """A split fixed by ``parts`` (group -> part); groups not named are left out. Without a ``val`` part,
    ``val`` of the training groups of each stratum (seeded) are held out for validation."""
    names = set(parts.values())
    if "train" not in names or not any(p.startswith("test") for p in names):
        raise ConfigError(f"a split needs a train and a test part; got {', '.join(sorted(names))}")
    val_g: list[Any] = [g for g, p in parts.items() if p == "val"]
    if not val_g and val > 0:
        rng = np.random.default_rng(seed)
        train_g = [g for g, p in parts.items() if p == "train"]
        strata = {g: (stratify or {}).get(g, 0) for g in train_g}
        for s in sorted(set(strata.values())):
            ids = sorted(g for g in train_g if strata[g] == s)
            k = max(1, int(round(val * len(ids)))) if len(ids) > 1 else 0
            val_g += rng.choice(ids, size=k, replace=False).tolist() if k else []
    idx = np.arange(len(groups))
    part_of = np.array([parts.get(g, "") for g in groups.tolist()], dtype=object)
    is_val = np.isin(groups, val_g) if val_g else np.zeros(len(groups), bool)
    is_test = np.array([p.startswith("test") for p in part_of], dtype=bool)
    test_parts = {p: idx[part_of == p] for p in sorted(names) if p.startswith("test")}
    return Split(idx[(part_of == "train") & ~is_val], idx[is_val], idx[is_test], test_parts)


def read_split_file(path: str | Path) -> dict[Any, str]:
    """Group id -> part of a JSON split file, either ``{"train": [ids], "val": [ids], "test": [ids]}``
    (``test1``, ``test2`` ... allowed) or ``{id: part}``; a :class:`DataError` names the file otherwise."""
    path = Path(path)
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: split file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a JSON split file ({exc})") from None
    if not isinstance(body, dict) or not body:
        raise DataError(f"{path}: expected a JSON object of parts (train, val, test) and their ids")
    if all(isinstance(v, list) for v in body.values()):
        bad = [k for k in body if k not in PARTS and not k.startswith("test")]
        if bad:
            raise DataError(f"{path}: unknown part {bad[0]!r}; expected train, val, test (or test1, test2 ...)")
        out: dict[Any, str] = {}
        for part, ids in body.items():
            for g in ids:
                if g in out:
                    raise LeakageError(f"{path}: {g!r} is in both the {out[g]} and the {part} split")
                out[g] = part
        return out
    if all(isinstance(v, str) for v in body.values()):
        bad = [v for v in body.values() if v not in PARTS and not v.startswith("test")]
        if bad:
            raise DataError(f"{path}: unknown part {bad[0]!r}; expected train, val, test (or test1, test2 ...)")
        return dict(body)
    raise DataError(f"{path}: expected {{part: [ids]}} or {{id: part}}")


def check_split(table: SplitTable, split: Split, by: str = "subject", keep_apart: Sequence[str] = ()) -> None:
    """Refuse a split with a ``by`` group on two sides, a ``keep_apart`` group on the training and the test
    side, or the same recording content (fingerprint) on two sides."""
    sides = {"train": split.train, "val": split.val, "test": split.test}
    check_disjoint_subjects(_named(table, by), sides, what=by)
    for kind in keep_apart:
        check_disjoint_subjects(_named(table, kind), {"train": np.concatenate([split.train, split.val]),
                                                      "test": split.test}, what=kind)
    seen: dict[str, tuple[str, int]] = {}
    for side, idx in sides.items():
        for r in np.unique(table.recording[idx]).tolist():
            fp = table.fingerprints.get(r)
            if fp is None:
                continue
            if fp in seen and seen[fp][0] != side:
                other = seen[fp][1]
                raise LeakageError(f"the same recording content is in the {seen[fp][0]} split "
                                   f"({table.sources.get(other, other)}) and the {side} split "
                                   f"({table.sources.get(r, r)})")
            seen.setdefault(fp, (side, r))


def _named(table: SplitTable, by: str) -> np.ndarray:
    groups = table.groups(by)
    names = table.names.get(by)
    if names is None or by == "recording":
        return groups
    return np.asarray(names, dtype=object)[groups] if len(groups) else groups


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


def window_kfold(labels: np.ndarray, k: int = 5, val: float = 0.15, seed: int = 0, repeats: int = 1) -> list[Split]:
    """Seeded stratified k-fold over the labelled windows (``labels >= 0``), for within-subject studies.

    Each fold tests on 1/k of the labelled windows of every class; ``val`` is a stratified share of the
    rest; unlabelled windows (``-1``) are always in the training part (for pretraining). Windows of one
    subject sit on several sides by design, so no leakage check applies: use it only when the windows
    do not overlap in time. ``repeats > 1`` repeats the k-fold with fresh shuffles
    (``sklearn.model_selection.RepeatedStratifiedKFold``): ``repeats * k`` splits, every labelled window
    tested once per repeat; its first repeat is the ``repeats=1`` k-fold.
    """
    from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

    labels = np.asarray(labels)
    labelled = np.flatnonzero(labels >= 0)
    counts = np.bincount(labels[labelled]) if len(labelled) else np.zeros(0, int)
    if k < 2 or len(labelled) < k or counts[counts > 0].min() < k:
        raise ConfigError(f"split.by=window: k={k} folds need at least k labelled windows of every class "
                          f"(counts {counts[counts > 0].tolist()}); use fewer folds")
    unlabelled = np.flatnonzero(labels < 0)
    out = []
    if not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"split.repeats must be a whole number >= 1, got {repeats!r}")
    folds = RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
    for rest, test in folds.split(labelled, labels[labelled]):
        rest, test = labelled[rest], labelled[test]
        val_idx = np.zeros(0, np.int64)
        if val > 0:
            rest, val_idx = train_test_split(rest, test_size=val, stratify=labels[rest], random_state=seed)
        out.append(Split(train=np.sort(np.concatenate([rest, unlabelled])), val=np.sort(val_idx), test=np.sort(test)))
    return out
