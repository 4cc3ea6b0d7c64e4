"""One LightningModule for classification: ``logits[B, K] = head(encoder(x[B, C, T]))`` with a chosen loss.

- ``loss="cross_entropy"``: hard labels ``batch["y"]`` (``-1`` = unlabelled, left out of loss and
  metrics), optional class weights and label smoothing. Logs ``train/loss`` (per step as
  ``train/loss_step``), ``val/loss``, ``val/bal_acc`` (macro recall) and ``val/macro_f1``;
  :meth:`predict_step` gives logits.
- ``loss="soft_kl"``: soft targets ``batch["y_soft"]`` (rows summing to 1; one-hot ``y`` when absent
  or ``soft_labels=False``) with ``KL(target || softmax(logits))``, label smoothing and mixup. Logs
  ``train/loss``, ``val/loss`` and ``val/kl`` (no smoothing or mixup), ``val/acc`` against ``y``;
  :meth:`predict_step` gives class probabilities.

The encoder is a linear probe (``freeze_encoder``: eval mode, no gradients), trains at
``lr * encoder_lr_scale`` (one ``encoder`` group, then the ``head`` group), or, with
``layer_decay``, per layer group at ``lr * encoder_lr_scale * layer_decay**depth`` (``head`` first,
then ``encoder_top<depth>`` from the top; groups from the encoder's ``layer_groups`` capability).
``unfreezing`` (a :class:`GradualUnfreezing`) freezes the encoder for some epochs and then unfreezes
it from the top down. With ``lora`` the encoder stays frozen and LoRA adapters train instead
(:mod:`neurorep.training.lora`); the exported encoder has them folded in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from neurorep.checks import check_option
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.heads.classification import ClassificationHead
from neurorep.training.losses import IGNORE_LABEL, kl_soft_loss, labelled_cross_entropy, mixup, smooth_targets
from neurorep.training.lora import LoraSettings, add_lora, lora_parameters, merged_copy
from neurorep.training.pretrain import _plain
from neurorep.training.schedules import build_optimizer, scheduler_config
from neurorep.training.trainer import export_weights

__all__ = ["LOSSES", "ClassifierModule", "GradualUnfreezing", "encoder_layer_groups", "fit_probe"]

LOSSES = ("cross_entropy", "soft_kl")


def encoder_layer_groups(encoder: Encoder) -> list[nn.Module]:
    """The encoder's layer groups from the input upwards (``encoder.layer_groups()`` where the encoder
    offers the ``layer_groups`` capability, else the whole encoder as one group)."""
    return list(encoder.layer_groups()) if encoder.supports("layer_groups") else [encoder]


class GradualUnfreezing(Callback):
    """Freeze the encoder for ``freeze_epochs`` epochs, then unfreeze ``per_epoch`` layer groups per
    epoch from the top down (the top block first, the patch embedding last)."""

    def __init__(self, freeze_epochs: int, per_epoch: int = 1) -> None:
        self.freeze_epochs, self.per_epoch = int(freeze_epochs), int(per_epoch)

    def n_trainable(self, epoch: int, n_groups: int) -> int:
        """How many top layer groups train during ``epoch``."""
        if epoch < self.freeze_epochs:
            return 0
        return min(n_groups, self.per_epoch * (epoch - self.freeze_epochs + 1))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        groups = encoder_layer_groups(pl_module.encoder)  # type: ignore[arg-type]
        k = self.n_trainable(trainer.current_epoch, len(groups))
        for i, group in enumerate(groups):
            group.requires_grad_(i >= len(groups) - k)
        pl_module.log("train/unfrozen_groups", float(k), on_step=False, on_epoch=True)


def fit_probe(head: nn.Module, z: torch.Tensor, target: torch.Tensor, weight_decay: float = 1e-3,
              steps: int = 100) -> float:
    """Fit the last linear layer of ``head`` to soft ``target[N, K]`` from embeddings ``z[N, D]``.

    The head's batch standardisation takes the statistics of ``z`` (as its running statistics);
    the linear layer minimises ``KL(target || softmax) + weight_decay * |W|^2`` by L-BFGS. Returns
    the final training KL.
    """
    norm, linear = head[0], head[-1]  # a ClassificationHead: [norm,] dropout, linear
    with torch.no_grad():
        if isinstance(norm, nn.BatchNorm1d):
            norm.running_mean.copy_(z.mean(0))
            norm.running_var.copy_(z.var(0, unbiased=True))
            norm.num_batches_tracked.fill_(1)
            zn = (z - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps)
        else:
            zn = z
    opt = torch.optim.LBFGS(linear.parameters(), lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = kl_soft_loss(linear(zn), target) + weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(kl_soft_loss(linear(zn), target))


class ClassifierModule(L.LightningModule):
    """Classifier ``head(encoder(x))`` trained with ``loss``; see the module docstring.

    ``hparams`` replaces the recorded hyper-parameters (the deprecated aliases keep theirs).
    """

    def __init__(
        self,
        encoder: Encoder,
        n_classes: int,
        loss: Literal["cross_entropy", "soft_kl"] = "cross_entropy",
        *,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_epochs: float = 1,
        max_epochs: int | None = None,
        min_lr_ratio: float = 0.01,
        optimizer: str = "adamw",
        head_dropout: float = 0.0,
        standardize_head: bool = False,
        class_weights: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
        mixup_alpha: float = 0.0,
        soft_labels: bool = True,
        freeze_encoder: bool = False,
        encoder_lr_scale: float = 1.0,
        layer_decay: float | None = None,
        unfreezing: GradualUnfreezing | None = None,
        lora: LoraSettings | None = None,
        probe_weight_decay: float = 1e-3,
        class_names: Sequence[str] | None = None,
        seed: int = 0,
        hparams: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_option("classifier", "loss", loss, LOSSES)
        if n_classes < 2:
            raise ConfigError(f"n_classes must be >= 2, got {n_classes}")
        if class_names is not None and len(class_names) not in (0, n_classes):
            raise ConfigError(f"class_names has {len(class_names)} names for n_classes={n_classes}")
        if encoder_lr_scale < 0:
            raise ConfigError(f"encoder_lr_scale must be >= 0, got {encoder_lr_scale}")
        self.encoder = encoder
        # LoRA: adapters go into the encoder in place; peft's wrapper is kept outside the module tree
        object.__setattr__(self, "_lora", add_lora(encoder, lora) if lora is not None else None)
        self.head = ClassificationHead(int(encoder.embed_dim), int(n_classes), head_dropout, standardize=standardize_head)
        weights = None
        if class_weights is not None:
            weights = torch.as_tensor(class_weights, dtype=torch.float32).reshape(-1)
            if weights.numel() != n_classes:
                raise ConfigError(f"class_weights has {weights.numel()} entries for n_classes={n_classes}")
        self.register_buffer("class_weights", weights, persistent=False)
        self.loss_name, self.n_classes, self.lora_settings = loss, int(n_classes), lora
        self.settings = {"lr": float(lr), "weight_decay": float(weight_decay), "warmup_epochs": float(warmup_epochs),
                         "max_epochs": max_epochs, "min_lr_ratio": float(min_lr_ratio), "optimizer": optimizer,
                         "label_smoothing": float(label_smoothing), "mixup_alpha": float(mixup_alpha),
                         "soft_labels": bool(soft_labels), "freeze_encoder": bool(freeze_encoder),
                         "encoder_lr_scale": float(encoder_lr_scale), "layer_decay": layer_decay,
                         "probe_weight_decay": float(probe_weight_decay)}
        self.unfreezing = unfreezing
        self.class_names = [str(c) for c in class_names or []]
        self.generator = torch.Generator().manual_seed(int(seed))
        if hparams is None:
            hparams = {"n_classes": int(n_classes), "loss": loss, **self.settings, "head_dropout": float(head_dropout),
                       "standardize_head": bool(standardize_head), "class_names": self.class_names,
                       "lora": lora.model_dump() if lora is not None else None, "seed": int(seed),
                       "encoder_name": encoder.registry_name or type(encoder).__name__,
                       "encoder_config": _plain(encoder.config or {})}
        self.save_hyperparameters(hparams)
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        if loss == "cross_entropy":
            self.val_bal_acc = MulticlassAccuracy(n_classes, average="macro", ignore_index=IGNORE_LABEL)
            self.val_macro_f1 = MulticlassF1Score(n_classes, average="macro", ignore_index=IGNORE_LABEL)
            self.test_bal_acc = MulticlassAccuracy(n_classes, average="macro", ignore_index=IGNORE_LABEL)
            self.test_macro_f1 = MulticlassF1Score(n_classes, average="macro", ignore_index=IGNORE_LABEL)

    # ------------------------------------------------------------------ model
    @property
    def frozen(self) -> bool:
        """True for a linear probe (the encoder never trains)."""
        return self.settings["freeze_encoder"]

    def train(self, mode: bool = True) -> ClassifierModule:
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

    def configure_callbacks(self) -> list[Callback]:
        if self._lora is not None or self.unfreezing is None:  # with LoRA the encoder stays frozen
            return []
        return [self.unfreezing]

    # ------------------------------------------------------------------ targets and losses
    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Soft targets ``[B, K]``: ``y_soft`` when present and enabled, else one-hot ``y``."""
        if self.settings["soft_labels"] and "y_soft" in batch:
            return batch["y_soft"].float()
        if "y" not in batch:
            raise ConfigError("fine-tuning batches need 'y_soft' (vote distributions) or 'y' (class indices)")
        return F.one_hot(batch["y"].long().clamp(min=0), self.n_classes).float()

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Cross-entropy over labelled rows; returns ``(loss, n_labelled)`` (see :func:`labelled_cross_entropy`)."""
        return labelled_cross_entropy(logits, y, self.class_weights, self.settings["label_smoothing"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.loss_name == "cross_entropy":
            loss, n = self._loss(self(batch["x"]), batch["y"].long())
        else:
            target = smooth_targets(self.targets(batch), self.settings["label_smoothing"])
            x, target, _ = mixup(batch["x"], target, self.settings["mixup_alpha"], self.generator)
            loss, n = kl_soft_loss(self(x), target), int(x.shape[0])
        if n > 0:
            self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=n)
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=n)
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        logits = self(batch["x"])
        if self.loss_name == "soft_kl":
            n = int(logits.shape[0])
            kl = kl_soft_loss(logits, self.targets(batch))
            self.log(f"{stage}/loss", kl, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=True)
            self.log(f"{stage}/kl", kl, on_epoch=True, batch_size=n, sync_dist=True)
            if "y" in batch:
                acc = (logits.argmax(-1) == batch["y"].long()).float().mean()
                self.log(f"{stage}/acc", acc, on_epoch=True, batch_size=n, sync_dist=True)
            return
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
        """Logits ``[B, K]`` (``cross_entropy``) or class probabilities ``[B, K]`` (``soft_kl``)."""
        logits = self(batch["x"])
        return logits.softmax(-1) if self.loss_name == "soft_kl" else logits

    def init_head_by_probe(self, loader: Any) -> float:
        """LP-FT: fit the head on frozen embeddings of every batch of ``loader`` (eval mode)."""
        was = self.training
        self.eval()
        zs, ts = [], []
        with torch.no_grad():
            for batch in loader:
                zs.append(self.encoder(batch["x"].to(self.device)))
                ts.append(self.targets({k: v.to(self.device) for k, v in batch.items()}))
        self.train(was)
        with torch.enable_grad():
            kl = fit_probe(self.head, torch.cat(zs), torch.cat(ts), self.settings["probe_weight_decay"])
        self.hparams["probe_train_kl"] = kl
        return kl

    # ------------------------------------------------------------------ optimisation and export
    def param_groups(self) -> list[dict[str, Any]]:
        """Optimiser parameter groups; see the module docstring."""
        s = self.settings
        lr = s["lr"]
        head = {"params": list(self.head.parameters()), "lr": lr, "name": "head"}
        if self._lora is not None and self.lora_settings is not None:
            return [head, {"params": lora_parameters(self.encoder), "lr": lr * self.lora_settings.lr_scale,
                           "name": "lora"}]
        if s["layer_decay"] is None:
            groups: list[dict[str, Any]] = []
            if not self.frozen:
                enc = [p for p in self.encoder.parameters() if p.requires_grad]
                if enc:
                    groups.append({"params": enc, "lr": lr * s["encoder_lr_scale"], "name": "encoder"})
            return [*groups, head]
        groups = [head]
        for depth, module in enumerate(reversed(encoder_layer_groups(self.encoder))):
            params = list(module.parameters())
            if params:
                scale = s["encoder_lr_scale"] * s["layer_decay"] ** depth
                groups.append({"params": params, "lr": lr * scale, "name": f"encoder_top{depth}"})
        return groups

    def configure_optimizers(self) -> dict[str, Any]:
        s = self.settings
        optimizer = build_optimizer(self.param_groups(), s["optimizer"], lr=s["lr"], weight_decay=s["weight_decay"])
        return {"optimizer": optimizer,
                "lr_scheduler": scheduler_config(optimizer, self.trainer, s["warmup_epochs"], s["max_epochs"],
                                                 s["min_lr_ratio"])}

    def export(self, directory: str | Path) -> Path:
        """Write ``directory/encoder`` and ``directory/head`` (``config.json`` + ``model.safetensors``
        each; the head's config carries ``class_names``)."""
        directory = Path(directory)
        encoder = merged_copy(self._lora) if self._lora is not None else self.encoder  # adapters folded in
        export_weights(encoder, directory / "encoder")
        export_weights(self.head, directory / "head", extra={"class_names": list(self.class_names)})
        return directory
