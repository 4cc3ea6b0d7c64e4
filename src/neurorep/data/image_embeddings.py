"""Frozen image embeddings for EEG-image alignment: a provider interface and two providers.

A provider returns :class:`ImageEmbeddings`: one row per training and per test image condition
(``train[N_train, E]``, ``test[N_test, E]``), the image ids of the rows, and the name of the model
that made them (saved with every run).

- :class:`FileEmbeddings` (default): precomputed embeddings read from a file:

  * ``.safetensors`` with tensors ``train`` and ``test`` and string metadata ``model``,
    ``train_ids``, ``test_ids`` (JSON lists), as written by :func:`save_embeddings`;
  * ``.npy`` (a plain float array, training rows then test rows) with a sidecar ``<file>.json``
    holding ``{"model": ..., "train_ids": [...], "test_ids": [...]}``.

- :class:`OpenClipEmbeddings` (optional): computes them with ``open_clip`` from a local checkpoint
  file and the image folders of the data set, then stores them as a safetensors file that later
  runs read. Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field

from neurorep.config import Strict
from neurorep.errors import ConfigError, DataError
from neurorep.fileio import atomic_write

__all__ = ["EmbeddingProvider", "EmbeddingsConfig", "FileEmbeddings", "ImageEmbeddings", "OpenClipEmbeddings",
           "find_embedding_file", "load_embeddings", "make_provider", "save_embeddings"]


@dataclass
class ImageEmbeddings:
    """Image embeddings in condition order: ``train[N_train, E]``, ``test[N_test, E]`` (float32)."""

    train: np.ndarray
    test: np.ndarray
    train_ids: list[str]
    test_ids: list[str]
    model: str
    source: str = ""

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    def aligned_to(self, train_ids: list[str], test_ids: list[str]) -> ImageEmbeddings:
        """Rows reordered to the given image ids (the data set's condition order).

        Ids must match as a set; a missing id is a :class:`DataError` naming it.
        """
        parts = []
        for split, have, want, arr in (("train", self.train_ids, train_ids, self.train),
                                       ("test", self.test_ids, test_ids, self.test)):
            if have == want:
                parts.append(arr)
                continue
            pos = {i: k for k, i in enumerate(have)}
            missing = [i for i in want if i not in pos]
            if missing:
                raise DataError(f"{self.source}: {len(missing)} {split} image(s) of the data set have no embedding "
                                f"(e.g. {missing[0]!r}); the file has {len(have)} {split} ids")
            parts.append(arr[[pos[i] for i in want]])
        return ImageEmbeddings(parts[0], parts[1], list(train_ids), list(test_ids), self.model, self.source)


class EmbeddingProvider(Protocol):
    """Anything that can produce :class:`ImageEmbeddings` and describe where they came from."""

    def load(self) -> ImageEmbeddings: ...

    def describe(self) -> dict[str, Any]: ...


def _check(train: np.ndarray, test: np.ndarray, train_ids: list[str], test_ids: list[str], src: str) -> None:
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise DataError(f"{src}: expected train [N, E] and test [M, E] arrays, found {train.shape} and {test.shape}")
    if len(train_ids) != len(train) or len(test_ids) != len(test):
        raise DataError(f"{src}: {len(train)} train / {len(test)} test rows but {len(train_ids)} / {len(test_ids)} ids")
    if not (np.isfinite(train).all() and np.isfinite(test).all()):
        raise DataError(f"{src}: embeddings hold non-finite values")


def save_embeddings(path: str | Path, emb: ImageEmbeddings) -> Path:
    """Write ``emb`` as ``.safetensors`` (ids and model in the metadata) or ``.npy`` + ``.json`` sidecar."""
    from safetensors.numpy import save_file

    path = Path(path)
    _check(emb.train, emb.test, emb.train_ids, emb.test_ids, str(path))
    if path.suffix == ".safetensors":
        meta = {"model": emb.model, "train_ids": json.dumps(emb.train_ids), "test_ids": json.dumps(emb.test_ids)}
        tensors = {"train": np.ascontiguousarray(emb.train, np.float32), "test": np.ascontiguousarray(emb.test, np.float32)}
        return atomic_write(path, lambda p: save_file(tensors, str(p), metadata=meta))
    if path.suffix == ".npy":
        both = np.concatenate([emb.train, emb.test]).astype(np.float32)
        def write(p: Path) -> None:
            with p.open("wb") as fh:
                np.save(fh, both)

        atomic_write(path, write)
        side = {"model": emb.model, "train_ids": emb.train_ids, "test_ids": emb.test_ids}
        atomic_write(path.with_suffix(".npy.json"), lambda p: p.write_text(json.dumps(side)))
        return path
    raise ConfigError(f"{path}: embeddings file must end in .safetensors or .npy")


def load_embeddings(path: str | Path, model: str | None = None) -> ImageEmbeddings:
    """Read embeddings written by :func:`save_embeddings` (or by hand in the same layout)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: image embeddings file not found")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                keys = set(f.keys())
                if not {"train", "test"} <= keys:
                    raise DataError(f"{path}: expected tensors 'train' and 'test', found {', '.join(sorted(keys))}")
                train, test = f.get_tensor("train"), f.get_tensor("test")
        except (SafetensorError, OSError) as exc:
            raise DataError(f"{path}: not a readable safetensors file ({exc})") from None
        try:
            train_ids, test_ids = json.loads(meta["train_ids"]), json.loads(meta["test_ids"])
        except (KeyError, json.JSONDecodeError):
            raise DataError(f"{path}: metadata must hold 'train_ids' and 'test_ids' as JSON lists") from None
        name = model or meta.get("model")
    elif path.suffix == ".npy":
        side_path = path.with_suffix(".npy.json")
        if not side_path.is_file():
            raise DataError(f"{path}: sidecar {side_path.name} with model, train_ids and test_ids not found")
        try:
            side = json.loads(side_path.read_text())
            train_ids, test_ids = list(side["train_ids"]), list(side["test_ids"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataError(f"{side_path}: expected JSON with 'train_ids' and 'test_ids' lists") from None
        try:
            both = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"{path}: expected a plain float array ({exc})") from None
        if both.ndim != 2 or len(both) != len(train_ids) + len(test_ids):
            raise DataError(f"{path}: expected {len(train_ids) + len(test_ids)} rows (train then test), found shape "
                            f"{both.shape}")
        train, test = both[: len(train_ids)], both[len(train_ids):]
        name = model or side.get("model")
    else:
        raise DataError(f"{path}: embeddings file must end in .safetensors or .npy")
    if not name:
        raise DataError(f"{path}: the embedding model is not recorded; set embeddings.model to say which model made them")
    train, test = np.asarray(train, np.float32), np.asarray(test, np.float32)
    _check(train, test, [str(i) for i in train_ids], [str(i) for i in test_ids], str(path))
    return ImageEmbeddings(train, test, [str(i) for i in train_ids], [str(i) for i in test_ids], str(name), str(path))


def find_embedding_file(data_root: str | Path) -> Path:
    """The one embeddings file in ``<data_root>/image_embeddings/`` (error if none or several)."""
    folder = Path(data_root) / "image_embeddings"
    files = sorted([*folder.glob("*.safetensors"), *folder.glob("*.npy")]) if folder.is_dir() else []
    if len(files) != 1:
        found = ", ".join(p.name for p in files) or "none"
        raise ConfigError(f"{folder}: expected exactly one embeddings file (.safetensors or .npy), found {found}; "
                          "set embeddings.path")
    return files[0]


class FileEmbeddings:
    """Precomputed embeddings from a file (see :func:`load_embeddings`)."""

    def __init__(self, path: str | Path, model: str | None = None) -> None:
        self.path, self.model = Path(path), model

    def load(self) -> ImageEmbeddings:
        return load_embeddings(self.path, self.model)

    def describe(self) -> dict[str, Any]:
        return {"provider": "file", "path": str(self.path)}


class OpenClipEmbeddings:
    """Compute embeddings with ``open_clip`` from a local checkpoint; never downloads.

    Images are read from ``<images>/training_images/<concept>/<file>`` and
    ``<images>/test_images/<concept>/<file>`` (the Things-EEG-2 image set layout). The result is
    stored at ``store`` and read from there by later runs.
    """

    def __init__(self, model_name: str, checkpoint: str | Path, images: str | Path, store: str | Path,
                 train: list[tuple[str, str]], test: list[tuple[str, str]], batch_size: int = 64) -> None:
        self.model_name, self.checkpoint, self.images = model_name, Path(checkpoint), Path(images)
        self.store, self.train, self.test, self.batch_size = Path(store), train, test, batch_size

    def describe(self) -> dict[str, Any]:
        return {"provider": "open_clip", "model_name": self.model_name, "checkpoint": str(self.checkpoint),
                "store": str(self.store)}

    def load(self) -> ImageEmbeddings:
        if self.store.is_file():
            return load_embeddings(self.store)
        try:
            import open_clip  # type: ignore[import-not-found]
        except ImportError:
            raise ConfigError("embeddings.provider=open_clip needs the open_clip package (pip install open_clip_torch); "
                              "or use provider=file with precomputed embeddings") from None
        if not self.checkpoint.is_file():
            raise ConfigError(f"{self.checkpoint}: local CLIP checkpoint not found (neurorep never downloads weights "
                              "at run time; download them once and set embeddings.open_clip.checkpoint)")
        import torch
        from PIL import Image

        model, _, preprocess = open_clip.create_model_and_transforms(self.model_name, pretrained=str(self.checkpoint))
        model.eval()

        def run(items: list[tuple[str, str]], folder: str) -> np.ndarray:
            rows = []
            for i in range(0, len(items), self.batch_size):
                batch = []
                for concept, file in items[i:i + self.batch_size]:
                    p = self.images / folder / concept / file
                    if not p.is_file():
                        raise DataError(f"{p}: image not found")
                    batch.append(preprocess(Image.open(p).convert("RGB")))
                with torch.inference_mode():
                    rows.append(model.encode_image(torch.stack(batch)).float().numpy())
            return np.concatenate(rows)

        emb = ImageEmbeddings(run(self.train, "training_images"), run(self.test, "test_images"),
                              [f for _, f in self.train], [f for _, f in self.test],
                              f"open_clip {self.model_name} ({self.checkpoint.name})", str(self.store))
        save_embeddings(self.store, emb)
        return emb


class OpenClipConfig(Strict):
    """Settings of the open_clip provider."""

    model_name: str = "ViT-B-32"
    checkpoint: str | None = Field(None, description="local checkpoint file (never downloaded)")
    images: str | None = Field(None, description="image set folder (default: <data>/image_set)")
    batch_size: int = Field(64, ge=1)


class EmbeddingsConfig(Strict):
    """Where the frozen image embeddings come from."""

    provider: Literal["file", "open_clip"] = "file"
    path: str | None = Field(None, description="embeddings file; default: the one file in <data>/image_embeddings/")
    model: str | None = Field(None, description="name of the model that made them (overrides the file's)")
    open_clip: OpenClipConfig = OpenClipConfig()


def make_provider(cfg: EmbeddingsConfig, data_root: str | Path, images_json: dict[str, list[str]] | None = None,
                  store_dir: str | Path | None = None) -> EmbeddingProvider:
    """The provider a config asks for; ``images_json`` (concepts and files) is needed by open_clip."""
    if cfg.provider == "file":
        return FileEmbeddings(cfg.path or find_embedding_file(data_root), cfg.model)
    oc = cfg.open_clip
    if oc.checkpoint is None:
        raise ConfigError("embeddings.open_clip.checkpoint: set the path of a local CLIP checkpoint")
    if images_json is None:
        raise ConfigError("embeddings.provider=open_clip needs the data set's image metadata")
    store = Path(cfg.path) if cfg.path else Path(store_dir or data_root) / "image_embeddings" / \
        f"open_clip_{oc.model_name}.safetensors"
    train = list(zip(images_json["train_img_concepts"], images_json["train_img_files"], strict=True))
    test = list(zip(images_json["test_img_concepts"], images_json["test_img_files"], strict=True))
    return OpenClipEmbeddings(oc.model_name, oc.checkpoint, oc.images or Path(data_root) / "image_set", store,
                              train, test, oc.batch_size)
