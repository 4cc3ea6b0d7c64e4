"""Training of the EEG side: the pretraining module with a warm-up from ``min_lr`` to ``lr``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from neurorep.encoders import Encoder, create_encoder
from neurorep.errors import DataError
from neurorep.export.hub import from_pretrained, load_state, load_strict
from neurorep.objectives import create_objective
from neurorep.objectives.clip import Clip
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.data import RunData
from neurorep.training import PretrainModule, build_trainer, fit

__all__ = ["AlignModule", "build_models", "train"]


class AlignModule(PretrainModule):
    """:class:`PretrainModule` whose schedule warms up from ``min_lr`` and decays to it (the NICE
    training script's): ``warmup_start = min_lr_ratio = min_lr / lr``.

    The objective built by :func:`build_models` is kept as it is (``init_from`` weights included);
    ``objective_state``, when given, is loaded into it.
    """

    def __init__(self, encoder: Encoder, objective: Clip, min_lr: float = 1e-5,
                 objective_state: dict[str, torch.Tensor] | None = None, **kwargs: Any) -> None:
        floor = min(1.0, float(min_lr) / float(kwargs.get("lr", 1e-3)))
        super().__init__(encoder, objective, min_lr_ratio=floor, warmup_start=floor, **kwargs)
        if objective_state is not None:
            load_strict(self.objective, objective_state, source="init_from objective weights")
        self.hparams["min_lr"] = float(min_lr)


def build_models(cfg: EEGImageConfig, data: RunData) -> tuple[Encoder, Clip]:
    """Encoder (fresh or from ``init_from``) and the clip objective with its projection built."""
    info = data.cache.info
    n_ch, n_t = info.n_channels, info.n_times
    if cfg.init_from:
        folder = _export_dir(Path(cfg.init_from))
        encoder = from_pretrained(folder / "encoder").train()
        if (encoder.config.get("n_channels"), encoder.config.get("n_times")) != (n_ch, n_t):
            raise DataError(f"{folder}: encoder built for {encoder.config.get('n_channels')} x "
                            f"{encoder.config.get('n_times')} windows, data has {n_ch} x {n_t}")
    else:
        encoder = create_encoder(cfg.encoder.name, **{"n_channels": n_ch, "n_times": n_t, **cfg.encoder.kwargs})
    okw: dict[str, Any] = {"target_dim": data.emb.dim, **cfg.objective.kwargs}
    if okw.get("pool") == "flatten" and okw.get("n_tokens") is None:
        okw["n_tokens"] = int(encoder.n_tokens or 0) or None
    objective = create_objective(cfg.objective.name, **okw)
    if not isinstance(objective, Clip):
        raise DataError(f"objective {cfg.objective.name!r} is not a clip-style objective with a projection")
    objective.build(encoder.embed_dim, n_ch, n_t)
    if cfg.init_from:
        path = folder / "objective" / "model.safetensors"
        load_strict(objective, load_state(path), source=str(path))
    return encoder, objective


def _export_dir(run: Path) -> Path:
    for cand in (run / "train" / "export" / "best", run / "train" / "export" / "final", run):
        if (cand / "encoder" / "config.json").is_file() and (cand / "objective" / "model.safetensors").is_file():
            return cand
    raise DataError(f"{run}: no trained eeg-image model here (expected train/export/best/encoder and objective)")


def _loader(ds: Any, batch_size: int, shuffle: bool, num_samples: int | None = None,
            num_workers: int = 0) -> DataLoader:
    if not shuffle:
        return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    n = num_samples or len(ds)
    sampler = RandomSampler(ds, replacement=n > len(ds), num_samples=n)
    return DataLoader(ds, batch_size=min(batch_size, n), sampler=sampler, num_workers=num_workers,
                      drop_last=n > batch_size and n % batch_size < 2)


def train(cfg: EEGImageConfig, data: RunData, encoder: Encoder, objective: Clip, out: Path,
          resume: bool = False) -> dict[str, Any]:
    """Fit encoder + projection (in place, best validation epoch restored); returns the fit summary."""
    t = cfg.train
    module = AlignModule(encoder, objective, min_lr=t.min_lr, lr=t.lr, weight_decay=t.weight_decay,
                         warmup_epochs=t.warmup_epochs, max_epochs=t.epochs)
    has_val = data.val is not None and len(data.val) >= 2
    trainer = build_trainer(out, max_epochs=t.epochs, monitor="val/loss" if has_val else None,
                            patience=t.patience if has_val else None, progress=cfg.progress)
    val_loader = _loader(data.val, t.batch_size, False, num_workers=t.num_workers) if has_val else None
    res = fit(module, _loader(data.train, t.batch_size, True, t.max_windows, t.num_workers), val_loader, trainer,
              ckpt_path="last" if resume else None, restore_best=True)
    return {"best_val_loss": res.best_score, "epochs": int(trainer.current_epoch),
            "n_params": int(sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in objective.parameters()))}


@torch.inference_mode()
def project(encoder: Encoder, objective: Clip, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Aligned embeddings ``[N, E]`` of windows ``x[N, C, T]`` (eval mode; mode restored)."""
    was = encoder.training, objective.training
    encoder.eval()
    objective.eval()
    try:
        out = [objective.project(encoder, torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size], np.float32)))
               for i in range(0, len(x), batch_size)]
    finally:
        encoder.train(was[0])
        objective.train(was[1])
    return torch.cat(out).float().numpy()
