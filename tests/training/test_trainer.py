"""build_trainer, seed_everything, fit (resume, export, best weights), MetricsHistory, RNG states."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from neurorep.errors import DataError
from neurorep.export.hub import load_config, load_state
from neurorep.training import (
    MetricsHistory,
    RngStateCheckpoint,
    build_trainer,
    export_weights,
    fit,
    seed_everything,
)
from tests.training.helpers import LIGHTNING_WARNINGS

pytestmark = LIGHTNING_WARNINGS


class Regressor(L.LightningModule):
    """``y = w x``: batches are ``(x[B, 4], y[B, 1])``; logs ``train/mse`` and ``val/mse``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 1)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = torch.mean((self.net(batch[0]) - batch[1]) ** 2)
        self.log("train/mse", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", torch.mean((self.net(batch[0]) - batch[1]) ** 2))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)

    def export(self, directory: Path) -> Path:
        return export_weights(self.net, directory)


def _loader(seed: int = 0, n: int = 32) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])
    return DataLoader(TensorDataset(x, y), batch_size=8)


def test_build_trainer_layout(tmp_path: Path) -> None:
    trainer = build_trainer(tmp_path / "run", max_epochs=3, progress=True, accelerator="cpu")
    assert Path(trainer.logger.log_dir) == tmp_path / "run" / "tb"
    ckpt = next(cb for cb in trainer.callbacks if isinstance(cb, ModelCheckpoint))
    assert Path(ckpt.dirpath) == tmp_path / "run" / "checkpoints"
    assert ckpt.monitor == "val/loss" and ckpt.save_last
    stop = next(cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping))
    assert stop.patience == 5 and stop.monitor == "val/loss"
    assert any(isinstance(cb, MetricsHistory) for cb in trainer.callbacks)
    assert any(isinstance(cb, RngStateCheckpoint) for cb in trainer.callbacks)
    # pytest captures stdout: not a terminal, so no progress bar
    assert not any(isinstance(cb, RichProgressBar) for cb in trainer.callbacks)
    assert trainer.max_epochs == 3 and trainer.num_sanity_val_steps == 0

    quiet = build_trainer(
        tmp_path / "q", max_epochs=1, patience=None, monitor="val/acc", mode="max", enable_checkpointing=False
    )
    assert not any(isinstance(cb, (EarlyStopping, ModelCheckpoint)) for cb in quiet.callbacks)


def test_seed_everything_is_repeatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEUROREP_DETERMINISTIC", raising=False)
    seed_everything(7)
    a = (torch.rand(3), np.random.rand(3), random.random())
    seed_everything(7)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert torch.are_deterministic_algorithms_enabled() is False  # deterministic mode is opt-in


