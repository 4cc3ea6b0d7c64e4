"""The distillation role: a sequence sleep stager trained with CL, SD and AT against a frozen teacher.

:class:`StagingNet` is an encoder with a per-epoch classification head (U-Time's segment
classifier): ``x[B, C, T] -> logits[B, N, K]`` with ``N = T / epoch_samples``, plus the encoder's
feature maps. :class:`DistillModule` trains one with a
:class:`neurorep.objectives.distill.Distillation` objective; with no teacher and only the CL term it
is plain supervised sequence staging (the ``eeg_base`` and ``ecg_base`` modes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn
from torchmetrics.classification import MulticlassF1Score

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError, DataError
from neurorep.export.hub import from_pretrained
from neurorep.objectives.distill import Distillation
from neurorep.training.schedules import build_optimizer, scheduler_config
from neurorep.heads.classification import ClassificationHead, load_head
from neurorep.training.trainer import export_weights


class StagingNet(nn.Module):
    """Encoder + per-epoch head: ``x[B, C, T] -> (logits [B, N, K], feature maps)``.

    The encoder must offer the ``intermediates`` capability (``forward_intermediates(x)`` returning
    a dict with ``tokens [B, N, D]``, as :class:`neurorep.encoders.utime.UTime` does). ``detach_head`` trains the head on
    stop-gradient tokens, so the encoder learns only from the other loss terms.
    """

    def __init__(self, encoder: Encoder, n_classes: int, head_dropout: float = 0.0, detach_head: bool = False,
                 head: ClassificationHead | None = None) -> None:
        super().__init__()
        if not encoder.supports("intermediates"):
            raise ConfigError(f"{type(encoder).__name__} has no forward_intermediates(); use an encoder such as 'utime'")
        self.encoder = encoder
        self.head = head if head is not None else ClassificationHead(int(encoder.embed_dim), int(n_classes), head_dropout,
                                                                     token_pool="none")
        self.detach_head = bool(detach_head)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        feats = self.encoder.forward_intermediates(x)
        tokens = feats.pop("tokens")
        feats["tokens"] = tokens
        logits = self.head(tokens.detach() if self.detach_head else tokens)
        return logits, feats

    def export(self, directory: str | Path, class_names: Sequence[str] = ()) -> Path:
        """``directory/encoder`` and ``directory/head`` as ``config.json`` + ``model.safetensors``."""
        directory = Path(directory)
        export_weights(self.encoder, directory / "encoder")
        export_weights(self.head, directory / "head", extra={"class_names": list(class_names)})
        return directory


def load_staging_net(directory: str | Path) -> tuple[StagingNet, list[str]]:
    """A :class:`StagingNet` from a folder written by :meth:`StagingNet.export` (strict), and its class names."""
    import json

    directory = Path(directory)
    if not (directory / "encoder").is_dir() or not (directory / "head").is_dir():
        raise DataError(f"{directory}: expected encoder/ and head/ folders of an exported staging model")
    encoder = from_pretrained(directory / "encoder")
    head = load_head(directory / "head")
    names = json.loads((directory / "head" / "config.json").read_text()).get("class_names", [])
    net = StagingNet(encoder, head.n_classes, head=head)
    return net.eval(), list(names)


class DistillModule(L.LightningModule):
    """Train ``student`` with ``objective`` (CL / SD / AT) against an optional frozen ``teacher``.

    Batches are dicts with the student's and teacher's inputs (``objective.student_key`` /
    ``teacher_key``, ``[B, C, T]``) and ``y [B, N]`` (``-1`` = no label). Logs ``train/loss``,
    ``train/ce``, ``train/sd``, ``train/at`` and the same under ``val/`` plus ``val/macro_f1``.
    """

    def __init__(self, student: StagingNet, objective: Distillation, n_classes: int,
                 teacher: StagingNet | None = None, lr: float = 1e-3, weight_decay: float = 1e-4,
                 warmup_epochs: float = 1, max_epochs: int | None = None, class_weights: torch.Tensor | None = None,
                 class_names: Sequence[str] | None = None) -> None:
        super().__init__()
        if objective.needs_teacher and teacher is None:
            raise ConfigError("this mode transfers knowledge (kd_weight or at_weight > 0) but no teacher was given")
        self.student = student
        self.objective = objective
        self.teacher = teacher
        if teacher is not None:
            teacher.requires_grad_(False)
            teacher.eval()
        cw = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", cw, persistent=False)
        self.save_hyperparameters(ignore=["student", "objective", "teacher", "class_weights"])
        self.class_names = [str(c) for c in (class_names or [])]
        self.val_f1 = MulticlassF1Score(n_classes, average="macro", ignore_index=-1)

    def train(self, mode: bool = True) -> DistillModule:
        """Set training mode; the teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Student logits ``[B, N, K]``."""
        return self.student(x)[0]

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        out = self.objective(self.student, batch, self.teacher, self.class_weights)
        n = int(batch["y"].shape[0])
        for key in ("loss", "ce", "sd", "at"):
            if key in out:
                self.log(f"{stage}/{key}", out[key], on_step=False, on_epoch=True, batch_size=n,
                         prog_bar=key == "loss")
        if stage == "val":
            k = out["logits"].shape[-1]
            self.val_f1.update(out["logits"].reshape(-1, k), batch["y"].reshape(-1).long())
            self.log("val/macro_f1", self.val_f1, on_epoch=True)
        return out["loss"]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        params = [p for p in self.student.parameters() if p.requires_grad]
        optimizer = build_optimizer(params, "adamw", lr=hp.lr, weight_decay=hp.weight_decay)
        return {"optimizer": optimizer,
                "lr_scheduler": scheduler_config(optimizer, self.trainer, hp.warmup_epochs, hp.max_epochs, 0.01)}

    def export(self, directory: str | Path) -> Path:
        """The student as ``directory/encoder`` + ``directory/head`` (safetensors)."""
        return self.student.export(directory, self.class_names)
