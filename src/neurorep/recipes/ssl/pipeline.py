"""One ssl run on any prepared cache: pretrain (or not) -> embed -> linear probe -> fine-tune -> latent
benchmark -> plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from torch.utils.data import ConcatDataset, DataLoader, Dataset, RandomSampler

from neurorep.data.cache import WindowCache
from neurorep.data.cache_info import CacheInfo
from neurorep.data.dataset import WindowDataset
from neurorep.data.prepared import PreparedData, setup_data
from neurorep.encoders import Encoder, create_encoder
from neurorep.encoders.registry import ENCODERS
from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.latent import latent_benchmark
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.probe import label_fraction_subset, linear_probe
from neurorep.objectives import create_objective
from neurorep.objectives.registry import OBJECTIVES
from neurorep.recipes.ssl.config import SSLConfig
from neurorep.recipes.ssl.data import cache_folder
from neurorep.recipes.ssl.pairs import PairWindows, pair_loader
from neurorep.recipes.ssl.plots import write_run_plots
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json
from neurorep.training import (
    PretrainModule,
    build_trainer,
    class_weights_from_labels,
    embed,
    fit,
    predict,
    seed_everything,
)
from neurorep.training.classifier import ClassifierModule
from neurorep.recipes.base import RunPlots


def check_names(cfg: SSLConfig) -> None:
    """Fail early (before any folder is written) on unknown encoder or objective names or arguments."""
    ENCODERS.check_kwargs(cfg.encoder.name, cfg.encoder.kwargs)
    if cfg.method == "ssl":
        OBJECTIVES.check_kwargs(cfg.objective.name, cfg.objective.kwargs)


def loader(ds: WindowDataset, batch_size: int, seed: int, shuffle: bool, num_samples: int | None = None,
           num_workers: int = 0) -> DataLoader:
    """Batches of dict samples; with ``num_samples`` an epoch draws that many (with replacement if needed)."""
    if not shuffle:
        return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    n = num_samples or len(ds)
    # the global generator (seeded by seed_everything, saved in checkpoints) draws the order,
    # so a resumed run continues with the same batches
    sampler = RandomSampler(ds, replacement=n > len(ds), num_samples=n)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=num_workers, drop_last=n >= 2 * batch_size)


def data_kwargs(registry: Any, name: str, info: CacheInfo, given: dict[str, Any]) -> dict[str, Any]:
    """Shape arguments of ``name`` in ``registry`` (encoders or objectives) from the cache: ``n_channels``,
    ``n_times`` and ``sfreq`` where its constructor takes them and the config does not set them."""
    import inspect

    params = inspect.signature(registry.get(name)).parameters
    shape = {"n_channels": len(info.ch_names), "n_times": info.n_times, "sfreq": info.sfreq}
    return {k: v for k, v in shape.items() if k in params and k not in given}


def build_encoder(cfg: SSLConfig, info: CacheInfo) -> Encoder:
    """The configured encoder sized for the cache (channels, window, rate); an encoder that cannot take
    them fails with a :class:`ConfigError` naming it and the cache's shape."""
    if cfg.weights is not None:  # published or saved weights, checked against the cache by their contract
        from neurorep.hub import encoder_with_weights

        w = cfg.weights
        return encoder_with_weights(cfg.encoder.name, w.source, n_channels=len(info.ch_names), n_times=info.n_times,
                                    sfreq=info.sfreq, ch_names=list(info.ch_names), channel_mapping=w.channel_mapping,
                                    resample=w.resample, model_kwargs=cfg.encoder.kwargs)
    kwargs = {**data_kwargs(ENCODERS, cfg.encoder.name, info, cfg.encoder.kwargs), **cfg.encoder.kwargs}
    try:
        return create_encoder(cfg.encoder.name, **kwargs)
    except ConfigError as exc:
        raise ConfigError(f"encoder {cfg.encoder.name} cannot take this cache ({len(info.ch_names)} channels, "
                          f"{info.n_times} samples at {info.sfreq:g} Hz): {exc}; prepare the cache with "
                          "another --window/--sfreq or choose other encoder.kwargs") from None


