"""Fine-tuning role: soft-label (vote distribution) training with gradual unfreezing.

:class:`FineTuneModule` trains ``logits[B, K] = head(encoder(x[B, C, T]))`` against soft targets
(``batch["y_soft"]``, rows summing to 1; one-hot ``batch["y"]`` when absent) with the loss
``KL(target || softmax(logits))`` (batch mean), optional label smoothing and mixup. The encoder is
frozen for the first ``freeze_epochs`` epochs, then unfrozen from the top block down
(:class:`GradualUnfreezing`); pretrained layers learn at a lower rate, decaying layer by layer
(``lr * encoder_lr_scale * layer_decay**depth``). The head standardises the embedding over the
batch before its linear layer (:class:`~neurorep.heads.ClassificationHead` with ``standardize``).
With ``lora`` set, the encoder stays frozen and LoRA adapters on its linear layers train
instead (:mod:`neurorep.training.lora`, through ``peft``); the exported encoder has them folded
into its weights. Configured by :class:`FineTuningConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from pydantic import Field
from torch import nn

from neurorep.config import Strict
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.heads.classification import ClassificationHead
from neurorep.training.lora import LoraSettings, add_lora, lora_parameters, merged_copy
from neurorep.training.pretrain import _plain
from neurorep.training.schedules import build_optimizer, scheduler_config
from neurorep.training.trainer import export_weights

__all__ = ["FineTuneModule", "FineTuningConfig", "GradualUnfreezing", "encoder_layer_groups", "fit_probe", "kl_soft_loss",
           "mixup", "smooth_targets"]


class FineTuningConfig(Strict):
    """Fine-tuning settings (also used, with ``freeze_epochs: 0``, for training from scratch)."""

    lr: float = Field(1e-3, gt=0, description="learning rate of the head (and of a model trained from scratch)")
    weight_decay: float = Field(1e-2, ge=0)
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    warmup_epochs: float = Field(1.0, ge=0)
    freeze_epochs: int = Field(1, ge=0, description="epochs with the pretrained backbone frozen")
    unfreeze_per_epoch: int = Field(1, ge=1, description="layer groups unfrozen per epoch after that, top first")
    encoder_lr_scale: float = Field(0.1, gt=0, description="learning-rate factor of pretrained layers")
    layer_decay: float = Field(0.8, gt=0, le=1, description="extra factor per layer below the top")
    head_dropout: float = Field(0.2, ge=0, lt=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    mixup_alpha: float = Field(0.0, ge=0, description="Beta(alpha, alpha) mixup; 0 turns it off")
    soft_labels: bool = Field(True, description="train on vote distributions (y_soft) instead of hard labels")
    head_init: Literal["random", "probe"] = Field(
        "random", description="probe: fit the head on frozen embeddings first (LP-FT, Kumar et al. 2022)")
    probe_weight_decay: float = Field(1e-3, ge=0, description="L2 penalty of the probe fit (head_init: probe)")
    patience: int | None = Field(4, ge=1, description="early stopping on validation KL")
    max_windows: int | None = Field(None, ge=1, description="cap on training samples per epoch")
    num_workers: int = Field(0, ge=0)
    lora: LoraSettings | None = Field(
        None, description="train LoRA adapters (peft) instead of unfreezing the encoder; e.g. {rank: 8}")


def smooth_targets(target: torch.Tensor, eps: float) -> torch.Tensor:
    """``(1 - eps) * target + eps / K`` for ``target[B, K]``."""
    return target if eps == 0 else (1 - eps) * target + eps / target.shape[-1]


def kl_soft_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean_b sum_k t_bk (log t_bk - log softmax(logits)_bk)`` (terms with ``t = 0`` count 0).

    ``logits``, ``target``: ``[B, K]``; equals ``torch.nn.KLDivLoss(reduction="batchmean")``.
    """
    return F.kl_div(F.log_softmax(logits.float(), dim=-1), target.float(), reduction="batchmean")


