"""Fine-tuning settings: soft-label (vote distribution) training with gradual unfreezing.

:func:`finetuning_kwargs` turns a :class:`FineTuningConfig` into the arguments of
:class:`~neurorep.training.classifier.ClassifierModule`: ``logits[B, K] = head(encoder(x[B, C, T]))``
trained against soft targets (``batch["y_soft"]``, rows summing to 1; one-hot ``batch["y"]`` when
absent) with ``KL(target || softmax(logits))`` (batch mean), optional label smoothing and mixup.
The encoder is frozen for the first ``freeze_epochs`` epochs, then unfrozen from the top block
down (:class:`GradualUnfreezing`); pretrained layers learn at a lower rate, decaying layer by layer
(``lr * encoder_lr_scale * layer_decay**depth``). The head standardises the embedding over the
batch before its linear layer (:class:`~neurorep.heads.ClassificationHead` with ``standardize``).
With ``lora`` set, the encoder stays frozen and LoRA adapters on its linear layers train
instead (:mod:`neurorep.training.lora`, through ``peft``); the exported encoder has them folded
into its weights. :class:`FineTuneModule` is the deprecated name of this set-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from neurorep.config import Strict
from neurorep.encoders.base import Encoder, deprecated_alias
from neurorep.errors import ConfigError
from neurorep.training.classifier import ClassifierModule, GradualUnfreezing, encoder_layer_groups, fit_probe
from neurorep.training.lora import LoraSettings
from neurorep.training.losses import kl_soft_loss, mixup, smooth_targets
from neurorep.training.pretrain import _plain

__all__ = ["FineTuneModule", "FineTuningConfig", "GradualUnfreezing", "encoder_layer_groups", "finetuning_kwargs",
           "fit_probe", "kl_soft_loss", "mixup", "smooth_targets"]


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


def finetuning_kwargs(cfg: FineTuningConfig, pretrained: bool = True) -> dict[str, Any]:
    """:class:`~neurorep.training.classifier.ClassifierModule` arguments (besides encoder and
    ``n_classes``) for fine-tuning with ``cfg``: soft-label KL, a standardising head, layer-wise
    rates and gradual unfreezing when ``pretrained``; everything at ``lr`` from the first epoch
    otherwise."""
    return {"loss": "soft_kl", "lr": cfg.lr, "weight_decay": cfg.weight_decay, "warmup_epochs": cfg.warmup_epochs,
            "min_lr_ratio": 0.01, "optimizer": "adamw", "head_dropout": cfg.head_dropout, "standardize_head": True,
            "label_smoothing": cfg.label_smoothing, "mixup_alpha": cfg.mixup_alpha, "soft_labels": cfg.soft_labels,
            "encoder_lr_scale": cfg.encoder_lr_scale if pretrained else 1.0,
            "layer_decay": cfg.layer_decay if pretrained else 1.0,
            "unfreezing": GradualUnfreezing(cfg.freeze_epochs, cfg.unfreeze_per_epoch) if pretrained else None,
            "lora": cfg.lora, "probe_weight_decay": cfg.probe_weight_decay}


class FineTuneModule(ClassifierModule):
    """Deprecated alias: ``ClassifierModule(encoder, n_classes, **finetuning_kwargs(cfg, pretrained), ...)``
    (with the hyper-parameters it recorded before); see the module docstring."""

    def __init__(self, encoder: Encoder, n_classes: int, cfg: FineTuningConfig | None = None, pretrained: bool = True,
                 class_names: Sequence[str] | None = None, max_epochs: int | None = None, seed: int = 0) -> None:
        deprecated_alias("FineTuneModule", "ClassifierModule(..., **finetuning_kwargs(cfg, pretrained))")
        cfg = cfg or FineTuningConfig()
        if n_classes < 2:
            raise ConfigError(f"n_classes must be >= 2, got {n_classes}")
        hparams = {"cfg": cfg.model_dump(), "n_classes": int(n_classes), "pretrained": bool(pretrained),
                   "class_names": [str(c) for c in class_names or []], "max_epochs": max_epochs,
                   "encoder_name": encoder.registry_name or type(encoder).__name__,
                   "encoder_config": _plain(encoder.config or {})}
        super().__init__(encoder, n_classes, **finetuning_kwargs(cfg, pretrained), class_names=class_names,
                         max_epochs=max_epochs, seed=seed, hparams=hparams)
        self.cfg, self.pretrained = cfg, bool(pretrained)
