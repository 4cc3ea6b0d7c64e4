"""One kd-sleep run: train a mode (with its teacher / feat_train prerequisites) or evaluate a saved one."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, WeightedRandomSampler

from neurorep.data.cache_info import CacheInfo
from neurorep.encoders import create_encoder
from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.decision import fold_offsets, tune_class_offsets
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.prior_match import class_proportions, log_probs, prior_match, select_bound
from neurorep.export.hub import load_strict
from neurorep.objectives.distill import Distillation
from neurorep.recipes.kd_sleep.config import (
    ECG,
    EEG,
    MODE_SPECS,
    NEEDS_INIT,
    NEEDS_TEACHER,
    KDSleepConfig,
    ModalityConfig,
)
from neurorep.recipes.kd_sleep.data import (
    KDData,
    PairedSequences,
    WithTeacherOutputs,
    prepare_caches,
    setup_kd_data,
)
from neurorep.recipes.kd_sleep.ensemble import EnsembleNet, inner_folds, load_run_net
from neurorep.runs import prepare_run_dir, save_run_metadata, write_json
from neurorep.training import (
    build_trainer,
    class_weights_from_labels,
    fit,
    seed_everything,
)
from neurorep.training.distill import DistillModule, StagingNet, load_staging_net
from neurorep.recipes.base import RunPlots

EXPORT = Path("train") / "export" / "best"


def make_objective(cfg: KDSleepConfig) -> Distillation:
    """The mode's loss: its default weights, overridden by the non-null ``loss`` fields."""
    spec, lc = MODE_SPECS[cfg.mode], cfg.loss
    return Distillation(ce_weight=spec.ce_weight if lc.ce_weight is None else lc.ce_weight,
                        kd_weight=spec.kd_weight if lc.kd_weight is None else lc.kd_weight,
                        at_weight=spec.at_weight if lc.at_weight is None else lc.at_weight,
                        temperature=lc.temperature, at_layers=lc.at_layers, at_p=lc.at_p,
                        student_key=spec.input_key, teacher_key=EEG)


def build_net(mod: ModalityConfig, cache_info: CacheInfo, seq_len: int, n_classes: int,
              detach_head: bool = False) -> StagingNet:
    """A staging network for ``seq_len`` windows of the input described by ``cache_info``."""
    t = cache_info.n_times
    kwargs = {**mod.encoder.kwargs, "n_channels": len(cache_info.ch_names), "n_times": seq_len * t,
              "epoch_samples": t}
    return StagingNet(create_encoder(mod.encoder.name, **kwargs), n_classes, detach_head=detach_head)


