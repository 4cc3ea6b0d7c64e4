"""Classic rows of the kd-sleep benchmark, and record-wise cross-validation folds.

Every benchmark table gets HRV features + logistic regression / gradient boosting
(:mod:`neurorep.evaluation.hrv_baseline`) on the same split as the networks of that seed: fitted on
the labelled epochs of the training and validation subjects (a classic model needs no early
stopping), scored on the test subjects. Features are computed from the student input prepared without
scaling (heart rate in bpm), whose window table must equal the students'. With the students' decision
``prior_match`` (a :class:`PriorMatchRule`) a classic row decides by the same rule: each test recording's
class log-probabilities are shifted towards the class proportions of the epochs it was fitted on
(:func:`neurorep.evaluation.prior_match.prior_match`), so both sides of the comparison decide alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.hrv_baseline import HRV_BASELINES, HRVBaseline
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.prior_match import class_proportions, log_probs, select_bound
from neurorep.evaluation.prior_match import prior_match as prior_match_decisions
from neurorep.fileio import atomic_write_text, json_text
from neurorep.recipes.kd_sleep.config import KDDataConfig
from neurorep.recipes.kd_sleep.data import check_paired, setup_kd_data, unscaled_heart_rate
from neurorep.runs import write_json

__all__ = ["PriorMatchRule", "baseline_rows", "fold_splits", "write_fold_splits"]


@dataclass(frozen=True)
class PriorMatchRule:
    """The students' ``decision: prior_match`` settings, for the classic rows (``bound`` None: chosen)."""

    bound: float | None
    candidates: tuple[float, ...]


def fold_splits(subjects: list[str], folds: int, val_subjects: int = 1, seed: int = 0) -> list[dict[str, list[str]]]:
    """Subject-wise k-fold: fold ``i`` tests on the ``i``-th of ``folds`` groups of a seeded permutation,
    validates on the next ``val_subjects`` subjects after that group (cyclically) and trains on the rest."""
    uniq = sorted(set(subjects))
    if not 2 <= folds <= len(uniq):
        raise ConfigError(f"folds must be between 2 and the number of subjects ({len(uniq)}); got {folds}")
    order = [uniq[i] for i in np.random.default_rng(seed).permutation(len(uniq))]
    groups = [list(g) for g in np.array_split(np.array(order, dtype=object), folds)]
    out = []
    for i, test in enumerate(groups):
        rest = [s for g in groups[i + 1:] + groups[:i] for s in g]
        if val_subjects < 1 or len(rest) - val_subjects < 1:
            raise ConfigError(f"{len(uniq)} subjects in {folds} folds leave {len(rest)} outside a test fold: too few "
                              f"for {val_subjects} validation subject(s) and at least one training subject")
        out.append({"train": sorted(rest[val_subjects:]), "val": sorted(rest[:val_subjects]), "test": sorted(test)})
    return out


def write_fold_splits(subjects: list[str], folds: int, val_subjects: int, out: Path, seed: int = 0) -> list[Path]:
    """Write ``out/seed<k>.json`` for each fold (the split-file format every kd-sleep run reads)."""
    paths = []
    for k, parts in enumerate(fold_splits(subjects, folds, val_subjects, seed)):
        path = out / f"seed{k}.json"
        atomic_write_text(path, json_text(parts, indent=1))
        paths.append(path)
    return paths


def baseline_rows(data_cfg: KDDataConfig, names: list[str], seed: int, out: Path, context: int = 4,
                  feature_cache: dict[str, np.ndarray] | None = None, prior_match: PriorMatchRule | None = None
                  ) -> list[dict[str, Any]]:
    """One table row per classic baseline in ``names`` on the split of ``data_cfg.split_file``; each run's
    metrics go to ``out/<name>_<scheme>_s<seed>/metrics.json``. ``prior_match`` (not None): decide by prior
    matching per test recording, as the students with ``decision: prior_match`` do; a bound left None is
    chosen on leave-one-person-out predictions of the fitted people (the students use their out-of-fold
    predictions the same way)."""
    from neurorep.recipes.kd_sleep.pipeline import summarise

    unknown = [n for n in names if n not in HRV_BASELINES]
    if unknown:
        raise ConfigError(f"baseline {unknown[0]!r} is unknown; choose from {', '.join(HRV_BASELINES)}")
    data = setup_kd_data(data_cfg, need_eeg=False, progress=False)
    raw = unscaled_heart_rate(data_cfg, progress=False)
    check_paired(raw, data.table)
    m = raw.meta
    if len(raw.info.ch_names) != 1:
        raise DataError(f"{raw.path}: HRV baselines need one heart-rate channel, found {raw.info.ch_names}")
    fs = float(raw.info.n_times) / 30.0
    key = str(raw.path)
    feats = None if feature_cache is None else feature_cache.get(key)
    if feats is None:
        rec, local = np.asarray(m["recording"]), np.asarray(m["local"])
        x = np.empty((len(rec), 1, raw.info.n_times), dtype=np.float32)
        for r in np.unique(rec):
            sel = rec == r
            x[sel] = np.asarray(raw.windows(int(r)))[local[sel]]
        feats = HRVBaseline(fs=fs, context=context).transform(x, m["recording"], m["local"])
        if feature_cache is not None:
            feature_cache[key] = feats
    y = np.asarray(data.table.meta["y"])
    fit_rows = np.concatenate([data.split.train, data.split.val])
    test = data.split.test[y[data.split.test] >= 0]
    rows = []
    rec, subj = np.asarray(data.table.meta["recording"]), np.asarray(data.table.meta["subject"])
    fit_lab = fit_rows[y[fit_rows] >= 0]
    for name in names:
        model = HRVBaseline(model=HRV_BASELINES[name][0], fs=fs, context=context, seed=seed)  # type: ignore[arg-type]
        model.fit_features(feats[fit_rows], y[fit_rows])
        decision: dict[str, Any] = {"requested": "argmax"}
        if prior_match is None:
            pred = model.predict_features(feats[test])
        else:
            k = len(data.classes)
            decision = {"requested": "prior_match", "bound": prior_match.bound,
                        "target": class_proportions(y[fit_rows], k).tolist()}
            if prior_match.bound is None:
                oof = model.out_of_fold_proba(feats[fit_lab], y[fit_lab], subj[fit_lab], k)
                decision["bound"], decision["bound_selection"] = select_bound(
                    log_probs(oof), y[fit_lab], rec[fit_lab], subj[fit_lab], prior_match.candidates)
            prob = model.predict_proba_features(feats[test], k)
            pred, _ = prior_match_decisions(log_probs(prob), rec[test], np.asarray(decision["target"]), decision["bound"])
        result = classification_metrics(y[test], pred, data.classes)
        scheme = data_cfg.scheme
        write_json(out / f"{name}_{scheme}_s{seed}" / "metrics.json",
                   {"mode": name, "seed": seed, "scheme": scheme, "split": data.split_subjects, "context": context,
                    "features": list(model.features), "decision": decision, "test": result})
        rows.append({**summarise(name, seed, scheme, result), "label": HRV_BASELINES[name][1]})
    return rows