def mixup(x: torch.Tensor, target: torch.Tensor, alpha: float,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix each sample with a random partner: ``lam * a + (1 - lam) * b`` for ``x[B, ...]`` and
    ``target[B, K]`` with ``lam ~ Beta(alpha, alpha)``; returns ``(x, target, lam)``."""
    if alpha <= 0 or x.shape[0] < 2:
        return x, target, 1.0
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
    return lam * x + (1 - lam) * x[perm], lam * target + (1 - lam) * target[perm], lam


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


class FineTuneModule(L.LightningModule):
    """Classifier ``head(encoder(x))`` trained on soft labels; see the module docstring.

    Logs ``train/loss``, ``val/loss`` and ``val/kl`` (KL to the vote distributions, no smoothing or
    mixup; the early-stopping monitor), ``val/acc`` (against ``y``), and the same under ``test/``.
    ``pretrained=False`` trains everything from the first epoch at ``lr`` (the from-scratch
    baseline with the same budget).
    """

    def __init__(self, encoder: Encoder, n_classes: int, cfg: FineTuningConfig | None = None, pretrained: bool = True,
                 class_names: Sequence[str] | None = None, max_epochs: int | None = None, seed: int = 0) -> None:
        super().__init__()
        cfg = cfg or FineTuningConfig()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be >= 2, got {n_classes}")
        self.encoder = encoder
        # LoRA: adapters go into the encoder in place; peft's wrapper is kept outside the module tree
        object.__setattr__(self, "_lora", add_lora(encoder, cfg.lora) if cfg.lora is not None else None)
        self.head = ClassificationHead(int(encoder.embed_dim), int(n_classes), cfg.head_dropout, standardize=True)
        self.cfg, self.pretrained = cfg, bool(pretrained)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.save_hyperparameters({"cfg": cfg.model_dump(), "n_classes": int(n_classes), "pretrained": self.pretrained,
                                   "class_names": [str(c) for c in class_names or []], "max_epochs": max_epochs,
                                   "encoder_name": encoder.registry_name or type(encoder).__name__,
                                   "encoder_config": _plain(encoder.config or {})})

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
            kl = fit_probe(self.head, torch.cat(zs), torch.cat(ts), self.cfg.probe_weight_decay)
        self.hparams["probe_train_kl"] = kl
        return kl

    def configure_callbacks(self) -> list[Callback]:
        if self._lora is not None:  # the encoder stays frozen; only its adapters (and the head) train
            return []
        return [GradualUnfreezing(self.cfg.freeze_epochs, self.cfg.unfreeze_per_epoch)] if self.pretrained else []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> logits[B, K]``."""
        return self.head(self.encoder(x))

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Soft targets ``[B, K]``: ``y_soft`` when present and enabled, else one-hot ``y``."""
        k = int(self.hparams["n_classes"])
        if self.cfg.soft_labels and "y_soft" in batch:
            return batch["y_soft"].float()
        if "y" not in batch:
            raise ConfigError("fine-tuning batches need 'y_soft' (vote distributions) or 'y' (class indices)")
        return F.one_hot(batch["y"].long().clamp(min=0), k).float()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        target = smooth_targets(self.targets(batch), self.cfg.label_smoothing)
        x, target, _ = mixup(batch["x"], target, self.cfg.mixup_alpha, self.generator)
        loss = kl_soft_loss(self(x), target)
        n = int(x.shape[0])
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=n)
        self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=n)
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        logits = self(batch["x"])
        target = self.targets(batch)
        n = int(logits.shape[0])
        kl = kl_soft_loss(logits, target)
        self.log(f"{stage}/loss", kl, on_epoch=True, prog_bar=True, batch_size=n, sync_dist=True)
        self.log(f"{stage}/kl", kl, on_epoch=True, batch_size=n, sync_dist=True)
        if "y" in batch:
            acc = (logits.argmax(-1) == batch["y"].long()).float().mean()
            self.log(f"{stage}/acc", acc, on_epoch=True, batch_size=n, sync_dist=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Class probabilities ``[B, K]``."""
        return self(batch["x"]).softmax(-1)

    def param_groups(self) -> list[dict[str, Any]]:
        """Head at ``lr``; encoder layer groups at ``lr * encoder_lr_scale * layer_decay**depth``
        (depth 0 = top group) when pretrained, all at ``lr`` otherwise; with LoRA, the head and the
        adapters (``lr * lora.lr_scale``) only."""
        lr = float(self.cfg.lr)
        groups: list[dict[str, Any]] = [{"params": list(self.head.parameters()), "lr": lr, "name": "head"}]
        if self._lora is not None and self.cfg.lora is not None:
            return groups + [{"params": lora_parameters(self.encoder), "lr": lr * self.cfg.lora.lr_scale,
                              "name": "lora"}]
        layers = encoder_layer_groups(self.encoder)
        for depth, module in enumerate(reversed(layers)):
            params = list(module.parameters())
            if not params:
                continue
            scale = self.cfg.encoder_lr_scale * self.cfg.layer_decay**depth if self.pretrained else 1.0
            groups.append({"params": params, "lr": lr * scale, "name": f"encoder_top{depth}"})
        return groups

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = build_optimizer(self.param_groups(), "adamw", lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        return {"optimizer": optimizer,
                "lr_scheduler": scheduler_config(optimizer, self.trainer, self.cfg.warmup_epochs,
                                                 self.hparams["max_epochs"], 0.01)}

    def export(self, directory: str | Path) -> Path:
        """Write ``directory/encoder`` and ``directory/head`` (``config.json`` + ``model.safetensors``)."""
        directory = Path(directory)
        encoder = merged_copy(self._lora) if self._lora is not None else self.encoder  # adapters folded in
        export_weights(encoder, directory / "encoder")
        export_weights(self.head, directory / "head", extra={"class_names": list(self.hparams["class_names"])})
        return directory