def run_kd_sleep(cfg: KDSleepConfig, out: Path | str, overwrite: bool = False, resume: bool = False) -> dict[str, Any]:
    """Run ``cfg`` into ``out``: ``config.yaml``, ``metrics.json``, ``train/`` (logs, checkpoints,
    safetensors export), ``predictions/<split>.safetensors`` and ``plots/``."""
    out = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    save_run_metadata(out, cfg)
    seed_everything(cfg.seed)
    if cfg.mode == "evaluate":
        return _evaluate_saved(cfg, out)
    key = MODE_SPECS[cfg.mode].input_key
    need_eeg = key == EEG or cfg.mode in NEEDS_TEACHER
    data = setup_kd_data(cfg.data, need_eeg=need_eeg, progress=cfg.progress)
    check_split_parts(cfg, data)  # before any training: an empty part would only fail at the end
    decision = decision_plan(cfg, data)
    teacher = init = teacher_dir = None
    if cfg.mode in NEEDS_TEACHER:
        teacher_dir = _prerequisite(cfg, out, "eeg_base", cfg.teacher, "teacher", resume)
        teacher, _ = load_staging_net(teacher_dir / EXPORT)
    if cfg.mode in NEEDS_INIT:
        init = _prerequisite(cfg, out, "feat_train", cfg.init, "feat_train", resume)
    mod = cfg.data.eeg if key == EEG else cfg.data.ecg
    assert mod is not None
    metrics: dict[str, Any] = {"mode": cfg.mode, "seed": cfg.seed, "scheme": cfg.data.scheme, "classes": data.classes,
                               "split": data.split_subjects, "teacher": str(teacher_dir) if teacher_dir else None,
                               "init": str(init) if init else None}
    if cfg.cross_fit is None:
        net: nn.Module = _member(cfg, data, mod, key, init, cfg.seed)
        metrics["train"] = _train(cfg, data, net, teacher, out / "train", resume)
        if decision["applied"] and cfg.decision == "val_tuned":
            ds = _dataset(cfg, data, data.split.val, cfg.data.seq_len, (key,))
            held = evaluate_net(net, ds, key, data.classes, cfg.train.batch_size)[1]
            decision.update(tune_decision(cfg, held, net, data.classes))
            net.export(out / EXPORT, data.classes)
    else:
        net, metrics["train"], held_out = _train_cross_fitted(cfg, data, mod, key, init, teacher, out / "train", resume)
        if decision["applied"] and cfg.decision == "val_tuned":
            decision.update(tune_decision(cfg, held_out, net, data.classes))
        net.export(out / EXPORT, data.classes)
        save_predictions(out / "predictions" / "held_out.safetensors", held_out)
    if decision["requested"] == "prior_match" and decision["applied"]:
        fit_rows = np.concatenate([data.split.train, data.split.val])
        decision.update({"bound": cfg.prior_match_bound,
                         "target": class_proportions(data.table.meta["y"][fit_rows], len(data.classes)).tolist()})
        if cfg.prior_match_bound is None:  # chosen on the out-of-fold predictions, never on the evaluated people
            logp = log_probs(held_out["prob"])
            person = np.asarray(data.table.meta["subject"])[held_out["index"]]
            decision["bound"], decision["bound_selection"] = select_bound(
                logp, held_out["y"], held_out["recording"], person, cfg.prior_match_candidates)
    metrics["decision"] = decision
    ds = _dataset(cfg, data, getattr(data.split, cfg.evaluate_on), cfg.data.seq_len, (key,))
    result, arrays = evaluate_net(net, ds, key, data.classes, cfg.train.batch_size)
    result, arrays = apply_prior_match(decision, result, arrays, data.classes)
    metrics[cfg.evaluate_on] = result
    save_predictions(out / "predictions" / f"{cfg.evaluate_on}.safetensors", arrays)
    metrics["summary"] = summarise(cfg.mode, cfg.seed, cfg.data.scheme, result)
    if cfg.plots:
        from neurorep.recipes.kd_sleep.plots import write_run_plots

        metrics["plots"] = write_run_plots(out / "plots", RunPlots(arrays=arrays, classes=data.classes, cache=data.table,
                                                            curves=[out / "train" / "metrics.csv"]))
    write_json(out / "metrics.json", metrics)
    return metrics


def check_split_parts(cfg: KDSleepConfig, data: KDData) -> None:
    """Refuse a split with an empty training, validation or evaluated part (``DataError`` naming it)."""
    parts = ("train", "val", cfg.evaluate_on)
    for part in dict.fromkeys(parts):
        rows = getattr(data.split, part)
        if len(rows) == 0 or not (data.table.meta["y"][rows] >= 0).any():
            where = cfg.data.split_file or f"data.split {cfg.data.split.model_dump()}"
            raise DataError(f"{where}: the {part} part of the split has no labelled epochs "
                            f"({len(data.split_subjects.get(part, []))} subjects of {len(data.table.subjects)}); "
                            "give every part at least one subject")