def build_objective(cfg: SSLConfig, info: CacheInfo) -> Any:
    """The configured objective, given the cache's rate (for frequency-domain augmentations)."""
    kwargs = {**data_kwargs(OBJECTIVES, cfg.objective.name, info, cfg.objective.kwargs), **cfg.objective.kwargs}
    return create_objective(cfg.objective.name, **kwargs)


def pretraining_windows(train: WindowDataset, extra: list[str]) -> Dataset[dict[str, torch.Tensor]]:
    """``train`` plus every window of the ``extra`` caches; a cache whose channels, rate or window length
    differ from the run's is a :class:`DataError` naming it (raised before anything trains)."""
    if not extra:
        return train
    info, parts = train.cache.info, [train]
    for path in extra:
        other = WindowCache(cache_folder(path))
        o = other.info
        if (o["ch_names"], float(o["sfreq"]), int(o["n_times"])) != (info["ch_names"], float(info["sfreq"]),
                                                                      int(info["n_times"])):
            raise DataError(f"{path}: pretrain.extra_caches must match the run's cache (channels, rate, window "
                            f"length); it has {len(o['ch_names'])} channels, {o['n_times']} samples at "
                            f"{o['sfreq']:g} Hz, the run {len(info['ch_names'])}, {info['n_times']} at "
                            f"{info['sfreq']:g} Hz")
        parts.append(WindowDataset(other))
    return ConcatDataset(parts)


def check_pretraining(cfg: SSLConfig, cache: Any) -> None:
    """Refuse, before anything trains, extra caches that do not match and, for the temporal-context
    objectives, pretraining windows of which none has a partner (a :class:`DataError` either way)."""
    windows = pretraining_windows(WindowDataset(cache), list(cfg.pretrain.extra_caches))
    sampling = build_objective(cfg, cache.info).pair_sampling
    if sampling is not None:
        parts = list(windows.datasets) if isinstance(windows, ConcatDataset) else [windows]
        PairWindows(parts, sampling["tau_pos"], sampling["tau_neg"], cfg.seed, sampling.get("tau_min", 0.0))


def pretrain(cfg: SSLConfig, encoder: Encoder, train: Dataset[dict[str, torch.Tensor]], val: WindowDataset, out: Path,
             resume: bool) -> dict[str, Any]:
    """Self-supervised pretraining of ``encoder`` (in place); returns the fit summary.

    Objectives with a ``pair_sampling`` (the temporal-context ones) get window pairs from one recording
    (:mod:`neurorep.recipes.ssl.pairs`) and validate on a fixed draw of pairs of the same windows.
    With ``pretrain.windows: all`` and ``pretrain.reuse`` the result depends on no fold, so the weights
    are stored beside the run folders and the other folds of the grid load them instead of pretraining
    again.
    """
    p = cfg.pretrain
    objective = build_objective(cfg, val.cache.info)
    stored = _shared_weights_path(cfg, val.cache, out) if p.windows == "all" and p.reuse else None
    if stored is not None and _wait_for_other_fold(stored):
        from safetensors.torch import load_file

        encoder.load_state_dict(load_file(str(stored)))
        return {"reused": str(stored.name)}
    try:
        return _pretrain(cfg, p, objective, encoder, train, val, out, resume, stored)
    finally:
        if stored is not None:
            stored.with_suffix(".lock").unlink(missing_ok=True)


def _wait_for_other_fold(stored: Path) -> bool:
    """True when the shared weights at ``stored`` exist or another fold (another process) is pretraining
    them and finishes; False when this fold must pretrain (it then holds the lock file)."""
    import os
    import time

    stored.parent.mkdir(parents=True, exist_ok=True)
    lock = stored.with_suffix(".lock")
    while not stored.exists():
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:  # another fold is pretraining: it stores the weights, then removes the lock
            if not _holder_alive(lock):
                lock.unlink(missing_ok=True)  # left by a process that was killed: take over
            time.sleep(2)
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return False
    return True


