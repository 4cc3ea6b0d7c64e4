"""Simulated Things-EEG-2 corpus, written in the real data set's on-disk layout.

``neurorep data simulate things-eeg2 --out DIR --subjects 10 [--set n_train_concepts=200 ...]`` writes::

    DIR/preprocessed_data/sub-XX/preprocessed_eeg_training.npy   dict, data (n_train, 4, 17, 100)
    DIR/preprocessed_data/sub-XX/preprocessed_eeg_test.npy       dict, data (n_test, 80, 17, 100)
    DIR/image_set/image_metadata.npy                             dict of concept / file lists
    DIR/image_embeddings/sim_clip_vit-b-32.safetensors           frozen "image embeddings" (512-d)
    DIR/concept_categories.csv                                   concept,category (27 categories)

The model (category-structured embeddings; a latent part of each embedding carried by P1/N1/P2/P3-like
evoked components through subject-specific spatial mixing; 1/f, alpha and sensor noise) is in
:mod:`neurorep.data.simulate.things_model`. Defaults give the real sizes (16,540 training and 200
test conditions, 10 subjects, about 5.6 GB); pass smaller ``n_train_concepts`` for quick runs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from neurorep.data.corpora import SIMULATORS
from neurorep.data.image_embeddings import ImageEmbeddings, save_embeddings
from neurorep.data.readers.things_eeg2 import SPLIT_FILES
from neurorep.data.simulate.things_model import (
    CHANNELS,
    make_images,
    make_subject,
    simulate_trials,
)
from neurorep.errors import ConfigError
from neurorep.fileio import atomic_write, atomic_write_text, ensure_writable_dir
from neurorep.processes import worker_pool
from neurorep.progress import progress_bar

__all__ = ["EMBEDDING_FILE", "simulate_things_eeg2", "write_dict_npy"]

EMBEDDING_FILE = "sim_clip_vit-b-32.safetensors"
TIMES = np.round(np.arange(-0.2, 0.8, 0.01), 3)


def write_dict_npy(path: Path, d: dict) -> Path:
    """Write ``d`` the way the real data set does (``np.save`` of a dict); readers load it safely."""

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            np.save(fh, np.array(d, dtype=object), allow_pickle=True)

    return atomic_write(path, write)


def _subject(out: Path, number: int, seed: int, latent: np.ndarray, n_train: int, train_reps: int, test_reps: int,
             signal: float, noise: float, specificity: float) -> list[Path]:
    rng = np.random.default_rng([seed, number])
    model = make_subject(seed + 7919, rng, TIMES, latent.shape[1], specificity)
    folder = out / "preprocessed_data" / f"sub-{number:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for split, z, reps in (("train", latent[:n_train], train_reps), ("test", latent[n_train:], test_reps)):
        data = simulate_trials(model, z, reps, rng, TIMES, signal, noise)
        written.append(write_dict_npy(folder / SPLIT_FILES[split], {
            "preprocessed_eeg_data": data, "ch_names": list(CHANNELS), "times": TIMES.copy()}))
    return written


@SIMULATORS.register("things-eeg2", "Things-EEG-2 layout: image-evoked EEG (17 ch, 100 Hz) + image embeddings")
def simulate_things_eeg2(out: Path, n_subjects: int = 10, seed: int = 0, jobs: int = 1, n_train_concepts: int = 1654,
                         images_per_concept: int = 10, n_test_concepts: int = 200, n_categories: int = 27,
                         train_repetitions: int = 4, test_repetitions: int = 80, embed_dim: int = 512,
                         n_latent: int = 32, signal: float = 0.6, noise: float = 3.0, subject_specificity: float = 0.5,
                         progress: bool = True) -> list[Path]:
    """Write the simulated corpus to ``out``; returns the files written.

    Args:
        n_subjects: subjects ``sub-01`` ... ``sub-NN``.
        n_train_concepts, images_per_concept: training conditions = their product (1,654 x 10 real).
        n_test_concepts: test conditions (one image of each unseen concept; 200 real).
        n_categories: higher-level categories (27).
        train_repetitions, test_repetitions: repetitions per condition (4 and 80).
        embed_dim: image embedding size (512 as CLIP ViT-B/32).
        n_latent: dimensions of the embedding the EEG carries (split over 4 components).
        signal: amplitude of the image-specific part of the evoked response.
        noise: amplitude of the background noise (one repetition).
        subject_specificity: share of spatial mixing that is subject-specific (0 = identical subjects).
    """
    for name, v in (("n_subjects", n_subjects), ("n_train_concepts", n_train_concepts),
                    ("images_per_concept", images_per_concept), ("n_test_concepts", n_test_concepts),
                    ("n_categories", n_categories), ("train_repetitions", train_repetitions),
                    ("test_repetitions", test_repetitions), ("embed_dim", embed_dim), ("jobs", jobs)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"things-eeg2 corpus: {name} must be a positive integer, got {v!r}")
    if not isinstance(n_latent, int) or n_latent < 4 or n_latent % 4 or n_latent > embed_dim:
        raise ConfigError(f"things-eeg2 corpus: n_latent must be a multiple of 4 between 4 and embed_dim, got {n_latent!r}")
    if n_test_concepts < 2:
        raise ConfigError(f"things-eeg2 corpus: n_test_concepts must be at least 2, got {n_test_concepts}")
    if not 0 <= subject_specificity <= 1:
        raise ConfigError(f"things-eeg2 corpus: subject_specificity must be in [0, 1], got {subject_specificity}")
    out = ensure_writable_dir(out, "corpus folder")
    rng = np.random.default_rng(seed)
    images = make_images(rng, n_train_concepts, images_per_concept, n_test_concepts, n_categories, embed_dim, n_latent)
    n_train = len(images.train_files)
    written = [write_dict_npy(out / "image_set" / "image_metadata.npy", {
        "train_img_concepts": images.train_concepts, "train_img_files": images.train_files,
        "test_img_concepts": images.test_concepts, "test_img_files": images.test_files})]
    written.append(save_embeddings(out / "image_embeddings" / EMBEDDING_FILE, ImageEmbeddings(
        images.train_emb, images.test_emb, images.train_files, images.test_files,
        f"simulated CLIP ViT-B/32 (neurorep things-eeg2 simulator, seed {seed}, {embed_dim}-d)")))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["concept", "category"])
    w.writerows(sorted(images.concept_category.items()))
    written.append(atomic_write_text(out / "concept_categories.csv", buf.getvalue()))
    args = [(out, s, seed, images.latent, n_train, train_repetitions, test_repetitions, signal, noise,
             subject_specificity) for s in range(1, n_subjects + 1)]
    with progress_bar("simulating Things-EEG-2 subjects", total=n_subjects, enabled=progress) as advance:
        if jobs == 1:
            for a in args:
                written += _subject(*a)
                advance()
        else:
            with worker_pool(jobs) as pool:
                for files in pool.map(_subject, *zip(*args, strict=True)):
                    written += files
                    advance()
    return written
