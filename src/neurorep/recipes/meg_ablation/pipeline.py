"""One meg-ablation run: pretrain the enabled parts -> train end to end -> macro-F1 on the test folder(s).

Pretraining order and what is kept (each stage initialises only its matching part):

1. ``denoising`` and/or ``masked_sensor`` (both: one stage, the sum of the two losses) train the
   spatial part (CNN) of the encoder; the sequence part is frozen and left as it was.
2. ``masked_sequence`` trains the sequence part (transformer) over the spatial features of the
   current CNN, which is frozen; afterwards the spatial part (weights and BatchNorm statistics)
   is restored exactly, so only the transformer carries over.

The decoders and mask vectors of the objectives are dropped. Then the whole model (encoder +
linear head) is trained with class-weighted cross-entropy, early-stopped on the validation
recordings, and scored on every test window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from torch.utils.data import DataLoader, RandomSampler

from neurorep.data.cache import WindowCache
from neurorep.data.dataset import WindowDataset
from neurorep.encoders import Encoder, create_encoder
from neurorep.encoders.meg_cnn_transformer import PARTS, set_part_trainable
from neurorep.encoders.registry import ENCODERS
from neurorep.errors import ConfigError
from neurorep.evaluation.metrics import classification_metrics
from neurorep.objectives import create_objective
from neurorep.objectives.composite import SumObjective
from neurorep.recipes.meg_ablation.config import (
    OBJECTIVE_OF,
    PART_OF,
    MegAblationConfig,
)
from neurorep.recipes.meg_ablation.data import setup_meg, split_windows
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json
from neurorep.training import (
    PretrainModule,
    build_trainer,
    class_weights_from_labels,
    fit,
    predict,
    seed_everything,
)
from neurorep.training.classifier import ClassifierModule
from neurorep.recipes.base import RunPlots


def loader(ds: WindowDataset, batch_size: int, shuffle: bool, num_samples: int | None = None,
           num_workers: int = 0) -> DataLoader:
    """Batches of dict samples read from the memory-mapped cache; ``num_samples`` caps an epoch."""
    if not shuffle:
        return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    n = num_samples or len(ds)
    sampler = RandomSampler(ds, replacement=n > len(ds), num_samples=n)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      drop_last=n >= 2 * batch_size)


def build_encoder(cfg: MegAblationConfig, cache: WindowCache) -> Encoder:
    kwargs = {"n_channels": cache.info.n_channels, "n_times": cache.info.n_times, **cfg.encoder.kwargs}
    return create_encoder(cfg.encoder.name, **kwargs)


def pretrain_stage(cfg: MegAblationConfig, encoder: Encoder, names: list[str], train: WindowDataset,
                   val: WindowDataset | None, out: Path, resume: bool) -> dict[str, Any]:
    """Train the part of ``encoder`` that ``names`` (objectives of one part) initialise; keep only that part."""
    part = PART_OF[names[0]]
    other = "sequence" if part == "spatial" else "spatial"
    before = {k: v.detach().clone() for k, v in encoder.state_dict().items()}
    objectives = {n: create_objective(OBJECTIVE_OF[n], **cfg.objectives.get(n, {})) for n in names}
    objective = objectives[names[0]] if len(names) == 1 else SumObjective(objectives)
    set_part_trainable(encoder, other, False)
    p = cfg.pretrain
    module = PretrainModule(encoder, objective, lr=p.lr, weight_decay=p.weight_decay, warmup_epochs=p.warmup_epochs,
                            max_epochs=p.epochs)
    monitor = "val/loss" if val is not None else None
    trainer = build_trainer(out, max_epochs=p.epochs, monitor=monitor, patience=p.patience, progress=cfg.progress)
    res = fit(module, loader(train, p.batch_size, True, p.max_windows, p.num_workers),
              loader(val, p.batch_size, False, num_workers=p.num_workers) if val is not None else None, trainer,
              ckpt_path="last" if resume else None, restore_best=val is not None)
    set_part_trainable(encoder, other, True)
    state = encoder.state_dict()
    keep = {k: (v if k.startswith(PARTS[part]) else before[k]) for k, v in state.items()}
    encoder.load_state_dict(keep, strict=True)
    return {"objectives": names, "part": part, "best_val_loss": res.best_score, "epochs": trainer.current_epoch}


def finetune(cfg: MegAblationConfig, encoder: Encoder, train: WindowDataset, val: WindowDataset | None,
             out: Path, resume: bool, classes: list[str]) -> ClassifierModule:
    """Train encoder + linear head end to end (class-weighted cross-entropy); best validation epoch kept."""
    f = cfg.finetune
    weights = class_weights_from_labels(torch.as_tensor(train.labels), len(classes))
    module = ClassifierModule(encoder, len(classes), lr=f.lr, weight_decay=f.weight_decay,
                              warmup_epochs=f.warmup_epochs, class_weights=weights,
                              encoder_lr_scale=cfg.encoder_lr_scale, class_names=classes, max_epochs=f.epochs)
    monitor = "val/loss" if val is not None else None
    trainer = build_trainer(out, max_epochs=f.epochs, monitor=monitor, patience=f.patience, progress=cfg.progress)
    fit(module, loader(train, f.batch_size, True, f.max_windows, f.num_workers),
        loader(val, f.batch_size, False) if val is not None else None, trainer,
        ckpt_path="last" if resume else None, restore_best=val is not None)
    return module


def check_names(cfg: MegAblationConfig) -> None:
    """Fail early (before any folder is written) on an unknown encoder or one lacking the two parts."""
    cls = ENCODERS.get(cfg.encoder.name)
    if cfg.pretraining.enabled() and not cls.supports("spatial_sequence"):
        raise ConfigError(f"encoder: {cfg.encoder.name!r} has no spatial/sequence parts; part-wise pretraining "
                          "needs one that has (e.g. meg_cnn_transformer)")


def run_meg_ablation(cfg: MegAblationConfig, out: Path, overwrite: bool = False, resume: bool = False,
                     cache: WindowCache | None = None) -> dict[str, Any]:
    """Run one configuration and write its folder; returns the metrics (also in ``metrics.json``)."""
    check_names(cfg)
    cache = cache or setup_meg(cfg.data, cfg.setting, progress=cfg.progress)
    split = split_windows(cache, cfg.data.val_fraction, cfg.seed, cross=cfg.setting == "cross")
    out = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    save_run_metadata(out, cfg, data_fingerprint=cache.info.key)
    seed_everything(cfg.seed)
    classes = cache.classes
    train = WindowDataset(cache, split.train)
    val = WindowDataset(cache, split.val) if len(split.val) else None
    encoder = build_encoder(cfg, cache)
    enabled = cfg.pretraining.enabled()
    metrics: dict[str, Any] = {
        "setting": cfg.setting, "seed": cfg.seed, "pretraining": {k: k in enabled for k in OBJECTIVE_OF},
        "classes": classes, "n_train": len(train), "n_val": len(split.val), "n_test": len(split.test),
        "n_params": sum(p.numel() for p in encoder.parameters()), "pretrain": []}
    spatial = [n for n in enabled if PART_OF[n] == "spatial"]
    stages = [s for s in (spatial, [n for n in enabled if PART_OF[n] == "sequence"]) if s]
    for k, names in enumerate(stages):
        metrics["pretrain"].append(pretrain_stage(cfg, encoder, names, train, val,
                                                  out / f"pretrain_{k + 1}_{'+'.join(names)}", resume))
    seed_everything(cfg.seed + 1)
    module = finetune(cfg, encoder, train, val, out / "finetune", resume, classes)
    logits, y = predict(module, loader(WindowDataset(cache, split.test), 256, False))
    y_pred = logits.argmax(1)
    metrics["test"] = classification_metrics(y, y_pred, classes)
    metrics["test_parts"] = {}
    for name, idx in split.test_parts.items():
        sel = np.isin(split.test, idx)
        metrics["test_parts"][name] = classification_metrics(y[sel], y_pred[sel], classes)
    (out / "predictions").mkdir(exist_ok=True)
    save_file({"y": y.astype(np.int64), "y_pred": y_pred.astype(np.int64), "index": split.test.astype(np.int64),
               "logits": logits.astype(np.float32)}, str(out / "predictions" / "test.safetensors"))
    metrics["summary"] = summarise(metrics)
    if cfg.plots:
        from neurorep.recipes.meg_ablation.plots import write_run_plots

        metrics["plots"] = write_run_plots(out / "plots", RunPlots(metrics=metrics, classes=classes,
                                                                 curves=sorted(out.glob("*/metrics.csv"))))
    write_json(out / "metrics.json", metrics)
    return metrics


def summarise(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat row for the results table."""
    t = metrics["test"]
    row: dict[str, Any] = {"setting": metrics["setting"], "seed": metrics["seed"], **metrics["pretraining"],
                           "macro_f1": t["macro_f1"], "accuracy": t["accuracy"], "kappa": t["kappa"]}
    for name, m in metrics["test_parts"].items():
        if len(metrics["test_parts"]) > 1:
            row[f"macro_f1_{name}"] = m["macro_f1"]
    return row
