"""Deprecated: :class:`SupervisedModule` is :class:`~neurorep.training.classifier.ClassifierModule`
with ``loss="cross_entropy"`` (linear probing by SGD and fine-tuning on hard labels).

The head, its loader and the label helpers now live in :mod:`neurorep.heads` and
:mod:`neurorep.training.losses`; they are re-exported here for old imports.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neurorep.encoders.base import Encoder, deprecated_alias
from neurorep.heads.classification import ClassificationHead, load_head
from neurorep.training.classifier import ClassifierModule
from neurorep.training.losses import IGNORE_LABEL, class_weights_from_labels
from neurorep.training.pretrain import _plain

__all__ = ["IGNORE_LABEL", "ClassificationHead", "SupervisedModule", "class_weights_from_labels", "load_head"]


class SupervisedModule(ClassifierModule):
    """Deprecated alias: ``ClassifierModule(encoder, n_classes, loss="cross_entropy", ...)`` with the
    same arguments (and the hyper-parameters it recorded before)."""

    def __init__(
        self,
        encoder: Encoder,
        n_classes: int,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_epochs: float = 1,
        class_weights: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
        head_dropout: float = 0.0,
        freeze_encoder: bool = False,
        encoder_lr_scale: float = 1.0,
        class_names: Sequence[str] | None = None,
        max_epochs: int | None = None,
        min_lr_ratio: float = 0.01,
        optimizer: str = "adamw",
    ) -> None:
        deprecated_alias("SupervisedModule", "ClassifierModule(..., loss='cross_entropy')")
        if class_names is not None and len(class_names) != n_classes:
            from neurorep.errors import ConfigError

            raise ConfigError(f"class_names has {len(class_names)} names for n_classes={n_classes}")
        hparams = {"n_classes": n_classes, "lr": lr, "weight_decay": weight_decay, "warmup_epochs": warmup_epochs,
                   "label_smoothing": label_smoothing, "head_dropout": head_dropout, "freeze_encoder": freeze_encoder,
                   "encoder_lr_scale": encoder_lr_scale,
                   "class_names": [str(c) for c in class_names] if class_names is not None else None,
                   "max_epochs": max_epochs, "min_lr_ratio": min_lr_ratio, "optimizer": optimizer,
                   "encoder_name": encoder.registry_name or type(encoder).__name__,
                   "encoder_config": _plain(encoder.config or {})}
        super().__init__(encoder, n_classes, "cross_entropy", lr=lr, weight_decay=weight_decay,
                         warmup_epochs=warmup_epochs, class_weights=class_weights, label_smoothing=label_smoothing,
                         head_dropout=head_dropout, freeze_encoder=freeze_encoder, encoder_lr_scale=encoder_lr_scale,
                         class_names=class_names, max_epochs=max_epochs, min_lr_ratio=min_lr_ratio,
                         optimizer=optimizer, hparams=hparams)