def _holder_alive(lock: Path) -> bool:
    """Whether the process whose id is in ``lock`` still runs (a lock being written counts as alive)."""
    import os

    try:
        text = lock.read_text().strip()
    except FileNotFoundError:
        return True
    if not text.isdigit():
        return True
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pretrain(cfg: SSLConfig, p: Any, objective: Any, encoder: Encoder, train: Dataset[dict[str, torch.Tensor]],
              val: WindowDataset, out: Path, resume: bool, stored: Path | None) -> dict[str, Any]:
    module = PretrainModule(encoder, objective, lr=p.lr, weight_decay=p.weight_decay, warmup_epochs=p.warmup_epochs,
                            max_epochs=p.epochs)
    trainer = build_trainer(out / "pretrain", max_epochs=p.epochs, monitor="val/loss", patience=p.patience,
                            progress=cfg.progress)
    sampling = objective.pair_sampling
    if sampling is not None:
        parts = list(train.datasets) if isinstance(train, ConcatDataset) else [train]
        taus = (sampling["tau_pos"], sampling["tau_neg"])
        tau_min = sampling.get("tau_min", 0.0)
        train_loader = pair_loader(PairWindows(parts, *taus, cfg.seed, tau_min), sampling, p.batch_size,
                                   p.max_windows, cfg.seed, p.num_workers)
        val_pairs = PairWindows(parts, *taus, cfg.seed + 10_000, tau_min)
        val_loader = pair_loader(val_pairs, sampling, p.batch_size, min(len(val_pairs), p.max_val_windows or 512),
                                 cfg.seed + 10_000, p.num_workers)
    else:
        train_loader = loader(train, p.batch_size, cfg.seed, True, p.max_windows, p.num_workers)
        val_loader = loader(_cap(val, p.max_val_windows, cfg.seed), p.batch_size, cfg.seed, False,
                            num_workers=p.num_workers)
    res = fit(module, train_loader, val_loader, trainer, ckpt_path="last" if resume else None, restore_best=True)
    if stored is not None:
        from safetensors.torch import save_file as save_tensors

        stored.parent.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_suffix(f".tmp{cfg.fold}")
        save_tensors({k: v.detach().contiguous() for k, v in encoder.state_dict().items()}, str(tmp))
        tmp.replace(stored)  # atomic: a fold running at the same time sees all of it or nothing
    return {"best_val_loss": res.best_score, "epochs": trainer.current_epoch}


