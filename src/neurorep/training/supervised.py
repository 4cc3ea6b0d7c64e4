"""One LightningModule for the supervised role: linear probing by SGD and fine-tuning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.heads.classification import ClassificationHead, load_head
from neurorep.training.pretrain import _plain
from neurorep.training.schedules import build_optimizer, scheduler_config
from neurorep.training.trainer import export_weights

IGNORE_LABEL = -1


def class_weights_from_labels(y: torch.Tensor | Sequence[int], n_classes: int) -> torch.Tensor:
    """Balanced class weights ``w_k = n / (K * count_k)`` (``0`` for an absent class).

    ``y``: integer labels ``[N]``; entries equal to ``-1`` (unlabelled) are not counted and
    ``n`` is the number of labelled entries. Returns float32 ``[K]``.
    """
    y = torch.as_tensor(y, dtype=torch.long).reshape(-1)
    y = y[y != IGNORE_LABEL]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ConfigError(f"labels must be in [0, {n_classes - 1}] or -1, found [{int(y.min())}, {int(y.max())}]")
    counts = torch.bincount(y, minlength=n_classes).to(torch.float32)
    n = float(y.numel())
    weights = torch.zeros(n_classes, dtype=torch.float32)
    present = counts > 0
    weights[present] = n / (n_classes * counts[present])
    return weights


class SupervisedModule(L.LightningModule):
    """Classifier ``logits[B, K] = head(encoder(x[B, C, T]))`` trained with cross-entropy.

    Samples with ``y == -1`` are left out of the loss and metrics. ``freeze_encoder`` keeps the
    encoder in eval mode with ``requires_grad=False`` (a linear probe trained by SGD); otherwise
    the encoder is fine-tuned at ``lr * encoder_lr_scale`` and the head at ``lr`` (two parameter
    groups, ``"encoder"`` and ``"head"``). Logs ``train/loss`` (epoch mean; per step as
    ``train/loss_step``), ``val/loss``, ``val/bal_acc`` (macro-averaged recall; a class absent
    from both targets and predictions is left out of the mean) and ``val/macro_f1`` (and the same
    under ``test/``).
    """

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
        super().__init__()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be >= 2, got {n_classes}")
        if class_names is not None and len(class_names) != n_classes:
            raise ConfigError(f"class_names has {len(class_names)} names for n_classes={n_classes}")
        if encoder_lr_scale < 0:
            raise ConfigError(f"encoder_lr_scale must be >= 0, got {encoder_lr_scale}")
        self.encoder = encoder
        self.head = ClassificationHead(int(encoder.embed_dim), int(n_classes), head_dropout)
        weights = None
        if class_weights is not None:
            weights = torch.as_tensor(class_weights, dtype=torch.float32).reshape(-1)
            if weights.numel() != n_classes:
                raise ConfigError(f"class_weights has {weights.numel()} entries for n_classes={n_classes}")
        self.register_buffer("class_weights", weights, persistent=False)
        self.save_hyperparameters(ignore=["encoder", "class_weights"])
        if class_names is not None:
            self.hparams["class_names"] = [str(c) for c in class_names]
        self.hparams["encoder_name"] = encoder.registry_name or type(encoder).__name__
        self.hparams["encoder_config"] = _plain(encoder.config or {})
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        self.val_bal_acc = MulticlassAccuracy(n_classes, average="macro", ignore_index=IGNORE_LABEL)
        self.val_macro_f1 = MulticlassF1Score(n_classes, average="macro", ignore_index=IGNORE_LABEL)
        self.test_bal_acc = MulticlassAccuracy(n_classes, average="macro", ignore_index=IGNORE_LABEL)
        self.test_macro_f1 = MulticlassF1Score(n_classes, average="macro", ignore_index=IGNORE_LABEL)

    @property
    def frozen(self) -> bool:
        return bool(self.hparams.freeze_encoder)

    def train(self, mode: bool = True) -> SupervisedModule:
        """Set training mode; a frozen encoder always stays in eval mode."""
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> logits[B, K]``."""
        if self.frozen:
            with torch.no_grad():
                z = self.encoder(x)
        else:
            z = self.encoder(x)
        return self.head(z)

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Cross-entropy over labelled rows; returns ``(loss, n_labelled)``. With no labelled
        row the loss is a zero that still depends on the logits (so backward works)."""
        mask = y != IGNORE_LABEL
        n = int(mask.sum())
        if n == 0:
            return logits.sum() * 0.0, 0
        loss = F.cross_entropy(
            logits[mask],
            y[mask],
            weight=self.class_weights,
            label_smoothing=float(self.hparams.label_smoothing),
        )
        return loss, n

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self(batch["x"])
        loss, n = self._loss(logits, batch["y"].long())
        if n > 0:
            self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=n)
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=n)
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        logits = self(batch["x"])
        y = batch["y"].long()
        loss, n = self._loss(logits, y)
        if n > 0:
            self.log(f"{stage}/loss", loss, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=True)
        acc, f1 = (self.val_bal_acc, self.val_macro_f1) if stage == "val" else (self.test_bal_acc, self.test_macro_f1)
        acc.update(logits, y)
        f1.update(logits, y)
        self.log(f"{stage}/bal_acc", acc, on_epoch=True, prog_bar=True)
        self.log(f"{stage}/macro_f1", f1, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Logits ``[B, K]``."""
        return self(batch["x"])

    def param_groups(self) -> list[dict[str, Any]]:
        """Optimiser parameter groups: ``head`` at ``lr`` and, unless frozen, ``encoder`` at
        ``lr * encoder_lr_scale``."""
        lr = float(self.hparams.lr)
        groups: list[dict[str, Any]] = []
        if not self.frozen:
            enc = [p for p in self.encoder.parameters() if p.requires_grad]
            if enc:
                groups.append({"params": enc, "lr": lr * float(self.hparams.encoder_lr_scale), "name": "encoder"})
        groups.append({"params": list(self.head.parameters()), "lr": lr, "name": "head"})
        return groups

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = build_optimizer(self.param_groups(), hp.optimizer, lr=hp.lr, weight_decay=hp.weight_decay)
        return {
            "optimizer": optimizer,
            "lr_scheduler": scheduler_config(optimizer, self.trainer, hp.warmup_epochs, hp.max_epochs, hp.min_lr_ratio),
        }

    def export(self, directory: str | Path) -> Path:
        """Write ``directory/encoder`` and ``directory/head`` (``config.json`` +
        ``model.safetensors`` each; the head's config carries ``class_names``)."""
        directory = Path(directory)
        export_weights(self.encoder, directory / "encoder")
        extra = {"class_names": list(self.hparams.get("class_names") or [])}
        export_weights(self.head, directory / "head", extra=extra)
        return directory
