"""Training: one LightningModule per role, the trainer factory, schedules and inference helpers.

- :class:`PretrainModule`: any encoder trained with any self-supervised objective;
- :class:`ClassifierModule`: a classification head on an encoder trained with a chosen loss (linear
  probe, fine-tuning, soft-label fine-tuning with gradual unfreezing); ``SupervisedModule`` is its
  deprecated cross-entropy alias;
- :func:`build_trainer`, :func:`fit`, :func:`seed_everything`: run directories with TensorBoard logs,
  ``metrics.csv``, resumable checkpoints and safetensors exports;
- :func:`embed`, :func:`predict`: NumPy embeddings / logits over a loader.
"""

from neurorep.heads.classification import ClassificationHead, load_head
from neurorep.training.classifier import ClassifierModule, GradualUnfreezing
from neurorep.training.inference import embed, predict
from neurorep.training.losses import class_weights_from_labels
from neurorep.training.pretrain import PretrainModule
from neurorep.training.schedules import (
    build_optimizer,
    cosine_with_warmup,
    schedule_steps,
    scheduler_config,
    warmup_cosine_factor,
)
from neurorep.training.supervised import SupervisedModule
from neurorep.training.trainer import (
    FitResult,
    MetricsHistory,
    RngStateCheckpoint,
    build_trainer,
    checkpoint_callback,
    export_weights,
    fit,
    seed_everything,
)

__all__ = [
    "ClassifierModule",
    "GradualUnfreezing",
    "ClassificationHead",
    "FitResult",
    "MetricsHistory",
    "PretrainModule",
    "RngStateCheckpoint",
    "SupervisedModule",
    "build_optimizer",
    "build_trainer",
    "checkpoint_callback",
    "class_weights_from_labels",
    "cosine_with_warmup",
    "embed",
    "export_weights",
    "fit",
    "load_head",
    "predict",
    "schedule_steps",
    "scheduler_config",
    "seed_everything",
    "warmup_cosine_factor",
]