def _shared_weights_path(cfg: SSLConfig, cache: Any, out: Path) -> Path:
    """Where a fold-independent pretraining (``windows: all``) is stored for the other folds: beside the
    run folders, named by a hash of everything it depends on (not the fold)."""
    import hashlib
    import json

    extra = [(str(x), WindowCache(cache_folder(x)).info["key"]) for x in cfg.pretrain.extra_caches]
    key = {"cache": cache.info["key"], "extra": extra, "seed": cfg.seed, "encoder": cfg.encoder.model_dump(),
           "objective": cfg.objective.model_dump(), "pretrain": cfg.pretrain.model_dump()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return out.parent / "_pretrained" / f"{digest}.safetensors"


def supervised(cfg: SSLConfig, encoder: Encoder, train: WindowDataset, val: WindowDataset, test: WindowDataset,
               fraction: float, out: Path, pretrained: bool, classes: list[str], resume: bool) -> dict[str, Any]:
    """Train ``encoder`` + a linear head on a stratified ``fraction`` of the training labels; test it."""
    f = cfg.finetune
    idx = label_fraction_subset(train.labels, fraction, seed=cfg.seed)
    subset = WindowDataset(train.cache, train.indices[idx])
    weights = class_weights_from_labels(torch.as_tensor(subset.labels), len(classes)) if f.class_weighted else None
    module = ClassifierModule(encoder, len(classes), lr=f.lr, weight_decay=f.weight_decay,
                              warmup_epochs=f.warmup_epochs, class_weights=weights,
                              encoder_lr_scale=f.encoder_lr_scale if pretrained else 1.0, class_names=classes,
                              max_epochs=f.epochs)
    trainer = build_trainer(out, max_epochs=f.epochs, monitor="val/loss", patience=f.patience, progress=cfg.progress)
    n = max(f.max_windows or len(subset), f.batch_size)
    fit(module, loader(subset, f.batch_size, cfg.seed, True, n, f.num_workers),
        loader(_cap(val, f.max_val_windows, cfg.seed), f.batch_size, cfg.seed, False), trainer, ckpt_path="last" if resume else None, restore_best=True)
    logits, y = predict(module, loader(test, 256, cfg.seed, False))
    metrics = classification_metrics(y, logits.argmax(1), classes)
    return {"n_train": len(subset), **metrics, "_y_pred": logits.argmax(1)}


def run_ssl(cfg: SSLConfig, out: Path, overwrite: bool = False, resume: bool = False,
                  prepared: PreparedData | None = None) -> dict[str, Any]:
    """Run one configuration and write its folder; returns the metrics (also in ``metrics.json``)."""
    check_names(cfg)
    prepared = prepared or setup_data(cfg.data, progress=cfg.progress)
    if cfg.fold >= len(prepared.splits):
        raise ConfigError(f"fold: {cfg.fold} is out of range; the split has {len(prepared.splits)} fold(s)")
    split = prepared.splits[cfg.fold]
    cache, classes = prepared.cache, prepared.cache.classes
    train_lab, val, test = labelled_parts(prepared, cfg.fold)
    # pretraining sees the training subjects' windows (labelled or not), or with pretrain.windows=all
    # every window of the cache (transductive: the test subjects' signals, without their labels)
    train = WindowDataset(cache, split.train if cfg.pretrain.windows == "train" else np.arange(len(cache)))
    pretrain_set = pretraining_windows(train, cfg.pretrain.extra_caches) if cfg.method == "ssl" else train
    seed_everything(cfg.seed)
    encoder = build_encoder(cfg, cache.info)
    out = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    save_run_metadata(out, cfg, data_fingerprint=prepared.cache.info.key)
    metrics: dict[str, Any] = {"method": cfg.method, "encoder": cfg.encoder.name,
                               "objective": cfg.objective.name if cfg.method == "ssl" else None,
                               "seed": cfg.seed, "fold": cfg.fold, "classes": classes,
                               "n_train": len(train), "n_val": len(val), "n_test": len(test),
                               "n_params": sum(p.numel() for p in encoder.parameters())}
    predictions: dict[str, np.ndarray] = {}
    if cfg.method == "ssl":
        # with windows=all the pretraining must not depend on the fold: validate on a fixed draw of the cache
        pre_val = val if cfg.pretrain.windows == "train" else _cap(WindowDataset(cache), 512, cfg.seed)
        metrics["pretrain"] = pretrain(cfg, encoder, pretrain_set, pre_val, out, resume)
        metrics["pretrain"]["n_windows"] = len(pretrain_set)
    if cfg.method == "supervised":
        metrics["supervised"] = {}
        state = {k: v.clone() for k, v in encoder.state_dict().items()}
        for frac in cfg.finetune.label_fractions:
            encoder.load_state_dict(state)
            seed_everything(cfg.seed)
            res = supervised(cfg, encoder, train_lab, val, test, frac, out / f"supervised_{frac:g}", False, classes,
                             resume)
            predictions[f"supervised_{frac:g}"] = res.pop("_y_pred")
            metrics["supervised"][f"{frac:g}"] = res
    emb = {name: embed(encoder, loader(ds, 256, cfg.seed, False))
           for name, ds in (("train", _cap(train_lab, cfg.probe.max_train, cfg.seed)), ("test", test))}
    if cfg.probe.recentre == "subject":
        for e in emb.values():
            e["embedding"] = recentre(e["embedding"], e["subject"])
    _save_embeddings(out / "embeddings", emb)
    if cfg.method != "supervised":
        metrics["probe"] = {}
        for frac in cfg.probe.label_fractions:
            res = linear_probe(emb["train"]["embedding"], emb["train"]["y"], emb["test"]["embedding"],
                               emb["test"]["y"], classes, label_fraction=frac, seed=cfg.seed, C=cfg.probe.C)
            metrics["probe"][f"{frac:g}"] = {"n_train": res.n_train_used, **res.metrics}
            predictions[f"probe_{frac:g}"] = res.y_pred
        if cfg.method == "ssl" and cfg.finetune.enabled:
            metrics["finetune"] = {}
            state = {k: v.clone() for k, v in encoder.state_dict().items()}
            for frac in cfg.finetune.label_fractions:
                encoder.load_state_dict(state)
                res = supervised(cfg, encoder, train_lab, val, test, frac, out / f"finetune_{frac:g}", True, classes,
                                 resume)
                predictions[f"finetune_{frac:g}"] = res.pop("_y_pred")
                metrics["finetune"][f"{frac:g}"] = res
            encoder.load_state_dict(state)
    if cfg.latent.enabled:
        e = emb["test"]
        metrics["latent"] = latent_benchmark(e["embedding"], e["y"], e["subject"], seed=cfg.seed, k=cfg.latent.k)
    metrics["summary"] = summarise(metrics)
    save_file({k: np.ascontiguousarray(v, dtype=np.int64) for k, v in predictions.items()},
              str(out / "embeddings" / "test_predictions.safetensors"))
    if cfg.plots:
        metrics["plots"] = write_run_plots(out / "plots", RunPlots(
            arrays=emb["test"], classes=classes, seed=cfg.seed, cache=cache, curves=[out / "pretrain" / "metrics.csv"],
            extra={"predictions": predictions}))
    write_json(out / "metrics.json", metrics)
    return metrics


def summarise(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat row for the results table: balanced accuracy per label fraction, kappa, F1, latent metrics."""
    row: dict[str, Any] = {k: metrics[k] for k in ("method", "encoder", "objective", "seed", "fold")}
    evals = metrics.get("probe") or metrics.get("supervised") or {}
    for frac, m in evals.items():
        row[f"bal_acc@{frac}"] = m["balanced_accuracy"]
    full = evals.get("1") or (list(evals.values())[-1] if evals else None)
    if full:
        row.update({"macro_f1": full["macro_f1"], "kappa": full["kappa"], "accuracy": full["accuracy"]})
    for frac, m in (metrics.get("finetune") or {}).items():
        row[f"finetune_bal_acc@{frac}"] = m["balanced_accuracy"]
    lat = metrics.get("latent") or {}
    for key in ("knn_accuracy", "silhouette", "davies_bouldin", "alignment", "uniformity", "rankme", "nmi", "ari",
                "subject_separability"):
        if key in lat:
            row[key] = lat[key]
    return row


def labelled_parts(prepared: PreparedData, fold: int) -> tuple[WindowDataset, WindowDataset, WindowDataset]:
    """The labelled training, validation and test windows of ``fold``; an empty part is a
    :class:`DataError` raised before anything trains (validation loss picks the best epoch)."""
    split, cache = prepared.splits[fold], prepared.cache
    labelled = cache.meta["y"] >= 0
    parts = [WindowDataset(cache, idx[labelled[idx]]) for idx in (split.train, split.val, split.test)]
    for name, ds in (("training", parts[0]), ("validation", parts[1]), ("test", parts[2])):
        if len(ds) == 0:
            raise DataError(f"{cache.path}: fold {fold} has no labelled {name} windows "
                            f"({len(cache.subjects)} subject(s) in the cache); use fewer folds or other split shares")
    return parts[0], parts[1], parts[2]




def recentre(embedding: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each row minus the mean embedding of its group (subject): label-free, so usable on test subjects."""
    out = np.array(embedding, dtype=np.float32, copy=True)
    for g in np.unique(groups):
        sel = groups == g
        out[sel] -= out[sel].mean(axis=0)
    return out


def _cap(ds: WindowDataset, n: int | None, seed: int) -> WindowDataset:
    if n is None or len(ds) <= n:
        return ds
    keep = np.sort(np.random.default_rng(seed).choice(len(ds), n, replace=False))
    return WindowDataset(ds.cache, ds.indices[keep])


def _save_embeddings(folder: Path, emb: dict[str, dict[str, np.ndarray]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, arrays in emb.items():
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / f"{name}.safetensors"))
