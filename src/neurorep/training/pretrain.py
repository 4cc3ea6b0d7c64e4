"""One LightningModule for the pretraining role: any encoder trained with any objective."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import torch

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.training.schedules import build_optimizer, scheduler_config
from neurorep.training.trainer import export_weights


def _plain(value: Any) -> Any:
    """A JSON round trip of ``value`` (non-JSON leaves become strings), safe for checkpoints."""
    return json.loads(json.dumps(value, default=str))


def _batch_size(batch: dict[str, torch.Tensor]) -> int:
    return int(batch["x"].shape[0])


def log_parts(
    module: L.LightningModule,
    out: dict[str, Any],
    stage: str,
    batch_size: int,
    prog_bar_loss: bool = True,
) -> None:
    """Log every scalar entry of an objective's output as ``<stage>/<name>`` (epoch means).

    During training the loss is also logged per step as ``train/loss_step`` (progress bar and
    TensorBoard). Non-scalar entries (tensors with more than one element, non-numbers) are skipped.
    """
    for name, value in out.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                continue
            value = value.detach().float().reshape(())
        elif not isinstance(value, (int, float)):
            continue
        module.log(
            f"{stage}/{name}",
            value,
            on_step=False,
            on_epoch=True,
            prog_bar=prog_bar_loss and name == "loss" and stage != "train",
            batch_size=batch_size,
            sync_dist=stage != "train",
        )
        if stage == "train" and name == "loss":
            module.log(
                "train/loss_step", value, on_step=True, on_epoch=False, prog_bar=prog_bar_loss, batch_size=batch_size
            )


class PretrainModule(L.LightningModule):
    """Self-supervised pretraining: ``loss = objective(encoder, batch)["loss"]``.

    Batches are dicts with ``x`` of shape ``[B, C, T]`` (plus whatever the objective reads).
    The objective's heads are built in ``__init__`` from ``encoder.embed_dim`` and the input
    shape ``(n_channels, n_times)``, read from ``encoder.config`` unless given here (an objective
    already built for that shape is kept as it is, trained weights included). AdamW over
    encoder and objective parameters, linear warm-up for ``warmup_epochs`` (from
    ``warmup_start * lr`` when given) then cosine decay to ``min_lr_ratio * lr`` over ``max_epochs`` (default: the trainer's ``max_epochs``), stepped
    every optimiser step.
    """

    def __init__(
        self,
        encoder: Encoder,
        objective: Objective,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_epochs: float = 1,
        max_epochs: int | None = None,
        min_lr_ratio: float = 0.01,
        optimizer: str = "adamw",
        n_channels: int | None = None,
        n_times: int | None = None,
        warmup_start: float | None = None,
    ) -> None:
        super().__init__()
        config = encoder.config or {}
        n_channels = n_channels if n_channels is not None else config.get("n_channels")
        n_times = n_times if n_times is not None else config.get("n_times")
        if n_channels is None or n_times is None:
            raise ConfigError(
                f"{type(encoder).__name__}.config needs 'n_channels' and 'n_times' (found keys: "
                f"{', '.join(sorted(config)) or 'none'}); pass n_channels= and n_times= to PretrainModule"
            )
        self.encoder = encoder
        self.objective = objective
        self.objective.ensure_built(int(encoder.embed_dim), int(n_channels), int(n_times))
        self.save_hyperparameters(ignore=["encoder", "objective"])
        self.hparams["n_channels"] = int(n_channels)
        self.hparams["n_times"] = int(n_times)
        self.hparams["encoder_name"] = encoder.registry_name or type(encoder).__name__
        self.hparams["encoder_config"] = _plain(config)
        self.hparams["objective_name"] = objective.registry_name or type(objective).__name__
        self.hparams["objective_config"] = _plain(objective.config or {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> embedding[B, D]``."""
        return self.encoder(x)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        out = self.objective(self.encoder, batch)
        log_parts(self, out, "train", _batch_size(batch))
        return out["loss"]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        out = self.objective(self.encoder, batch)
        log_parts(self, out, "val", _batch_size(batch))

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        out = self.objective(self.encoder, batch)
        log_parts(self, out, "test", _batch_size(batch))

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Embeddings ``[B, D]`` of ``batch["x"]``."""
        return self.encoder(batch["x"])

    def configure_optimizers(self) -> dict[str, Any]:
        params = [p for p in self.parameters() if p.requires_grad]
        hp = self.hparams
        optimizer = build_optimizer(params, hp.optimizer, lr=hp.lr, weight_decay=hp.weight_decay)
        return {
            "optimizer": optimizer,
            "lr_scheduler": scheduler_config(optimizer, self.trainer, hp.warmup_epochs, hp.max_epochs, hp.min_lr_ratio,
                                             hp.get("warmup_start")),
        }

    def export(self, directory: str | Path) -> Path:
        """Write ``directory/encoder`` (and ``directory/objective`` when the objective has
        weights) as ``config.json`` + ``model.safetensors``; returns ``directory``."""
        directory = Path(directory)
        export_weights(self.encoder, directory / "encoder")
        if len(self.objective.state_dict()) > 0:
            export_weights(self.objective, directory / "objective")
        return directory
