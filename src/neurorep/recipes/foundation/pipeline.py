"""One foundation run: pretrain (masked patches + contrastive) -> fine-tune on vote distributions -> test.

:class:`TransferLearningPipeline` holds the prepared corpus, the patient-wise split and the run
folder; ``run()`` executes the configured stage and returns the metrics (also in ``metrics.json``).
Run folder::

    config.yaml, environment.json, metrics.json
    pretrain/   tb/, checkpoints/ (best, last, every N steps), metrics.csv, export/{best,final}/encoder
    finetune/   (or scratch/) tb/, checkpoints/, metrics.csv, export/, model/ (encoder + head, safetensors),
                test_predictions.safetensors, plots/ (reliability, vote shares, confusion, learning curves)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from safetensors.numpy import save_file
from torch.utils.data import DataLoader, Dataset, RandomSampler

from neurorep.encoders.eeg_foundation import EEGFoundationModel
from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.soft_labels import kl_divergence, soft_label_metrics
from neurorep.models import create_model
from neurorep.objectives.foundation import FoundationPretraining
from neurorep.recipes.foundation.config import FoundationConfig
from neurorep.recipes.foundation.data import (
    HMSCorpus,
    HMSSegments,
    RandomCrops,
    patient_split,
    prepare_hms,
    segment_bounds,
)
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json
from neurorep.training import PretrainModule, build_trainer, fit, seed_everything
from neurorep.training.classifier import ClassifierModule
from neurorep.training.finetune import finetuning_kwargs
from neurorep.training.inference import predict
from neurorep.recipes.base import RunPlots

__all__ = ["TransferLearningPipeline", "resolve_precision", "run_foundation"]


def resolve_precision(precision: str) -> str:
    """``auto`` -> ``bf16-mixed`` when CUDA is available, else ``32-true``; other values pass through."""
    if precision != "auto":
        return precision
    return "bf16-mixed" if torch.cuda.is_available() else "32-true"


def _loader(ds: Dataset[Any], batch_size: int, shuffle: bool, n: int | None = None, workers: int = 0) -> DataLoader:
    if not shuffle:
        return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers)
    total = n or len(ds)  # type: ignore[arg-type]
    sampler = RandomSampler(ds, replacement=total > len(ds), num_samples=total)  # type: ignore[arg-type]
    # full batches only (the head's batch standardisation needs more than one sample)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      drop_last=total >= batch_size)


def load_encoder(path: str | Path) -> EEGFoundationModel:
    """A saved encoder folder, or the best pretrained encoder of a pretrain/transfer run folder."""
    path = Path(path)
    for candidate in (path, path / "pretrain" / "export" / "best" / "encoder",
                      path / "pretrain" / "export" / "final" / "encoder", path / "export" / "best" / "encoder"):
        if (candidate / "config.json").is_file():
            return EEGFoundationModel.from_pretrained(candidate)
    raise DataError(f"{path}: no saved encoder here (expected config.json + model.safetensors, or a pretrain run "
                    "folder with pretrain/export/best/encoder)")


class TransferLearningPipeline:
    """Pretrain -> fine-tune -> test on HMS-format data; see the module docstring.

    Args:
        cfg: the run config.
        out: run folder (created; an existing run is refused unless ``overwrite`` or ``resume``).
        corpus: an already prepared corpus (the benchmark shares one across rows).
    """

    def __init__(self, cfg: FoundationConfig, out: str | Path, overwrite: bool = False, resume: bool = False,
                 corpus: HMSCorpus | None = None) -> None:
        self.cfg, self.resume = cfg, resume
        if cfg.stage == "finetune" and cfg.init_from is None:
            raise ConfigError("stage finetune needs init_from: a saved encoder folder or a pretrain run folder")
        self.corpus = corpus or prepare_hms(cfg.data, progress=cfg.progress)
        self.out = prepare_run_dir(out, overwrite=overwrite, resume=resume)
        save_run_metadata(self.out, cfg, data_fingerprint=self.corpus.info.key)
        self.split, self.train_recordings = patient_split(self.corpus, cfg.data, cfg.data.split.seed)
        self.start, self.length = segment_bounds(cfg.data, self.corpus.sfreq)
        self.classes = self.corpus.classes

    # ------------------------------------------------------------------ pieces
    def segments(self, rows: np.ndarray) -> HMSSegments:
        return HMSSegments(self.corpus, rows, self.start, self.length)

    def build_model(self) -> EEGFoundationModel:
        """A fresh ``eeg_foundation`` model sized for the data (seeded by the run seed)."""
        seed_everything(self.cfg.seed)
        kwargs = {"n_channels": self.corpus.n_channels, "n_times": self.length, **self.cfg.model.kwargs}
        model = create_model("eeg_foundation", preset=self.cfg.model.preset, **kwargs)
        assert isinstance(model, EEGFoundationModel)
        return model

    def pretrain(self, model: EEGFoundationModel) -> dict[str, Any]:
        """Masked + contrastive pretraining of ``model`` (in place; best validation weights kept)."""
        p, t0 = self.cfg.pretrain, time.time()
        objective = FoundationPretraining.from_model_config(model.cfg, **{"sfreq": self.corpus.sfreq, **p.objective})
        module = PretrainModule(model, objective, lr=p.lr, weight_decay=p.weight_decay, warmup_epochs=p.warmup_epochs,
                                max_epochs=p.epochs)
        val_recs = np.unique(self.corpus.rows["recording"][self.split.val])
        train = RandomCrops(self.corpus, self.train_recordings, p.crops_per_epoch, self.length)
        val = RandomCrops(self.corpus, val_recs, p.val_crops, self.length, fixed_seed=self.cfg.seed)
        steps = [] if p.checkpoint_every_n_steps is None else [ModelCheckpoint(
            dirpath=str(self.out / "pretrain" / "checkpoints" / "steps"), filename="step{step}",
            every_n_train_steps=p.checkpoint_every_n_steps, save_top_k=2, monitor="step", mode="max",
            auto_insert_metric_name=False)]
        precision = resolve_precision(p.precision)
        trainer = build_trainer(self.out / "pretrain", max_epochs=p.epochs, monitor="val/loss", patience=p.patience,
                                progress=self.cfg.progress, precision=precision, callbacks=steps,
                                gradient_clip_val=p.gradient_clip)
        res = fit(module, _loader(train, p.batch_size, True, workers=p.num_workers),
                  _loader(val, p.batch_size, False, workers=p.num_workers), trainer,
                  ckpt_path="last" if self.resume else None, restore_best=True)
        return {"best_val_loss": res.best_score, "epochs": trainer.current_epoch, "steps": trainer.global_step,
                "precision": precision, "seconds": round(time.time() - t0, 1),
                "n_crops_per_epoch": p.crops_per_epoch, "n_recordings": len(self.train_recordings)}

    def finetune(self, model: EEGFoundationModel, pretrained: bool, name: str) -> dict[str, Any]:
        """Fine-tune (``pretrained``) or train from scratch on the training labels; test; save."""
        f, t0 = self.cfg.finetune, time.time()
        seed_everything(self.cfg.seed)
        folder = self.out / name
        module = ClassifierModule(model, len(self.classes), **finetuning_kwargs(f, pretrained),
                                  class_names=self.classes, max_epochs=f.epochs, seed=self.cfg.seed)
        trainer = build_trainer(folder, max_epochs=f.epochs, monitor="val/kl", patience=f.patience,
                                progress=self.cfg.progress)
        train, val, test = (self.segments(r) for r in (self.split.train, self.split.val, self.split.test))
        probe_kl = module.init_head_by_probe(_loader(train, 64, False)) if f.head_init == "probe" else None
        fit(module, _loader(train, f.batch_size, True, f.max_windows, f.num_workers),
            _loader(val, f.batch_size, False, workers=f.num_workers), trainer,
            ckpt_path="last" if self.resume else None, restore_best=True)
        logits, y = predict(module, _loader(test, 64, False))
        probs = torch.from_numpy(logits).double().softmax(-1).numpy()
        p_true = test.y_soft_rows.astype(np.float64)
        metrics = soft_label_metrics(p_true, probs, self.classes, y_true=y)
        prior = np.broadcast_to(train.y_soft_rows.mean(axis=0), p_true.shape)
        metrics["prior_kl_divergence"] = kl_divergence(p_true, prior)  # constant "mean vote" prediction
        metrics.update(n_train=len(train), n_val=len(val), n_test=len(test), epochs=trainer.current_epoch,
                       probe_train_kl=probe_kl,
                       seconds=round(time.time() - t0, 1), pretrained=pretrained)
        save_file({"probs": probs.astype(np.float32), "y_soft": p_true.astype(np.float32), "y": y,
                   "index": np.asarray(test.rows, dtype=np.int64)}, str(folder / "test_predictions.safetensors"))
        classifier = model  # the encoder with the trained head attached, saved as one model
        head = classifier.add_classification_head(len(self.classes), f.head_dropout)
        head.load_state_dict(module.head.state_dict())
        classifier.save_pretrained(folder / "model", extra={"class_names": self.classes,
                                                            "sfreq": self.corpus.sfreq,
                                                            "ch_names": self.corpus.info.ch_names})
        classifier.remove_classification_head()  # keep the encoder head-free for later use
        if self.cfg.plots:
            from neurorep.recipes.foundation.plots import write_run_plots

            metrics["plots"] = write_run_plots(folder / "plots", RunPlots(
                arrays={"p_true": p_true, "probs": probs, "y": y}, classes=self.classes, curves=[folder / "metrics.csv"]))
        return metrics

    # ------------------------------------------------------------------ whole run
    def run(self) -> dict[str, Any]:
        """Execute ``cfg.stage`` and write ``metrics.json``; returns the metrics."""
        cfg = self.cfg
        metrics: dict[str, Any] = {"stage": cfg.stage, "seed": cfg.seed, "classes": self.classes,
                                   "n_rows": {k: len(getattr(self.split, k)) for k in ("train", "val", "test")},
                                   "split_seed": cfg.data.split.seed}
        if cfg.stage == "finetune":
            model = load_encoder(cfg.init_from)  # type: ignore[arg-type]
            if (model.n_channels, model.n_times) != (self.corpus.n_channels, self.length):
                raise DataError(f"{cfg.init_from}: encoder built for {model.n_channels} channels x {model.n_times} "
                                f"samples, the data gives {self.corpus.n_channels} x {self.length}")
            model.train()
        else:
            model = self.build_model()
        metrics["n_params"] = int(sum(p.numel() for p in model.parameters()))
        metrics["model"] = {k: v for k, v in model.config.items() if k not in ("n_classes", "head_dropout")}
        if cfg.stage in ("transfer", "pretrain"):
            metrics["pretrain"] = self.pretrain(model)
        if cfg.stage in ("transfer", "finetune"):
            metrics["test"] = self.finetune(model, pretrained=True, name="finetune")
        if cfg.stage == "scratch":
            metrics["test"] = self.finetune(model, pretrained=False, name="scratch")
        metrics["summary"] = summarise(metrics)
        write_json(self.out / "metrics.json", metrics)
        return metrics


def summarise(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat row for results tables."""
    row: dict[str, Any] = {"stage": metrics["stage"], "seed": metrics["seed"], "n_params": metrics["n_params"]}
    if "pretrain" in metrics:
        row["pretrain_val_loss"] = metrics["pretrain"]["best_val_loss"]
    test = metrics.get("test")
    if test:
        for key in ("kl_divergence", "prior_kl_divergence", "accuracy", "balanced_accuracy", "macro_f1", "macro_auroc",
                    "ece"):
            row[key] = test[key]
    return row


def run_foundation(cfg: FoundationConfig, out: str | Path, overwrite: bool = False, resume: bool = False,
                   corpus: HMSCorpus | None = None) -> dict[str, Any]:
    """Run one foundation config into ``out``; returns its metrics."""
    return TransferLearningPipeline(cfg, out, overwrite=overwrite, resume=resume, corpus=corpus).run()
