"""One eeg-image run: data -> align the EEG encoder to frozen image embeddings -> zero-shot retrieval -> plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file

from neurorep.encoders.registry import ENCODERS
from neurorep.objectives.registry import OBJECTIVES
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.data import setup_run_data
from neurorep.recipes.eeg_image.evaluate import evaluate_retrieval, retrieval_table
from neurorep.recipes.eeg_image.training import build_models, train
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json
from neurorep.training import seed_everything

__all__ = ["run_eeg_image", "summarise"]


def check_names(cfg: EEGImageConfig) -> None:
    """Fail before any folder is written on unknown encoder or objective names."""
    import neurorep.encoders
    import neurorep.objectives  # noqa: F401

    ENCODERS.check_kwargs(cfg.encoder.name, cfg.encoder.kwargs)
    OBJECTIVES.check_kwargs(cfg.objective.name, cfg.objective.kwargs)
    if cfg.init_from and not Path(cfg.init_from).is_dir():
        from neurorep.errors import ConfigError

        raise ConfigError(f"init_from: {cfg.init_from}: run folder not found")


def run_eeg_image(cfg: EEGImageConfig, out: str | Path, overwrite: bool = False, resume: bool = False) -> dict[str, Any]:
    """Run one configuration into ``out``; returns the metrics (also in ``out/metrics.json``).

    ``out`` gets ``config.yaml``, ``environment.json``, ``metrics.json``, ``train/`` (TensorBoard logs,
    ``metrics.csv``, checkpoints, ``export/{best,final}/{encoder,objective}`` safetensors),
    ``embeddings/test.safetensors`` (aligned EEG embeddings, candidate image embeddings, similarity)
    and ``plots/``.
    """
    check_names(cfg)
    out = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, out, resume)
    finally:
        torch.set_num_threads(threads)


def _run(cfg: EEGImageConfig, out: Path, resume: bool) -> dict[str, Any]:
    seed_everything(cfg.seed)
    data = setup_run_data(cfg, progress=cfg.progress)
    save_run_metadata(out, cfg, data_fingerprint=data.cache.info.key)
    encoder, objective = build_models(cfg, data)
    metrics: dict[str, Any] = {**data.summary, "seed": cfg.seed, "subj_training_ratio": cfg.subj_training_ratio,
                               "separate_test": cfg.separate_test, "init_from": cfg.init_from,
                               "encoder": cfg.encoder.name, "objective": cfg.objective.name}
    metrics["train"] = train(cfg, data, encoder, objective, out / "train", resume)
    seed_everything(cfg.seed)
    result, arrays = evaluate_retrieval(cfg, data, encoder, objective)
    metrics.update(result)
    metrics["summary"] = summarise(metrics)
    folder = out / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / "test.safetensors"),
              metadata={"embedding_model": data.emb.model, "concepts": json.dumps(data.test_concepts),
                        "categories": json.dumps(data.test_categories), "files": json.dumps(data.test_files)})
    write_json(out / "metrics.json", metrics)
    if cfg.plots:
        from neurorep.recipes.eeg_image.plots import plots_from_run

        metrics["plots"] = plots_from_run(out)
        write_json(out / "metrics.json", metrics)
    if cfg.progress:
        print(f"{metrics['setting']}-subject retrieval, test subject {cfg.target_subject} "
              f"(train {cfg.subject_id}, ratio {cfg.subj_training_ratio:g}):")
        print(retrieval_table(metrics["retrieval"]))
    return metrics


def summarise(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat row for result tables: k-way top-k (with chance) and the run's settings."""
    row: dict[str, Any] = {k: metrics.get(k) for k in ("setting", "test_subject", "seed", "subj_training_ratio",
                                                       "n_train")}
    row["train_subjects"] = ",".join(map(str, metrics.get("train_subjects", [])))
    row["init"] = "checkpoint" if metrics.get("init_from") else "scratch"
    for way, m in metrics["retrieval"].items():
        w = way.split("-")[0]
        for key, v in m.items():
            row[f"{key}_{w}"] = v
    for c in metrics.get("repetition_curve", []):
        row[f"top1_{metrics['n_candidates']}@{c['repetitions']}rep"] = c["top1"]
    cats = [m["category_hit"] for m in metrics["per_category"].values() if "category_hit" in m]
    if cats:
        n = [m["n"] for m in metrics["per_category"].values() if "category_hit" in m]
        row["category_hit"] = float(np.average(cats, weights=n))
    row["best_val_loss"] = metrics["train"]["best_val_loss"]
    row["epochs"] = metrics["train"]["epochs"]
    return row
