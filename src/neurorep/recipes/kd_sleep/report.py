"""report.html of the kd-sleep benchmark: tables, comparison figures, confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from neurorep.data.cache import WindowCache
from neurorep.evaluation import plots
from neurorep.evaluation.report import Section, markdown_table, write_report
from neurorep.recipes.base import BenchmarkResults
from neurorep.recipes.kd_sleep.config import KDSleepConfig, default_eeg
from neurorep.recipes.kd_sleep.plots import disagreement_cases, tsne_side_by_side
from neurorep.recipes.kd_sleep.tables import run_of


def _run_dir(results: BenchmarkResults, mode: str, scheme: str, seed: int) -> Path | None:
    run = run_of(results.rows, mode, scheme, seed)
    return None if run is None else results.out / run


def _preds(results: BenchmarkResults, mode: str, scheme: str, seed: int) -> dict[str, np.ndarray] | None:
    run = _run_dir(results, mode, scheme, seed)
    path = None if run is None else run / "predictions" / "test.safetensors"
    return load_file(str(path)) if path is not None and path.is_file() else None


def _cache_of(results: BenchmarkResults, mode: str, scheme: str, seed: int) -> WindowCache | None:
    run = _run_dir(results, mode, scheme, seed)
    if run is None or not (run / "metrics.json").is_file():
        return None
    from neurorep.config import read_yaml, validate
    from neurorep.recipes.kd_sleep.data import setup_kd_data

    cfg = validate(KDSleepConfig, read_yaml(run / "config.yaml"))  # metrics exist, so the caches do too
    return setup_kd_data(cfg.data, need_eeg=False, progress=False).table


def _decision_text(grid: dict[str, Any]) -> str:
    rule = (grid.get("base") or {}).get("decision") or KDSleepConfig.model_fields["decision"].default
    if rule == "argmax":
        return "Students predict the class of highest probability (decision: argmax)."
    if rule == "prior_match":
        bound = (grid.get("base") or {}).get("prior_match_bound", KDSleepConfig.model_fields["prior_match_bound"].default)
        size = (f"at most {bound}" if bound is not None else "bounded by a value chosen per split on out-of-fold "
                "predictions of the training subjects")
        return ("Students and classic rows decide by prior matching (decision: prior_match): each test recording's "
                f"class log-probabilities get offsets ({size}) that bring its predicted stage proportions towards "
                "those of the training subjects, without its labels.")
    need = (grid.get("base") or {}).get("min_val_subjects") or KDSleepConfig.model_fields["min_val_subjects"].default
    if grid.get("folds") and int(grid.get("val_subjects", 1)) < int(need):
        return (f"decision: val_tuned needs {need} validation subjects; each fold has {grid.get('val_subjects', 1)}, "
                "so students predict the class of highest probability.")
    return ("Student decisions use per-class offsets tuned on the validation subjects (weighted F1) where a split "
            f"has at least {need} of them (argmax otherwise; see each run's metrics.json); the teacher keeps argmax.")


def _split_text(grid: dict[str, Any]) -> str:
    if grid.get("folds"):
        return (f"record-wise cross-validation folds (each tests on its own subjects, validates on "
                f"{grid.get('val_subjects', 1)} other subject(s); shared by all modes of that fold)")
    return "seed(s), each drawing its own subject split (shared by all modes of that seed)"


def write_grid_report(results: BenchmarkResults) -> Path:
    """Write ``out/report.html``; returns its path."""
    out, rows, grid, seconds = results.out, results.rows, results.grid, results.seconds
    eeg = ((grid.get("base") or {}).get("data") or {}).get("eeg") or {}
    channels = ", ".join((eeg.get("prepare") or {}).get("channels") or default_eeg().prepare.channels or [])
    sections = [
        Section("Study", text=(
            f"{len(rows)} runs: modes {', '.join(grid['modes'])} x classes {', '.join(grid['schemes'])} x "
            f"{grid['seeds']} {_split_text(grid)}, in {seconds / 60:.1f} min. U-Time on sequences of consecutive 30-s "
            f"epochs; EEG teacher on {channels}, ECG student on the ECG lead (instantaneous heart rate by default). "
            f"{_decision_text(grid)} Classic rows ({', '.join(grid.get('baselines') or [])}): HRV time-domain features "
            "(mean HR, SDNN, RMSSD, z-scored per recording) + logistic regression / gradient boosting, fitted on the "
            "training and validation subjects of the same split. Metrics on the test subjects' labelled epochs, "
            "mean ± sd over splits."),
            table=results.tables["results"]),
        Section("Gain of each student over the ECG-only model", text=(
            "Paired by seed (same split). A gain is clear when it is larger than the seed-to-seed spread."),
            table=results.tables["gains"]),
    ]
    seed = 0
    for scheme in grid["schemes"]:
        runs = {title: _preds(results, mode, scheme, seed) for mode, title in
                (("ecg_base", "ECG base"), ("feat_temp", "KD student (AT+SD+CL)"), ("eeg_base", "EEG teacher"))}
        avail = {k: v for k, v in runs.items() if v is not None}
        cache = _cache_of(results, "ecg_base", scheme, seed)
        classes = _classes(results, scheme, seed)
        if not avail or cache is None or classes is None:
            continue
        figs: list[Any] = [tsne_side_by_side(avail, classes, seed=seed)]
        text = ""
        if runs["ECG base"] is not None and runs["KD student (AT+SD+CL)"] is not None:
            fig, counts = disagreement_cases(runs["ECG base"], runs["KD student (AT+SD+CL)"], cache, classes)
            figs.append(fig)
            text = (f"Test epochs: {counts['epochs']}; KD right where the ECG base is wrong: "
                    f"{counts['kd_right_base_wrong']}; the reverse: {counts['base_right_kd_wrong']}. Most frequent "
                    f"fixes (true stage, base's prediction): {counts['kd_fixes']}.")
        for title, arr in avail.items():
            lab = arr["y"] >= 0
            from neurorep.evaluation.metrics import classification_metrics

            cm = np.asarray(classification_metrics(arr["y"][lab], arr["pred"][lab], classes)["confusion"])
            figs.append(plots.confusion_matrix_plot(cm, classes, normalize=True, title=f"{title} ({scheme})"))
        sections.append(Section(f"{scheme}, seed {seed}: bottleneck features, disagreements, confusions", text=text,
                                figures=figs))
    per_class = [{("F1 " + k[3:] if k.startswith("f1_") else k): v for k, v in r.items()
                  if k in ("scheme", "mode", "seed") or k.startswith("f1_")} for r in rows]
    sections.append(Section("Per-class F1 of every run", table=markdown_table(per_class, floatfmt=".3f")))
    return write_report(out / "report.html", "neurorep kd-sleep benchmark", sections)


def _classes(results: BenchmarkResults, scheme: str, seed: int) -> list[str] | None:
    import json

    run = _run_dir(results, "ecg_base", scheme, seed)
    m = None if run is None else run / "metrics.json"
    return list(json.loads(m.read_text())["classes"]) if m is not None and m.is_file() else None
