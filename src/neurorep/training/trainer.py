"""Trainer factory, seeding, the ``fit`` entry point and the callbacks every run uses.

A run directory ``out_dir`` holds:

- ``tb/``: TensorBoard event files (and ``hparams.yaml``);
- ``checkpoints/``: Lightning checkpoints ``last.ckpt`` and ``best.ckpt``, kept for resuming
  only and read back with ``weights_only=True``;
- ``metrics.csv``: one row per epoch of every logged epoch-level metric;
- ``export/final`` and ``export/best``: the weights as ``config.json`` + ``model.safetensors``
  folders (see :func:`export_weights`), the form other code should load.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    RichProgressBar,
)
from lightning.pytorch.loggers import TensorBoardLogger
from safetensors.torch import save_file
from torch import nn

from neurorep.determinism import deterministic_mode
from neurorep.errors import DataError
from neurorep.progress import is_terminal, log_line
from neurorep.training.console import EpochLog, quiet_lightning
from neurorep.export.hub import save_pretrained
from neurorep.fileio import atomic_write, atomic_write_text, json_text

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
TB_DIR = "tb"
METRICS_CSV = "metrics.csv"
EXPORT_DIR = "export"


class _DropTips(logging.Filter):
    """Drop Lightning's advertising "Tip" lines from its console log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in str(record.msg)


_TIP_FILTER = _DropTips()


def _quiet_lightning_tips() -> None:
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        lg = logging.getLogger(name)
        if _TIP_FILTER not in lg.filters:
            lg.addFilter(_TIP_FILTER)


def seed_everything(seed: int, deterministic: bool | None = None) -> int:
    """Seed Python, NumPy and torch (dataloader workers included).

    With ``deterministic`` (default: the process mode, :func:`neurorep.determinism.deterministic_mode`,
    off unless ``--deterministic``) torch is asked for deterministic algorithms (warning, not failing,
    where an operation has none) and fills new tensors with NaN; without it torch's default
    algorithms run, which on CPU repeat for the same seed and thread count in practice.
    """
    seed = L.seed_everything(int(seed), workers=True, verbose=False)
    torch.use_deterministic_algorithms(deterministic_mode() if deterministic is None else deterministic,
                                       warn_only=True)
    return seed


def _to_float(value: Any) -> float | None:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        return float(value.detach().cpu().item())
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    return None


class MetricsHistory(Callback):
    """Collect the epoch-level logged metrics into ``self.rows`` and write ``metrics.csv``.

    One row per training epoch: ``epoch``, ``step``, ``lr`` (first parameter group of the first
    optimiser; further groups as ``lr_group<j>``), every epoch-level metric not starting with ``val`` (read at the
    end of the training epoch) and every metric starting with ``val`` from the validation run of
    that epoch (empty when validation did not run). Step-level copies (``*_step``) are left out.
    The file is rewritten atomically at each epoch end. The rows are part of the checkpoint, so a
    resumed run keeps the earlier epochs.
    """

    def __init__(self, out_dir: str | Path, filename: str = METRICS_CSV) -> None:
        self.path = Path(out_dir) / filename
        self.rows: list[dict[str, float]] = []
        self._val: dict[str, float] = {}
        self._val_epoch: int | None = None

    @staticmethod
    def _metrics(trainer: L.Trainer, want_val: bool) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, value in trainer.callback_metrics.items():
            if key.endswith("_step") or key.startswith("val") != want_val:
                continue
            number = _to_float(value)
            if number is not None:
                out[key] = number
        return out

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self._val = self._metrics(trainer, want_val=True)
        self._val_epoch = trainer.current_epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        row: dict[str, float] = {"epoch": float(trainer.current_epoch), "step": float(trainer.global_step)}
        if trainer.optimizers:
            for j, group in enumerate(trainer.optimizers[0].param_groups):
                row["lr" if j == 0 else f"lr_group{j}"] = float(group["lr"])
        row.update(self._metrics(trainer, want_val=False))
        if self._val_epoch == trainer.current_epoch:
            row.update(self._val)
        self.rows.append(row)
        if trainer.is_global_zero:
            self.write()

    def write(self) -> Path:
        """Write all rows to ``self.path`` (atomic); returns the path."""
        first = ["epoch", "step"]
        keys = sorted({k for row in self.rows for k in row} - set(first))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=first + keys, restval="")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: (int(v) if k in first else repr(v)) for k, v in row.items()})
        atomic_write_text(self.path, buffer.getvalue())
        return self.path

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state_dict.get("rows", [])]


