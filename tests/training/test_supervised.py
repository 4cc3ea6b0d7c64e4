"""SupervisedModule: learning, unlabelled samples, freezing, LR groups, class weights, predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from neurorep.export.hub import load_config
from neurorep.training import (
    SupervisedModule,
    build_trainer,
    class_weights_from_labels,
    fit,
    load_head,
    predict,
    seed_everything,
)
from tests.training.helpers import LIGHTNING_WARNINGS, C, T, TinyEncoder

pytestmark = LIGHTNING_WARNINGS

K = 3


class Separable(Dataset):
    """Class ``k`` has a constant offset pattern plus small noise; ``unlabelled`` fraction gets ``y = -1``."""

    def __init__(self, n: int = 48, seed: int = 0, unlabelled: float = 0.0) -> None:
        g = torch.Generator().manual_seed(seed)
        patterns = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])[:, :, None].expand(K, C, T)
        self.y = torch.arange(n) % K
        self.x = patterns[self.y] + 0.3 * torch.randn(n, C, T, generator=g)
        self.label = self.y.clone()
        self.label[torch.rand(n, generator=g) < unlabelled] = -1

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.label[i], "index": torch.tensor(i)}


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _train(out: Path, epochs: int, unlabelled: float = 0.0, **kw: object) -> tuple[SupervisedModule, object]:
    seed_everything(0)
    module = SupervisedModule(TinyEncoder(), K, lr=5e-2, warmup_epochs=0.2, **kw)
    train = DataLoader(Separable(unlabelled=unlabelled), batch_size=8, shuffle=True)
    val = DataLoader(Separable(n=30, seed=1), batch_size=16)
    trainer = build_trainer(
        out, max_epochs=epochs, monitor="val/bal_acc", mode="max", progress=False, accelerator="cpu"
    )
    result = fit(module, train, val, trainer)
    return module, trainer, result


def test_learns_separable_problem_with_unlabelled_samples(tmp_path: Path) -> None:
    module, trainer, result = _train(tmp_path, epochs=4, unlabelled=0.3, class_names=["a", "b", "c"])
    assert float(trainer.callback_metrics["val/bal_acc"]) > 0.9
    assert float(trainer.callback_metrics["val/macro_f1"]) > 0.9
    assert "train/loss" in trainer.callback_metrics
    assert result.best_score is not None and result.best_score > 0.9
    head_dir = result.best_export / "head"
    assert load_config(head_dir)["class_names"] == ["a", "b", "c"]
    head = load_head(head_dir)
    assert head[1].out_features == K
    logits, y = predict(module, DataLoader(Separable(n=30, seed=1), batch_size=7))
    assert logits.shape == (30, K) and logits.dtype == np.float32
    np.testing.assert_array_equal(y, np.arange(30) % K)
    assert (logits.argmax(1) == y).mean() > 0.9


def test_unlabelled_rows_are_ignored_in_the_loss() -> None:
    torch.manual_seed(0)
    weights = torch.tensor([1.0, 2.0, 0.5])
    module = SupervisedModule(TinyEncoder(), K, class_weights=weights, label_smoothing=0.1)
    logits = torch.randn(6, K, requires_grad=True)
    y = torch.tensor([0, -1, 2, 1, -1, 2])
    loss, n = module._loss(logits, y)
    keep = y != -1
    expected = F.cross_entropy(logits[keep], y[keep], weight=weights, label_smoothing=0.1)
    assert n == 4
    torch.testing.assert_close(loss, expected)
    zero, n0 = module._loss(logits, torch.full((6,), -1))
    assert n0 == 0 and zero.item() == 0.0
    zero.backward()  # still differentiable
    assert torch.count_nonzero(logits.grad) == 0


def test_freeze_encoder_leaves_encoder_unchanged(tmp_path: Path) -> None:
    seed_everything(0)
    encoder = TinyEncoder()
    before = _state(encoder)
    module = SupervisedModule(encoder, K, lr=5e-2, freeze_encoder=True)
    head_before = _state(module.head)
    train = DataLoader(Separable(), batch_size=8, shuffle=True)
    trainer = build_trainer(tmp_path, max_epochs=1, monitor=None, progress=False, accelerator="cpu")
    fit(module, train, None, trainer)
    after = _state(module.encoder)
    for k in before:  # weights and BatchNorm running statistics
        assert torch.equal(before[k], after[k]), k
    assert any(not torch.equal(head_before[k], v) for k, v in _state(module.head).items())
    module.train()
    assert module.head.training and not module.encoder.training
    assert all(not p.requires_grad for p in module.encoder.parameters())
    groups = trainer.optimizers[0].param_groups
    assert [g["name"] for g in groups] == ["head"]


def test_encoder_lr_scale_gives_two_groups(tmp_path: Path) -> None:
    seed_everything(0)
    module = SupervisedModule(TinyEncoder(), K, lr=0.02, encoder_lr_scale=0.1, weight_decay=0.0)
    train = DataLoader(Separable(n=16), batch_size=8)
    trainer = build_trainer(
        tmp_path, max_epochs=1, monitor=None, progress=False, accelerator="cpu", enable_checkpointing=False
    )
    fit(module, train, None, trainer, export=False)
    groups = trainer.optimizers[0].param_groups
    assert [g["name"] for g in groups] == ["encoder", "head"]
    assert groups[0]["initial_lr"] == pytest.approx(0.002)
    assert groups[1]["initial_lr"] == pytest.approx(0.02)
    assert groups[0]["lr"] / groups[1]["lr"] == pytest.approx(0.1)
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in module.encoder.parameters()}
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in module.head.parameters()}


def test_class_weights_from_labels() -> None:
    y = torch.tensor([0, 0, 0, 1, -1, 0, 1, -1])  # 6 labelled: counts [4, 2, 0, 0]
    w = class_weights_from_labels(y, 4)
    torch.testing.assert_close(w, torch.tensor([6 / (4 * 4), 6 / (4 * 2), 0.0, 0.0]))
    balanced = class_weights_from_labels([0, 1, 2, 0, 1, 2], 3)
    torch.testing.assert_close(balanced, torch.ones(3))
    assert w.dtype == torch.float32


def test_bad_arguments() -> None:
    from neurorep.errors import ConfigError

    with pytest.raises(ConfigError, match="class_weights"):
        SupervisedModule(TinyEncoder(), K, class_weights=torch.ones(2))
    with pytest.raises(ConfigError, match="class_names"):
        SupervisedModule(TinyEncoder(), K, class_names=["a"])
    with pytest.raises(ConfigError, match=r"\[0, 2\]"):
        class_weights_from_labels([0, 5], 3)