def decision_plan(cfg: KDSleepConfig, data: KDData) -> dict[str, Any]:
    """How this run decides: ``val_tuned`` only for a student with ``min_val_subjects`` held-out subjects
    or more (the validation subjects; with ``cross_fit`` every training and validation subject, each
    predicted out-of-fold), else argmax (with a printed notice). Returns ``{"requested", "applied",
    "reason", "val_subjects"}``."""
    parts = ("train", "val") if cfg.cross_fit else ("val",)
    n_val = len({s for p in parts for s in data.split_subjects.get(p, [])})
    plan: dict[str, Any] = {"requested": cfg.decision, "applied": False, "reason": "",
                            "val_subjects": n_val}
    if cfg.decision == "argmax":
        plan["reason"] = "decision: argmax"
    elif cfg.mode == "eeg_base":
        plan["reason"] = "the eeg_base teacher keeps argmax"
    elif cfg.decision == "prior_match":  # label-free, per evaluated recording: no validation subjects needed
        plan["applied"] = True
    elif n_val < cfg.min_val_subjects:
        plan["reason"] = (f"{n_val} validation subject(s) < min_val_subjects={cfg.min_val_subjects}: "
                          "argmax decisions")
        print(f"notice: decision val_tuned not applied, {plan['reason']}")
    else:
        plan["applied"] = True
    return plan


