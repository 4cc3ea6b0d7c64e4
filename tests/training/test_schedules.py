"""Learning-rate schedule and optimiser factory."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from neurorep.errors import ConfigError
from neurorep.training.schedules import (
    build_optimizer,
    cosine_with_warmup,
    schedule_steps,
    scheduler_config,
    warmup_cosine_factor,
)


def expected_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """The documented formula, written out independently."""
    if step < warmup:
        return (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p))


def _optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


@pytest.mark.parametrize("warmup,total,min_ratio", [(4, 20, 0.0), (3, 10, 0.1), (0, 8, 0.05), (5, 5, 0.0)])
def test_lr_follows_formula(warmup: int, total: int, min_ratio: float) -> None:
    base = 0.1
    opt = _optimizer(base)
    sched = cosine_with_warmup(opt, warmup, total, min_ratio)
    for step in range(total + 5):
        assert opt.param_groups[0]["lr"] == pytest.approx(base * expected_factor(step, warmup, total, min_ratio))
        opt.step()
        sched.step()


def test_key_points() -> None:
    warmup, total, ratio = 4, 24, 0.1
    assert warmup_cosine_factor(0, warmup, total, ratio) == pytest.approx(0.25)  # small, non-zero
    assert warmup_cosine_factor(warmup - 1, warmup, total, ratio) == pytest.approx(1.0)
    assert warmup_cosine_factor(warmup, warmup, total, ratio) == pytest.approx(1.0)
    mid = warmup + (total - warmup) // 2
    assert warmup_cosine_factor(mid, warmup, total, ratio) == pytest.approx(ratio + (1 - ratio) * 0.5)
    assert warmup_cosine_factor(total, warmup, total, ratio) == pytest.approx(ratio)
    assert warmup_cosine_factor(total + 100, warmup, total, ratio) == pytest.approx(ratio)
    # monotone: up during warm-up, down after
    values = [warmup_cosine_factor(s, warmup, total, ratio) for s in range(total + 1)]
    assert all(a <= b for a, b in zip(values[:warmup], values[1:warmup]))
    assert all(a >= b for a, b in zip(values[warmup:], values[warmup + 1 :]))


def test_param_groups_keep_their_ratio() -> None:
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = build_optimizer([{"params": [a], "lr": 0.01}, {"params": [b]}], "adamw", lr=0.1, weight_decay=0.0)
    sched = cosine_with_warmup(opt, 2, 10)
    for _ in range(5):
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] / opt.param_groups[1]["lr"] == pytest.approx(0.1)


def test_state_dict_keeps_schedule_on_resume() -> None:
    opt = _optimizer()
    sched = cosine_with_warmup(opt, 3, 12, 0.1)
    for _ in range(5):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2 = _optimizer()
    sched2 = cosine_with_warmup(opt2, 1, 100, 0.0)  # different horizon, replaced by the saved one
    sched2.load_state_dict(state)
    opt2.step()
    sched2.step()
    opt.step()
    sched.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="min_lr_ratio"):
        cosine_with_warmup(_optimizer(), 1, 10, min_lr_ratio=1.5)
    with pytest.raises(ConfigError, match=">= 0"):
        cosine_with_warmup(_optimizer(), -1, 10)


@pytest.mark.parametrize(
    "name,cls", [("adamw", torch.optim.AdamW), ("Adam", torch.optim.Adam), ("sgd", torch.optim.SGD)]
)
def test_build_optimizer(name: str, cls: type) -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    opt = build_optimizer([p], name, lr=0.5, weight_decay=0.01)
    assert isinstance(opt, cls)
    assert opt.param_groups[0]["lr"] == 0.5
    assert opt.param_groups[0]["weight_decay"] == 0.01


def test_unknown_optimizer_says_what_is_known() -> None:
    with pytest.raises(ConfigError, match=r"known optimizers are: adam, adamw, sgd.*did you mean 'adamw'"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], "adamww")


def test_schedule_steps_from_trainer() -> None:
    trainer = SimpleNamespace(estimated_stepping_batches=20, max_epochs=5, max_steps=-1)
    assert schedule_steps(trainer, warmup_epochs=1) == (4, 20)
    assert schedule_steps(trainer, warmup_epochs=0.5, max_epochs=10) == (2, 40)
    assert schedule_steps(trainer, warmup_epochs=100) == (20, 20)  # warm-up clipped to the run
    step_limited = SimpleNamespace(estimated_stepping_batches=30, max_epochs=-1, max_steps=30)
    assert schedule_steps(step_limited, warmup_epochs=0.1) == (3, 30)
    endless = SimpleNamespace(estimated_stepping_batches=float("inf"), max_epochs=-1, max_steps=-1)
    with pytest.raises(ConfigError, match="known number of steps"):
        schedule_steps(endless, warmup_epochs=1)


def test_scheduler_config_is_per_step() -> None:
    trainer = SimpleNamespace(estimated_stepping_batches=10, max_epochs=2, max_steps=-1)
    opt = _optimizer()
    cfg = scheduler_config(opt, trainer, warmup_epochs=1, min_lr_ratio=0.0)
    assert cfg["interval"] == "step" and cfg["frequency"] == 1
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 5)


def test_warmup_from_a_start_ratio() -> None:
    """``warmup_start`` (eeg-image's schedule): linear from the floor to 1, then cosine back to it."""
    floor, warmup, total = 0.01, 10, 50
    factors = [warmup_cosine_factor(s, warmup, total, floor, warmup_start=floor) for s in range(total + 5)]
    assert factors[0] == pytest.approx(floor) and factors[5] == pytest.approx(floor + (1 - floor) * 0.5)
    assert factors[warmup] == pytest.approx(1.0) and factors[total] == pytest.approx(floor)
    mid = warmup + (total - warmup) // 2
    assert factors[mid] == pytest.approx(floor + (1 - floor) * 0.5)
    with pytest.raises(ConfigError, match="warmup_start"):
        cosine_with_warmup(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), 1, 2, 0.0, warmup_start=2.0)
