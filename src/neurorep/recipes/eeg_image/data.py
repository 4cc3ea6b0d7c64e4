"""Data of one eeg-image run: the converted cache, image embeddings, categories and the index sets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from neurorep.data.cache import WindowCache, prepare
from neurorep.data.dataset import WindowDataset
from neurorep.data.image_embeddings import ImageEmbeddings, make_provider
from neurorep.data.readers.things_eeg2 import read_concept_categories, strip_concept_id
from neurorep.data.splits import check_disjoint_subjects
from neurorep.data.sources_things import row_splits
from neurorep.data.prepared import simulate_missing
from neurorep.errors import ConfigError, DataError
from neurorep.recipes.eeg_image.config import EEGImageConfig

__all__ = ["AlignedDataset", "RunData", "setup_run_data"]


class AlignedDataset(Dataset[dict[str, torch.Tensor]]):
    """Cache rows paired with frozen image embeddings.

    A sample is the :class:`WindowDataset` dict (``x`` float32 ``(C, T)``, ``y`` = image condition,
    ``subject``, ``recording``, ``index``) plus ``target_embedding`` float32 ``(E,)`` = ``emb[y]``.
    """

    def __init__(self, cache: WindowCache, indices: np.ndarray, emb: np.ndarray) -> None:
        self.windows = WindowDataset(cache, indices)
        self.emb = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.windows[i]
        s["target_embedding"] = self.emb[int(s["y"])]
        return s


@dataclass
class RunData:
    """Everything a run reads: cache, embeddings, the train/val/test rows and test candidates."""

    cache: WindowCache
    emb: ImageEmbeddings
    images: dict[str, list[str]]
    train: AlignedDataset
    val: AlignedDataset | None
    test_rows: np.ndarray  # cache rows of the test queries (in candidate order)
    test_recording: int  # cache recording holding the single repetitions (separate_test) or -1
    test_conditions: np.ndarray  # condition index of each query within its split
    candidates: np.ndarray  # [N_test, E] image embeddings of the test candidates
    test_concepts: list[str]
    test_files: list[str]
    test_categories: list[str]
    summary: dict[str, Any]


def load_cache_and_embeddings(cfg: EEGImageConfig, progress: bool = True) -> tuple[WindowCache, ImageEmbeddings,
                                                                                     dict[str, list[str]]]:
    """Simulate (if asked and missing), convert (or reuse) the cache, and load the aligned embeddings."""
    sim = cfg.data.simulate
    simulate_missing(cfg.data.source, "things-eeg2", None if sim is None else {
        "n_subjects": sim.subjects, "seed": sim.seed, "jobs": sim.jobs, "n_train_concepts": sim.n_train_concepts,
        "images_per_concept": sim.images_per_concept, "n_test_concepts": sim.n_test_concepts, "signal": sim.signal,
        "noise": sim.noise, "subject_specificity": sim.subject_specificity}, what="Things-EEG-2 folder",
        hint="download it with `python -m neurorep.data.things_eeg2_download --out DIR`", progress=progress)
    cache = prepare(cfg.data.source, cfg.data.cache, dataset="things-eeg2", progress=progress).cache
    images = dict(cache.info.images)
    emb = make_provider(cfg.embeddings, cfg.data.source, images).load()
    emb = emb.aligned_to(images["train_img_files"], images["test_img_files"])
    return cache, emb, images


def categories_for(cfg: EEGImageConfig, concepts: list[str]) -> list[str]:
    """Category of each concept from the CSV (``unknown`` when there is none or it lacks the concept)."""
    path = Path(cfg.data.categories) if cfg.data.categories else Path(cfg.data.source) / "concept_categories.csv"
    if not path.is_file():
        if cfg.data.categories:
            raise DataError(f"{path}: concept category CSV not found")
        return ["unknown"] * len(concepts)
    table = read_concept_categories(path)
    return [table.get(c, table.get(strip_concept_id(c), "unknown")) for c in concepts]


def _subject_code(cache: WindowCache, number: int, field: str) -> int:
    numbers = list(cache.info.subject_numbers)
    if number not in numbers:
        raise ConfigError(f"{field}: subject {number} is not in {cache.path} (subjects: {', '.join(map(str, numbers))})")
    return numbers.index(number)


def setup_run_data(cfg: EEGImageConfig, progress: bool = True) -> RunData:
    """Cache, embeddings and the index sets of one run (all random choices seeded by ``cfg.seed``)."""
    cache, emb, images = load_cache_and_embeddings(cfg, progress)
    meta = cache.meta
    split, subj, y = row_splits(cache), meta["subject"].astype(np.int64), meta["y"].astype(np.int64)
    rng = np.random.default_rng(cfg.seed)
    train_concepts = np.asarray(images["train_img_concepts"])
    uniq = np.unique(train_concepts)
    held_test: set[str] = set()
    if not cfg.separate_test:  # hold out whole training concepts; one image of each is a test query
        n_hold = min(len(images["test_img_files"]), max(2, len(uniq) // 5))
        held_test = set(rng.choice(uniq, n_hold, replace=False).tolist())
    rest = np.array([c for c in uniq if c not in held_test])
    n_val = round(cfg.train.val_fraction * len(rest))
    val_concepts = set(rng.choice(rest, n_val, replace=False).tolist()) if n_val else set()
    role = np.array(["test" if c in held_test else "val" if c in val_concepts else "train" for c in train_concepts])
    codes = [_subject_code(cache, s, "subject_id") for s in cfg.subject_id]
    target = _subject_code(cache, cfg.target_subject, "test_subject")
    is_train_split = split == 0
    train_rows, val_rows = [], []
    for code in codes:
        mine = np.where(is_train_split & (subj == code))[0]
        tr = mine[role[y[mine]] == "train"]
        keep = max(1, round(cfg.subj_training_ratio * len(tr)))
        train_rows.append(np.sort(rng.choice(tr, keep, replace=False)) if keep < len(tr) else tr)
        val_rows.append(mine[role[y[mine]] == "val"])
    train_idx = np.concatenate(train_rows)
    val_idx = np.concatenate(val_rows)
    if cfg.train.max_val_windows and len(val_idx) > cfg.train.max_val_windows:
        val_idx = np.sort(rng.choice(val_idx, cfg.train.max_val_windows, replace=False))
    if cfg.separate_test:
        test_rows = np.where((split == 1) & (subj == target))[0]
        test_rows = test_rows[np.argsort(y[test_rows])]
        cond = y[test_rows]
        candidates = emb.test[cond]
        concepts = [images["test_img_concepts"][i] for i in cond]
        files = [images["test_img_files"][i] for i in cond]
        rec = int(meta["recording"][test_rows[0]])
    else:
        mine = np.where(is_train_split & (subj == target))[0]
        first: dict[str, int] = {}
        for r in mine[np.argsort(y[mine])]:
            c = train_concepts[y[r]]
            if c in held_test and c not in first:
                first[c] = int(r)
        test_rows = np.array(sorted(first.values()))
        cond = y[test_rows]
        candidates = emb.train[cond]
        concepts = [images["train_img_concepts"][i] for i in cond]
        files = [images["train_img_files"][i] for i in cond]
        rec = -1
    # zero-shot means unseen concepts: no test concept may be a training one
    check_disjoint_subjects(np.array([*train_concepts[y[train_idx]].tolist(), *concepts], dtype=object),
                            {"train": np.arange(len(train_idx)),
                             "test": np.arange(len(train_idx), len(train_idx) + len(concepts))}, what="concept")
    train_emb = emb.train
    summary = {"setting": cfg.setting, "train_subjects": list(cfg.subject_id), "test_subject": cfg.target_subject,
               "n_train": len(train_idx), "n_val": len(val_idx), "n_test": len(test_rows),
               "n_train_concepts": len(set(train_concepts[y[train_idx]])),
               "embedding_model": emb.model, "embedding_source": emb.source, "embedding_dim": emb.dim,
               "cache": str(cache.path)}
    return RunData(cache, emb, images, AlignedDataset(cache, train_idx, train_emb),
                   AlignedDataset(cache, val_idx, train_emb) if len(val_idx) else None, test_rows, rec, cond,
                   candidates, concepts, files, categories_for(cfg, concepts), summary)