def apply_prior_match(decision: dict[str, Any], result: dict[str, Any], arrays: dict[str, np.ndarray],
                      classes: list[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """With an applied ``prior_match`` decision (``bound``, ``target``), each recording's decisions are
    re-made by :func:`neurorep.evaluation.prior_match.prior_match` (no label read) and the metrics recomputed;
    the offsets per recording go into ``decision["recording_offsets"]``. Otherwise returns its inputs."""
    if decision.get("requested") != "prior_match" or not decision.get("applied"):
        return result, arrays
    logp = log_probs(arrays["prob"])
    pred, offsets = prior_match(logp, arrays["recording"], np.asarray(decision["target"]), decision["bound"])
    arrays = {**arrays, "pred": pred}
    decision["recording_offsets"] = {str(r): o.round(4).tolist() for r, o in offsets.items()}
    lab = arrays["y"] >= 0
    return classification_metrics(arrays["y"][lab], pred[lab], classes), arrays


def tune_decision(cfg: KDSleepConfig, arrays: dict[str, np.ndarray], net: nn.Module, classes: list[str]
                  ) -> dict[str, Any]:
    """Per-class offsets chosen on held-out predictions ``arrays`` (``y``, ``prob``) for ``decision_metric``,
    folded into the head's bias (every member's, for an ensemble); returns the offsets and the held-out
    metric before and after. The caller exports ``net`` again."""
    lab = arrays["y"] >= 0
    offsets, before, after = tune_class_offsets(arrays["y"][lab], log_probs(arrays["prob"][lab]),
                                                metric=cfg.decision_metric)
    if isinstance(net, EnsembleNet):
        net.fold_offsets(offsets)
    else:
        fold_offsets(net.head[-1], offsets)  # type: ignore[index]
    return {"metric": cfg.decision_metric, "offsets": dict(zip(classes, offsets.round(4).tolist(), strict=True)),
            "val_before": before, "val_after": after}


def _member(cfg: KDSleepConfig, data: KDData, mod: ModalityConfig, key: str, init: Path | None, seed: int
            ) -> StagingNet:
    """A freshly initialised network of this mode (``seed``), started from ``init``'s encoder if given."""
    seed_everything(seed)
    net = build_net(mod, data.caches[key].info, cfg.data.seq_len, len(data.classes),
                    detach_head=MODE_SPECS[cfg.mode].detach_head)
    if init is not None:
        start, _ = load_staging_net(init / EXPORT)
        load_strict(net.encoder, start.encoder.state_dict(), source=str(init / EXPORT))
    return net


def _train_cross_fitted(cfg: KDSleepConfig, data: KDData, mod: ModalityConfig, key: str, init: Path | None,
                        teacher: StagingNet | None, out: Path, resume: bool
                        ) -> tuple[EnsembleNet, dict[str, Any], dict[str, np.ndarray]]:
    """``cross_fit`` members, one per inner fold (:mod:`neurorep.recipes.kd_sleep.ensemble`); returns the
    ensemble, the members' training summaries, and the out-of-fold predictions of the non-test subjects."""
    assert cfg.cross_fit is not None
    members, runs, held = [], [], []
    for i, (fold, names) in enumerate(inner_folds(data, cfg.cross_fit)):
        fold_members = []
        for j in range(cfg.cross_fit_seeds):  # member i (seed j) trains without fold i's subjects
            net = _member(cfg, fold, mod, key, init, cfg.seed * 1000 + i + 100 * j)
            sub = out / (f"member{i}" if j == 0 else f"member{i}_seed{j}")
            runs.append({**_train(cfg, fold, net, teacher, sub, resume), "held_out": names})
            fold_members.append(net)
        ds = _dataset(cfg, fold, fold.split.val, cfg.data.seq_len, (key,))
        fold_net = fold_members[0] if len(fold_members) == 1 else EnsembleNet(fold_members)
        held.append(evaluate_net(fold_net, ds, key, data.classes, cfg.train.batch_size)[1])
        members += fold_members
    arrays = {k: np.concatenate([h[k] for h in held]) for k in held[0]}
    summary = {"members": runs, "held_out_subjects": [s for r in runs[::cfg.cross_fit_seeds] for s in r["held_out"]],
               "n_params": sum(r["n_params"] for r in runs)}
    return EnsembleNet(members), summary, arrays


def _prerequisite(cfg: KDSleepConfig, out: Path, mode: str, given: str | None, folder: str, resume: bool) -> Path:
    """The run folder of a prerequisite mode: ``given``, or a run trained now in ``out/folder``."""
    if given is not None:
        path = Path(given)
        if not (path / EXPORT).is_dir():
            raise DataError(f"{path}: not a finished kd-sleep run (no {EXPORT}); train mode {mode} there first")
        return path
    sub = out / folder
    if resume and (sub / EXPORT).is_dir() and (sub / "metrics.json").is_file():
        return sub
    teacher = str(out / "teacher") if mode == "feat_train" and cfg.teacher is None else cfg.teacher
    run_kd_sleep(cfg.model_copy(update={"mode": mode, "plots": False, "out": None, "teacher": teacher,
                                        "cross_fit": None}), sub,
                 overwrite=True)
    return sub


def _dataset(cfg: KDSleepConfig, data: KDData, rows: np.ndarray, stride: int, keys: tuple[str, ...] | None = None
             ) -> PairedSequences:
    caches = data.caches if keys is None else {k: data.caches[k] for k in keys}
    return PairedSequences(caches, rows, cfg.data.seq_len, stride)


def _train(cfg: KDSleepConfig, data: KDData, net: StagingNet, teacher: StagingNet | None, out: Path,
           resume: bool) -> dict[str, Any]:
    objective = make_objective(cfg)
    keys = (objective.student_key,)
    seq = cfg.data.seq_len
    stride = cfg.data.train_stride or max(seq // 2, 1)
    plain_train = _dataset(cfg, data, data.split.train, stride, keys)
    train_ds: Dataset[dict[str, torch.Tensor]] = plain_train
    val_ds: Dataset[dict[str, torch.Tensor]] = _dataset(cfg, data, data.split.val, seq, keys)
    if len(train_ds) == 0 or len(val_ds) == 0:  # type: ignore[arg-type]
        raise DataError(f"{cfg.data.source}: the split leaves no training or validation sequences")
    if teacher is not None and objective.needs_teacher:  # run the frozen teacher once, not every step
        teacher.eval()
        compute = partial(objective.teacher_outputs, teacher)
        train_ds = WithTeacherOutputs(train_ds, _dataset(cfg, data, data.split.train, stride, (EEG,)), compute)  # type: ignore[arg-type]
        val_ds = WithTeacherOutputs(val_ds, _dataset(cfg, data, data.split.val, seq, (EEG,)), compute)  # type: ignore[arg-type]
    weights = None
    weighted = MODE_SPECS[cfg.mode].class_weighted if cfg.loss.class_weighted is None else cfg.loss.class_weighted
    if weighted:
        weights = class_weights_from_labels(data.table.meta["y"][data.split.train], len(data.classes))
        weights = weights ** cfg.loss.class_weight_power
    oc = cfg.optim()
    g = torch.Generator().manual_seed(cfg.seed)
    sampler = None
    n_draw = len(plain_train) if oc.max_windows is None else min(len(plain_train), max(1, oc.max_windows // seq))
    if cfg.data.sampling == "class_balanced":
        balanced = class_weights_from_labels(data.table.meta["y"][data.split.train], len(data.classes)).numpy()
        seq_w = plain_train.sequence_weights(balanced)
        if not (seq_w > 0).any():
            raise DataError(f"{cfg.data.source}: no training sequence holds a labelled epoch")
        sampler = WeightedRandomSampler(seq_w.tolist(), num_samples=n_draw, replacement=True, generator=g)
    elif oc.max_windows is not None:
        sampler = RandomSampler(train_ds, num_samples=n_draw, generator=g)
    train_dl = DataLoader(train_ds, batch_size=oc.batch_size, shuffle=sampler is None, sampler=sampler, generator=g,
                          num_workers=oc.num_workers, drop_last=len(train_ds) > oc.batch_size)
    val_dl = DataLoader(val_ds, batch_size=oc.batch_size, num_workers=oc.num_workers)
    module = DistillModule(net, objective, len(data.classes), teacher=teacher, lr=oc.lr, weight_decay=oc.weight_decay,
                           warmup_epochs=oc.warmup_epochs, max_epochs=oc.epochs, class_weights=weights,
                           class_names=data.classes)
    monitor = "val/at" if cfg.mode == "feat_train" else "val/ce"
    trainer = build_trainer(out, oc.epochs, monitor=monitor, patience=oc.patience, progress=cfg.progress)
    res = fit(module, train_dl, val_dl, trainer, ckpt_path="last" if resume else None, restore_best=True)
    return {"objective": objective.config, "monitor": monitor, "best_score": res.best_score,
            "epochs_run": int(trainer.current_epoch), "n_train_sequences": len(train_ds),
            "n_params": sum(p.numel() for p in net.parameters()),
            "class_weights": weights.tolist() if weights is not None else None}


@torch.no_grad()
def evaluate_net(net: nn.Module, ds: PairedSequences, key: str, classes: list[str], batch_size: int = 32
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metrics over the labelled epochs of ``ds`` and per-epoch arrays: ``index``, ``y``, ``pred``,
    ``prob [N, K]``, ``recording``, ``bottleneck [N, C_b]`` (bottleneck features averaged per epoch)."""
    was = net.training
    net.eval()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("index", "y", "pred", "prob", "recording", "bottleneck")}
    for batch in DataLoader(ds, batch_size=batch_size):
        logits, feats = net(batch[key])
        n = logits.shape[1]
        bott = torch.nn.functional.adaptive_avg_pool1d(feats["bottleneck"], n).transpose(1, 2)  # [B, N, C_b]
        keep = batch["index"] >= 0
        parts["index"].append(batch["index"][keep].numpy())
        parts["y"].append(batch["y"][keep].numpy())
        prob = torch.softmax(logits, -1)
        parts["prob"].append(prob[keep].numpy())
        parts["pred"].append(prob[keep].argmax(-1).numpy())
        parts["recording"].append(batch["recording"][:, None].expand_as(batch["index"])[keep].numpy())
        parts["bottleneck"].append(bott[keep].numpy())
    net.train(was)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    _, first = np.unique(arrays["index"], return_index=True)  # an epoch covered twice (night's tail) counts once
    arrays = {k: v[np.sort(first)] for k, v in arrays.items()}
    lab = arrays["y"] >= 0
    if not lab.any():
        raise DataError("no labelled epochs to evaluate")
    return classification_metrics(arrays["y"][lab], arrays["pred"][lab], classes), arrays


def save_predictions(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))


def summarise(mode: str, seed: int, scheme: str, m: dict[str, Any]) -> dict[str, Any]:
    """Flat row: accuracy, weighted / macro F1, kappa, per-class F1."""
    row = {"mode": mode, "scheme": scheme, "seed": seed, "accuracy": m["accuracy"], "weighted_f1": m["weighted_f1"],
           "macro_f1": m["macro_f1"], "kappa": m["kappa"]}
    row.update({f"f1_{k}": v for k, v in m["per_class_f1"].items()})
    return row


def _saved_decision(run: Path) -> dict[str, Any]:
    """The ``decision`` entry of a saved run's ``metrics.json`` (empty when there is none)."""
    import json

    path = run / "metrics.json"
    if not path.is_file():
        return {}
    try:
        decision = json.loads(path.read_text()).get("decision") or {}
    except (ValueError, AttributeError) as exc:
        raise DataError(f"{path}: not a kd-sleep metrics file ({exc})") from None
    if decision.get("requested") == "prior_match" and decision.get("applied") and "target" not in decision:
        raise DataError(f"{path}: decision prior_match without its target proportions")
    return decision


def _evaluate_saved(cfg: KDSleepConfig, out: Path) -> dict[str, Any]:
    """Mode ``evaluate``: evaluate a saved run (or export folder) on ``evaluate_on`` of the split."""
    if cfg.checkpoint is None:
        raise ConfigError("mode evaluate needs `checkpoint`: a kd-sleep run folder or its train/export/best folder")
    path = Path(cfg.checkpoint)
    export = path / EXPORT if (path / EXPORT).is_dir() else path
    net, classes = load_run_net(export)
    run_cfg_path = path / "config.yaml"
    saved_mode = "ecg_base"
    if run_cfg_path.is_file():
        from neurorep.config import read_yaml

        saved_mode = str(read_yaml(run_cfg_path).get("mode", saved_mode))
    key = MODE_SPECS.get(saved_mode, MODE_SPECS["ecg_base"]).input_key
    if cfg.evaluate_data is not None:  # another folder: every labelled epoch of it, no split
        if not Path(cfg.evaluate_data).exists():
            raise DataError(f"{cfg.evaluate_data}: evaluate_data folder does not exist")
        dcfg = cfg.data.model_copy(update={"source": cfg.evaluate_data, "simulate": None, "split_file": None})
        caches = prepare_caches(dcfg, need_eeg=key == EEG, progress=cfg.progress)
        table = caches[ECG]
        part, rows = "data", np.arange(len(table.meta["y"]))
        where: dict[str, Any] = {"evaluate_data": cfg.evaluate_data, "subjects": list(table.subjects)}
        names = table.classes
    else:
        data = setup_kd_data(cfg.data, need_eeg=key == EEG, progress=cfg.progress)
        caches, table, part = data.caches, data.table, cfg.evaluate_on
        rows, names = getattr(data.split, part), data.classes
        where = {"split": data.split_subjects}
        if len(rows) == 0:
            raise DataError(f"{cfg.data.split_file or 'the split'}: its {part} part is empty; nothing to evaluate")
    if classes and classes != names:
        raise DataError(f"{export}: the model predicts {classes} but data.scheme={cfg.data.scheme} gives {names}")
    ds = PairedSequences({key: caches[key]}, rows, cfg.data.seq_len, cfg.data.seq_len)
    result, arrays = evaluate_net(net, ds, key, names, cfg.train.batch_size)
    decision = _saved_decision(path)  # a run that decided by prior matching keeps doing so
    result, arrays = apply_prior_match(decision, result, arrays, names)
    where["decision"] = decision
    save_predictions(out / "predictions" / f"{part}.safetensors", arrays)
    metrics = {"mode": "evaluate", "evaluated": saved_mode, "checkpoint": str(export), **where,
               part: result, "summary": summarise(saved_mode, cfg.seed, cfg.data.scheme, result)}
    if cfg.plots:
        from neurorep.recipes.kd_sleep.plots import write_run_plots

        metrics["plots"] = write_run_plots(out / "plots", RunPlots(arrays=arrays, classes=names, cache=table))
    write_json(out / "metrics.json", metrics)
    return metrics