def test_metrics_history_and_exports(tmp_path: Path) -> None:
    seed_everything(0)
    module = Regressor()
    trainer = build_trainer(tmp_path, max_epochs=3, progress=False, accelerator="cpu", log_every_n_steps=1)
    result = fit(module, _loader(), _loader(seed=1), trainer)
    with (tmp_path / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert list(rows[0])[:2] == ["epoch", "step"]
    assert {"train/mse_epoch", "val/loss", "lr"} <= set(rows[0])
    assert not any(k.endswith("_step") for k in rows[0])
    assert float(rows[2]["val/loss"]) < float(rows[0]["val/loss"])
    assert [int(r["step"]) for r in rows] == [4, 8, 12]
    assert not list(tmp_path.glob(".metrics.csv.*"))  # no temporary file left behind
    history = next(cb for cb in trainer.callbacks if isinstance(cb, MetricsHistory))
    assert len(history.rows) == 3
    # checkpoints are readable without unpickling arbitrary objects
    ckpt = torch.load(result.last_checkpoint, weights_only=True)
    assert ckpt["epoch"] == 2
    # exports: final == current weights; best == best checkpoint weights
    assert result.best_checkpoint == tmp_path / "checkpoints" / "best.ckpt"
    assert load_config(result.final_export)["registered"] is False
    final = load_state(result.final_export / "model.safetensors")
    assert torch.equal(final["weight"], module.net.weight.detach())
    best = torch.load(result.best_checkpoint, weights_only=True)["state_dict"]
    assert torch.equal(load_state(result.best_export / "model.safetensors")["weight"], best["net.weight"])
    assert result.best_score == pytest.approx(min(float(r["val/loss"]) for r in rows))


def test_validation_columns_only_when_validation_ran(tmp_path: Path) -> None:
    seed_everything(0)
    trainer = L.Trainer(
        max_epochs=2, check_val_every_n_epoch=2, logger=False, accelerator="cpu", enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        callbacks=[MetricsHistory(tmp_path)],
    )
    trainer.fit(Regressor(), _loader(), _loader(seed=1))
    with (tmp_path / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["val/loss"] == "" and rows[1]["val/loss"] != ""


def test_resume_last_without_checkpoint_starts_fresh(tmp_path: Path) -> None:
    seed_everything(0)
    trainer = build_trainer(tmp_path, max_epochs=1, monitor=None, progress=False, accelerator="cpu")
    result = fit(Regressor(), _loader(), None, trainer, ckpt_path="last")
    assert result.last_checkpoint == tmp_path / "checkpoints" / "last.ckpt"
    assert result.best_checkpoint is None and result.best_export is None
    # resuming a finished run to a later epoch continues from the saved epoch
    trainer = build_trainer(tmp_path, max_epochs=2, monitor=None, progress=False, accelerator="cpu")
    fit(Regressor(), _loader(), None, trainer, ckpt_path="last")
    assert trainer.current_epoch == 2 and trainer.global_step == 8
    with pytest.raises(DataError, match="nowhere.ckpt"):
        trainer = build_trainer(tmp_path, 1, progress=False, accelerator="cpu")
        fit(Regressor(), _loader(), None, trainer, ckpt_path=tmp_path / "nowhere.ckpt")


def test_restore_best(tmp_path: Path) -> None:
    seed_everything(0)
    module = Regressor()
    trainer = build_trainer(tmp_path, max_epochs=2, progress=False, accelerator="cpu")
    result = fit(module, _loader(), _loader(seed=1), trainer, restore_best=True)
    best = torch.load(result.best_checkpoint, weights_only=True)["state_dict"]
    assert torch.equal(module.net.weight.detach(), best["net.weight"])


def test_rng_state_round_trip() -> None:
    cb = RngStateCheckpoint()
    seed_everything(3)
    state = cb.state_dict()
    first = (torch.rand(4), np.random.rand(4), random.random(), np.random.randn())
    torch.rand(10)
    cb.load_state_dict(state)
    second = (torch.rand(4), np.random.rand(4), random.random(), np.random.randn())
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert first[2] == second[2] and first[3] == second[3]


def test_export_weights_registered_and_not(tmp_path: Path) -> None:
    plain = nn.Linear(3, 2)
    export_weights(plain, tmp_path / "plain")
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert config["architecture"].endswith("Linear") and config["registered"] is False
    assert set(load_state(tmp_path / "plain" / "model.safetensors")) == {"weight", "bias"}

    class Named(nn.Linear):
        registry_name = "named_linear"

    export_weights(Named(3, 2), tmp_path / "named", extra={"note": "x"})
    assert load_config(tmp_path / "named") == {"architecture": "named_linear", "kwargs": {}, "note": "x"}


class NoProgress(Regressor):
    """Logs a validation loss that never improves after the first epoch."""

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", torch.tensor(1.0))


def test_last_checkpoint_follows_every_epoch_even_without_improvement(tmp_path: Path) -> None:
    """``last.ckpt`` is the latest epoch (a resume continues from there); ``best.ckpt`` stays the best."""
    trainer = build_trainer(tmp_path, max_epochs=3, monitor="val/loss", patience=None, progress=False)
    fit(NoProgress(), _loader(0), _loader(1), trainer)
    ck = tmp_path / "checkpoints"
    assert torch.load(ck / "last.ckpt", weights_only=True)["epoch"] == 2
    assert torch.load(ck / "best.ckpt", weights_only=True)["epoch"] == 0


def test_deterministic_mode_is_opt_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from neurorep.determinism import DETERMINISTIC_ENV, deterministic, deterministic_mode

    monkeypatch.delenv(DETERMINISTIC_ENV, raising=False)
    seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled() and not deterministic_mode()
    assert build_trainer(tmp_path / "a", max_epochs=1, progress=False) is not None
    assert not torch.are_deterministic_algorithms_enabled()
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    with deterministic(True):
        seed_everything(0)
        assert torch.are_deterministic_algorithms_enabled() and deterministic_mode()
        build_trainer(tmp_path / "b", max_epochs=1, progress=False)
        assert torch.are_deterministic_algorithms_enabled()
    assert DETERMINISTIC_ENV not in os.environ
    seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()


def test_resume_keeps_the_mode_the_run_started_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from neurorep import runs
    from neurorep.determinism import DETERMINISTIC_ENV, deterministic
    from neurorep.errors import ConfigError

    monkeypatch.delenv(DETERMINISTIC_ENV, raising=False)
    assert runs.run_mode(tmp_path, flag=False, resume=False) is False
    assert runs.run_mode(tmp_path, flag=True, resume=False) is True
    for started in (False, True):
        out = tmp_path / str(started)
        out.mkdir()
        with deterministic(started):
            (out / "environment.json").write_text(json.dumps(runs.environment()))
        assert json.loads((out / "environment.json").read_text())["deterministic"] is started
        assert runs.run_mode(out, flag=False, resume=True) is started
    assert runs.run_mode(tmp_path / "True", flag=True, resume=True) is True
    with pytest.raises(ConfigError, match="started without --deterministic"):
        runs.run_mode(tmp_path / "False", flag=True, resume=True)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "environment.json").write_text("{}")  # written before the mode was recorded: deterministic
    assert runs.run_mode(legacy, flag=False, resume=True) is True
    (legacy / "environment.json").write_text('{"deterministic": "yes"}')
    with pytest.raises(DataError, match="environment.json"):
        runs.run_mode(legacy, flag=False, resume=True)


def test_cli_run_has_deterministic_flag() -> None:
    from neurorep.cli import build_parser

    assert build_parser().parse_args(["run", "c.yaml", "--deterministic"]).deterministic is True
    assert build_parser().parse_args(["run", "c.yaml"]).deterministic is False
