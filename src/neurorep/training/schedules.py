"""Optimisers and learning-rate schedules shared by every training module.

The schedule is a linear warm-up followed by a cosine decay, expressed as a multiplicative factor
on each parameter group's base learning rate (so groups with different base rates keep their
ratio). It is stepped once per optimiser step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from neurorep.errors import ConfigError, unknown_name_message

OPTIMIZERS = ("adamw", "adam", "sgd")


def warmup_cosine_factor(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0,
                         warmup_start: float | None = None) -> float:
    """Learning-rate factor (multiplier of the base rate) after ``step`` optimiser steps.

    - warm-up, ``step < warmup_steps``: ``(step + 1) / warmup_steps`` (the first step already
      uses a small non-zero rate and step ``warmup_steps - 1`` uses the full rate); with
      ``warmup_start`` given, ``warmup_start + (1 - warmup_start) * step / warmup_steps`` instead
      (step 0 at ``warmup_start``, e.g. warming up from the minimum rate);
    - decay, ``warmup_steps <= step``: with ``p = min(1, (step - warmup_steps) /
      max(1, total_steps - warmup_steps))``,
      ``min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + cos(pi * p))``; constant at
      ``min_lr_ratio`` after ``total_steps``.
    """
    if warmup_steps > 0 and step < warmup_steps:
        if warmup_start is not None:
            return warmup_start + (1.0 - warmup_start) * step / warmup_steps
        return float(step + 1) / float(warmup_steps)
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class _WarmupCosine:
    """Schedule factor as a callable object.

    :class:`LambdaLR` stores a callable object's attributes in its ``state_dict`` (plain numbers
    here), so a resumed run continues the schedule it was started with.
    """

    def __init__(self, warmup_steps: int, total_steps: int, min_lr_ratio: float,
                 warmup_start: float | None = None) -> None:
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        self.warmup_start = warmup_start

    def __call__(self, step: int) -> float:
        return warmup_cosine_factor(step, self.warmup_steps, self.total_steps, self.min_lr_ratio,
                                    self.warmup_start)


def cosine_with_warmup(
    optimizer: torch.optim.Optimizer,
    warmup_steps: int,
    total_steps: int,
    min_lr_ratio: float = 0.0,
    warmup_start: float | None = None,
) -> LambdaLR:
    """Linear warm-up from ``base_lr / warmup_steps`` (or ``warmup_start * base_lr``) to ``base_lr``,
    then cosine down to ``min_lr_ratio * base_lr`` at ``total_steps``; see :func:`warmup_cosine_factor`.

    Step the returned scheduler once per optimiser step.
    """
    if warmup_steps < 0 or total_steps < 0:
        raise ConfigError(f"warmup_steps and total_steps must be >= 0, got {warmup_steps} and {total_steps}")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ConfigError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")
    if warmup_start is not None and not 0.0 <= warmup_start <= 1.0:
        raise ConfigError(f"warmup_start must be in [0, 1], got {warmup_start}")
    start = None if warmup_start is None else float(warmup_start)
    return LambdaLR(optimizer, _WarmupCosine(int(warmup_steps), int(total_steps), float(min_lr_ratio), start))


def build_optimizer(
    params_or_groups: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    name: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """Make an optimiser by name: ``adamw``, ``adam`` or ``sgd`` (momentum 0.9, Nesterov).

    ``params_or_groups`` is an iterable of parameters or of parameter-group dicts; a group's own
    ``lr`` / ``weight_decay`` entries take precedence over the defaults given here.
    """
    key = name.lower()
    if key == "adamw":
        return torch.optim.AdamW(params_or_groups, lr=lr, weight_decay=weight_decay)
    if key == "adam":
        return torch.optim.Adam(params_or_groups, lr=lr, weight_decay=weight_decay)
    if key == "sgd":
        return torch.optim.SGD(params_or_groups, lr=lr, weight_decay=weight_decay, momentum=0.9, nesterov=True)
    raise ConfigError(unknown_name_message("optimizer", name, OPTIMIZERS))


def schedule_steps(trainer: Any, warmup_epochs: float, max_epochs: int | None = None) -> tuple[int, int]:
    """Return ``(warmup_steps, total_steps)`` for a Lightning ``trainer`` about to fit.

    Steps per epoch come from ``trainer.estimated_stepping_batches / trainer.max_epochs``.
    ``max_epochs`` (when given) sets the schedule horizon independently of the trainer's own
    ``max_epochs``, so that a run stopped early and resumed later follows the same schedule.
    """
    total = float(trainer.estimated_stepping_batches)
    if not math.isfinite(total):
        raise ConfigError(
            "the learning-rate schedule needs a known number of steps: use a training loader with "
            "a length, or set the trainer's max_steps"
        )
    trainer_epochs = getattr(trainer, "max_epochs", None)
    if trainer_epochs is not None and trainer_epochs > 0 and getattr(trainer, "max_steps", -1) == -1:
        per_epoch = total / trainer_epochs
        if max_epochs is not None:
            total = per_epoch * max_epochs
    else:  # step-limited run: treat the whole run as one "epoch" for the warm-up length
        per_epoch = total
    total_steps = max(1, int(round(total)))
    warmup_steps = min(total_steps, int(round(warmup_epochs * per_epoch)))
    return warmup_steps, total_steps


def scheduler_config(
    optimizer: torch.optim.Optimizer,
    trainer: Any,
    warmup_epochs: float,
    max_epochs: int | None = None,
    min_lr_ratio: float = 0.0,
    warmup_start: float | None = None,
) -> dict[str, Any]:
    """Lightning ``lr_scheduler`` dict for a per-step warm-up + cosine schedule."""
    warmup_steps, total_steps = schedule_steps(trainer, warmup_epochs, max_epochs)
    scheduler = cosine_with_warmup(optimizer, warmup_steps, total_steps, min_lr_ratio, warmup_start)
    return {"scheduler": scheduler, "interval": "step", "frequency": 1, "name": "lr"}