class RngStateCheckpoint(Callback):
    """Save the Python, NumPy and torch (CPU and CUDA) random states in each checkpoint and
    restore them on resume, so random masks, augmentations and shuffles continue as in an
    uninterrupted run. States are stored as tensors and plain numbers (``weights_only`` safe)."""

    def state_dict(self) -> dict[str, Any]:
        np_state = np.random.get_state()
        state: dict[str, Any] = {
            "torch": torch.get_rng_state(),
            "python": random.getstate(),
            "numpy_key": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "numpy_pos": int(np_state[2]),
            "numpy_has_gauss": int(np_state[3]),
            "numpy_gauss": float(np_state[4]),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "torch" in state_dict:
            torch.set_rng_state(state_dict["torch"].cpu())
        if "python" in state_dict:
            random.setstate(_as_tuple(state_dict["python"]))
        if "numpy_key" in state_dict:
            key = state_dict["numpy_key"].cpu().numpy().astype(np.uint32)
            np.random.set_state(
                ("MT19937", key, state_dict["numpy_pos"], state_dict["numpy_has_gauss"], state_dict["numpy_gauss"])
            )
        if "cuda" in state_dict and torch.cuda.is_available() and len(state_dict["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in state_dict["cuda"]])


def _as_tuple(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuple(v) for v in value)
    return value


def build_trainer(
    out_dir: str | Path,
    max_epochs: int,
    monitor: str | None = "val/loss",
    mode: str = "min",
    patience: int | None = 5,
    progress: bool = True,
    deterministic: bool | str | None = None,
    accelerator: str = "auto",
    precision: str | int | None = None,
    log_every_n_steps: int = 10,
    limit_train_batches: float | None = None,
    enable_checkpointing: bool = True,
    callbacks: Sequence[Callback] = (),
    devices: int | str = 1,
    gradient_clip_val: float | None = None,
    strategy: str | Any = "auto",
    num_nodes: int = 1,
) -> L.Trainer:
    """Make a :class:`lightning.Trainer` writing everything under ``out_dir``.

    - TensorBoard logs in ``out_dir/tb``; per-epoch ``out_dir/metrics.csv`` (:class:`MetricsHistory`);
    - checkpoints in ``out_dir/checkpoints``: ``last.ckpt`` and, when ``monitor`` is set,
      ``best.ckpt`` by ``monitor``/``mode`` (set ``monitor=None`` for runs without validation);
    - early stopping on ``monitor`` after ``patience`` epochs without improvement (off when
      ``patience`` or ``monitor`` is ``None``);
    - with ``progress``, a rich progress bar on a terminal, or one plain line per epoch with the
      metrics and the time left (:class:`~neurorep.training.console.EpochLog`) in a log;
    - random states saved in checkpoints (:class:`RngStateCheckpoint`) for exact resumes;
    - torch's deterministic algorithms when ``deterministic`` (default: the process mode,
      :func:`neurorep.determinism.deterministic_mode`; ``"warn"`` warns where an operation has none);
    - distributed data parallel training with ``strategy="ddp"`` (or ``"ddp_spawn"``),
      ``devices`` processes per node and ``num_nodes`` nodes; on CPU the process group uses gloo.
      Each process sees ``1 / (devices * num_nodes)`` of every epoch (Lightning inserts a
      ``DistributedSampler``), so the global batch is ``devices * num_nodes * batch_size``.
      Under ``torchrun`` or SLURM ``srun`` the ranks come from the environment (docs/distributed.md).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _quiet_lightning_tips()
    logger = TensorBoardLogger(save_dir=str(out_dir / TB_DIR), name="", version="", default_hp_metric=False)
    cbs: list[Callback] = [MetricsHistory(out_dir), RngStateCheckpoint()]
    if enable_checkpointing:
        cbs.append(
            EveryEpochLastCheckpoint(
                dirpath=str(out_dir / CHECKPOINT_DIR),
                filename="best",
                monitor=monitor,
                mode=mode,
                save_top_k=1 if monitor is not None else 0,
                save_last=True,
                auto_insert_metric_name=False,
                enable_version_counter=False,
            )
        )
    if patience is not None and monitor is not None:
        cbs.append(EarlyStopping(monitor=monitor, mode=mode, patience=int(patience)))
    quiet_lightning()
    show_bar = bool(progress) and sys.stdout.isatty() and is_terminal()
    if show_bar:
        cbs.append(RichProgressBar(leave=True))
    elif progress:  # a log file or pipe: one plain line per epoch instead of a bar
        cbs.append(EpochLog(EpochLog.label_for(out_dir)))
    cbs.extend(callbacks)
    return L.Trainer(
        default_root_dir=str(out_dir),
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        logger=logger,
        callbacks=cbs,
        enable_checkpointing=enable_checkpointing,
        enable_progress_bar=show_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=deterministic_mode() if deterministic is None else deterministic,
        log_every_n_steps=log_every_n_steps,
        limit_train_batches=limit_train_batches,
        gradient_clip_val=gradient_clip_val,
    )


class EveryEpochLastCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` whose ``last.ckpt`` follows every validation (or training epoch end).

    Lightning 2.6 rewrites ``last.ckpt`` only when the top-k checkpoint changes, so after an epoch
    that did not improve the monitored metric ``last.ckpt`` held an older epoch and a resume
    repeated work (or retrained a finished run).
    """

    def _save_last_now(self, trainer: L.Trainer) -> None:
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_now(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_now(trainer)


def checkpoint_callback(trainer: L.Trainer) -> ModelCheckpoint | None:
    """The trainer's :class:`ModelCheckpoint`, or ``None``."""
    for cb in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(cb, ModelCheckpoint):
            return cb
    return None


def _resolve_ckpt(trainer: L.Trainer, ckpt_path: str | Path | None) -> str | None:
    if ckpt_path is None:
        return None
    if str(ckpt_path) == "last":
        cb = checkpoint_callback(trainer)
        if cb is not None and cb.dirpath:
            directory = Path(cb.dirpath)
        else:
            directory = Path(trainer.default_root_dir) / CHECKPOINT_DIR
        last = directory / "last.ckpt"
        if not last.is_file():
            log.info("no checkpoint at %s; starting from scratch", last)
            return None
        return str(last)
    path = Path(ckpt_path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint to resume from not found")
    return str(path)


def resume_message(ckpt: str | Path, max_epochs: int | None, label: str) -> str:
    """What resuming from ``ckpt`` will do: continue training, or only recompute the evaluation."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
    epochs = int(state.get("epoch", -1)) + 1
    stopped = any(isinstance(v, dict) and v.get("stopped_epoch", 0) for k, v in state.get("callbacks", {}).items()
                  if str(k).startswith("EarlyStopping"))
    done = stopped or (max_epochs is not None and 0 < max_epochs <= epochs)
    what = ("its training had finished, so only the evaluation is recomputed" if done
            else f"training continues with epoch {epochs + 1}" + (f" of {max_epochs}" if max_epochs else ""))
    return f"{label}: resuming from {ckpt} (saved after epoch {epochs}); {what}"


@dataclass
class FitResult:
    """What :func:`fit` produced: checkpoint paths, exported weight folders and the best score."""

    out_dir: Path
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    best_score: float | None
    final_export: Path | None
    best_export: Path | None


def fit(
    module: L.LightningModule,
    train_loader: Iterable[Any],
    val_loader: Iterable[Any] | None,
    trainer: L.Trainer,
    ckpt_path: str | Path | None = None,
    export: bool = True,
    restore_best: bool = False,
) -> FitResult:
    """Train ``module`` and export its weights as safetensors.

    ``ckpt_path="last"`` resumes from ``<out_dir>/checkpoints/last.ckpt`` when it exists (and
    starts from scratch otherwise); any other path must exist. Checkpoints are read with
    ``weights_only=True``. When ``export`` and the module has an ``export(directory)`` method,
    the final weights go to ``<out_dir>/export/final`` and those of the best checkpoint to
    ``<out_dir>/export/best``. With ``restore_best`` the module holds the best weights on return
    (otherwise the final ones).
    """
    out_dir = Path(trainer.default_root_dir)
    resolved = _resolve_ckpt(trainer, ckpt_path)
    if resolved is not None:
        log_line(resume_message(resolved, trainer.max_epochs, EpochLog.label_for(out_dir)))
    trainer.fit(module, train_loader, val_loader, ckpt_path=resolved, weights_only=True)

    cb = checkpoint_callback(trainer)
    last = Path(cb.last_model_path) if cb is not None and cb.last_model_path else None
    best = Path(cb.best_model_path) if cb is not None and cb.best_model_path else None
    score = _to_float(cb.best_model_score) if cb is not None and cb.best_model_score is not None else None
    if score is not None and not math.isfinite(score):
        score = None
    final_dir = best_dir = None
    can_export = export and hasattr(module, "export") and trainer.is_global_zero
    if can_export:
        final_dir = module.export(out_dir / EXPORT_DIR / "final")  # type: ignore[operator]
    if best is not None and best.is_file() and (can_export or restore_best):
        final_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        checkpoint = torch.load(best, map_location="cpu", weights_only=True)
        module.load_state_dict(checkpoint["state_dict"], strict=True)
        if can_export:
            best_dir = module.export(out_dir / EXPORT_DIR / "best")  # type: ignore[operator]
        if not restore_best:
            module.load_state_dict(final_state, strict=True)
    return FitResult(out_dir, last, best, score, final_dir, best_dir)


def export_weights(model: nn.Module, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as ``config.json`` + ``model.safetensors`` into ``directory``.

    Registered models (with ``registry_name``) go through :func:`neurorep.export.hub.save_pretrained`
    and can be rebuilt by name; others are written with their class path as ``architecture``
    and ``"registered": false`` (weights only, loadable into a model built by hand).
    """
    directory = Path(directory)
    if getattr(model, "registry_name", ""):
        return save_pretrained(model, directory, extra=extra)
    directory.mkdir(parents=True, exist_ok=True)
    cls = type(model)
    config = {
        "architecture": f"{cls.__module__}.{cls.__qualname__}",
        "registered": False,
        "kwargs": getattr(model, "config", {}),
        **(extra or {}),
    }
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write(directory / "model.safetensors", lambda p: save_file(state, str(p), metadata={"format": "pt"}))
    atomic_write_text(directory / "config.json", json_text(config, indent=2, default=str))
    return directory
