"""Generative model of the simulated Things-EEG-2 corpus: images, their embeddings, and evoked EEG.

Images. 27 higher-level categories have random centres in a ``D``-dimensional embedding space;
each concept sits near its category's centre, each image near its concept; embeddings are
L2-normalised, so cosine similarity is higher within a category than across (as with CLIP).

Brain response. A ``n_latent``-dimensional projection ``z`` of the image embedding (a fixed random
subspace, standardised) is what the visual system "carries". It is split over four evoked
components with P1 / N1 / P2 / P3-like latencies (about 100, 170, 250 and 400 ms): component
``j`` has a time course ``w_j(t)`` (a Gaussian bump with the subject's latency), a generic
topography ``g_j`` (the same ERP for every image) and a spatial mixing matrix ``M_sj``
(channels x latent block) through which its part of ``z`` reaches the 17 sensors. Mixing and
topographies are a shared part plus a subject-specific part, so a model trained on some subjects
transfers only partly to a new one. One repetition is

    x[c, t] = (1 + 0.15 e) * sum_j w_j(t) * (a_j g_sj[c] + b (M_sj z_j)[c]) + noise[c, t]

with spatially correlated 1/f background, a ~10 Hz occipital alpha with random phase, and sensor
noise, drawn afresh for every repetition. With the default ``signal`` and ``noise`` one
repetition is far below the noise; averaging 80 test repetitions makes the image readable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CATEGORIES", "CHANNELS", "COMPONENTS", "ImageSet", "SubjectModel", "make_images", "make_subject",
           "simulate_trials"]

#: The 27 higher-level THINGS categories.
CATEGORIES = ["animal", "bird", "body part", "clothing", "clothing accessory", "container", "dessert", "drink",
              "electronic device", "food", "fruit", "furniture", "home decor", "insect", "kitchen appliance",
              "kitchen tool", "medical equipment", "musical instrument", "office supply", "part of car", "plant",
              "sports equipment", "tool", "toy", "vegetable", "vehicle", "weapon"]

#: The 17 occipital and parietal channels of Things-EEG-2, with approximate scalp positions (x right, y front).
CHANNELS: dict[str, tuple[float, float]] = {
    "Pz": (0.0, -0.5), "P3": (-0.35, -0.5), "P7": (-0.7, -0.55), "O1": (-0.3, -0.95), "Oz": (0.0, -1.0),
    "O2": (0.3, -0.95), "P4": (0.35, -0.5), "P8": (0.7, -0.55), "P1": (-0.18, -0.5), "P5": (-0.53, -0.52),
    "PO7": (-0.55, -0.8), "PO3": (-0.25, -0.75), "POz": (0.0, -0.75), "PO4": (0.25, -0.75), "PO8": (0.55, -0.8),
    "P6": (0.53, -0.52), "P2": (0.18, -0.5),
}

#: (name, latency s, width s, sign, generic amplitude)
COMPONENTS = [("P1", 0.10, 0.020, 1.0, 1.0), ("N1", 0.17, 0.030, -1.0, 1.5), ("P2", 0.25, 0.040, 1.0, 1.0),
              ("P3", 0.40, 0.080, 1.0, 0.6)]


@dataclass
class ImageSet:
    """Concepts, categories and embeddings of the simulated image set (train then test order)."""

    train_concepts: list[str]
    train_files: list[str]
    test_concepts: list[str]
    test_files: list[str]
    concept_category: dict[str, str]
    train_emb: np.ndarray  # [N_train, D], unit rows
    test_emb: np.ndarray  # [N_test, D], unit rows
    latent: np.ndarray  # [N_train + N_test, n_latent], standardised


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def make_images(rng: np.random.Generator, n_train_concepts: int, images_per_concept: int, n_test_concepts: int,
                n_categories: int, embed_dim: int, n_latent: int) -> ImageSet:
    """Category-structured concepts and image embeddings, and the latent ``z`` each image evokes."""
    cats = CATEGORIES[:n_categories] if n_categories <= len(CATEGORIES) else \
        CATEGORIES + [f"category {k}" for k in range(len(CATEGORIES), n_categories)]
    centres = _unit(rng.normal(size=(n_categories, embed_dim)))
    n_concepts = n_train_concepts + n_test_concepts
    cat_of = rng.integers(0, n_categories, n_concepts)
    concept_vec = _unit(0.8 * centres[cat_of] + 0.75 * _unit(rng.normal(size=(n_concepts, embed_dim))))
    names, concept_category = [], {}
    for i in range(n_concepts):
        slug = cats[cat_of[i]].replace(" ", "-")
        name = f"{i + 1:05d}_{slug}{i + 1:04d}"
        names.append(name)
        concept_category[name] = cats[cat_of[i]]
    train_concepts, train_files, rows = [], [], []
    for i in range(n_train_concepts):
        for k in range(images_per_concept):
            train_concepts.append(names[i])
            train_files.append(f"{names[i].split('_', 1)[1]}_{k + 1:02d}s.jpg")
            rows.append(concept_vec[i])
    train_emb = _unit(np.asarray(rows) + 0.4 * _unit(rng.normal(size=(len(rows), embed_dim))))
    test_concepts = names[n_train_concepts:]
    test_files = [f"{c.split('_', 1)[1]}_01b.jpg" for c in test_concepts]
    test_emb = _unit(concept_vec[n_train_concepts:] + 0.4 * _unit(rng.normal(size=(n_test_concepts, embed_dim))))
    proj = np.linalg.qr(rng.normal(size=(embed_dim, n_latent)))[0]  # orthonormal columns
    latent = np.concatenate([train_emb, test_emb]) @ proj
    latent = (latent - latent.mean(0)) / latent.std(0)
    return ImageSet(train_concepts, train_files, test_concepts, test_files, concept_category,
                    train_emb.astype(np.float32), test_emb.astype(np.float32), latent.astype(np.float32))


@dataclass
class SubjectModel:
    """One subject's evoked-response and noise parameters."""

    waves: np.ndarray  # [J, T] component time courses
    generic: np.ndarray  # [J, C] generic topographies x amplitudes
    mixing: list[np.ndarray]  # J x [C, q] spatial mixing of each latent block
    noise_patterns: np.ndarray  # [C, S] spatial patterns of the 1/f background sources
    alpha_pattern: np.ndarray  # [C]
    alpha_freq: float


def _spatial_chol(sd: float = 0.35) -> np.ndarray:
    pos = np.array(list(CHANNELS.values()))
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    return np.linalg.cholesky(np.exp(-d2 / (2 * sd**2)) + 1e-6 * np.eye(len(pos)))


def _patterns(rng: np.random.Generator, chol: np.ndarray, n: int) -> np.ndarray:
    """``n`` smooth random scalp patterns ``[C, n]`` with unit RMS each."""
    p = chol @ rng.normal(size=(chol.shape[0], n))
    return p / np.sqrt((p**2).mean(0, keepdims=True))


def make_subject(shared_rng_seed: int, subject_rng: np.random.Generator, times: np.ndarray, n_latent: int,
                 specificity: float) -> SubjectModel:
    """A subject: shared structure (seeded by ``shared_rng_seed``) mixed with its own (``subject_rng``)."""
    chol = _spatial_chol()
    shared = np.random.default_rng(shared_rng_seed)
    j_n = len(COMPONENTS)
    q = n_latent // j_n
    waves, generic, mixing = [], [], []
    for name, lat, width, sign, amp in COMPONENTS:
        lat_s = lat + subject_rng.normal(0, 0.012)
        width_s = width * float(np.exp(subject_rng.normal(0, 0.15)))
        waves.append(sign * np.exp(-0.5 * ((times - lat_s) / width_s) ** 2))
        g = np.sqrt(1 - specificity) * _patterns(shared, chol, 1)[:, 0] + \
            np.sqrt(specificity) * _patterns(subject_rng, chol, 1)[:, 0]
        generic.append(amp * float(np.exp(subject_rng.normal(0, 0.2))) * np.abs(g))
        mixing.append(np.sqrt(1 - specificity) * _patterns(shared, chol, q)
                      + np.sqrt(specificity) * _patterns(subject_rng, chol, q))
    alpha = np.abs(_patterns(subject_rng, chol, 1)[:, 0]) * (1.0 + np.array([-p[1] for p in CHANNELS.values()]))
    return SubjectModel(np.asarray(waves), np.asarray(generic), mixing, _patterns(subject_rng, chol, 8),
                        alpha / np.sqrt((alpha**2).mean()), float(subject_rng.uniform(8.5, 11.5)))


def _pink(rng: np.random.Generator, shape: tuple[int, ...], n: int, sfreq: float) -> np.ndarray:
    """1/f noise of unit variance, ``shape + (n,)``, cut from a 3x longer draw to avoid wrap-around."""
    m = 3 * n
    f = np.fft.rfftfreq(m, 1 / sfreq)
    amp = 1.0 / np.sqrt(np.maximum(f, 1.0))
    amp[0] = 0.0
    spec = (rng.normal(size=shape + (len(f),)) + 1j * rng.normal(size=shape + (len(f),))) * amp
    x = np.fft.irfft(spec, n=m)[..., n:2 * n]
    return x / x.std()


def simulate_trials(subject: SubjectModel, latent: np.ndarray, repetitions: int, rng: np.random.Generator,
                    times: np.ndarray, signal: float, noise: float, chunk: int = 512) -> np.ndarray:
    """EEG ``[N, repetitions, C, T]`` (float32) for images with latents ``latent[N, n_latent]``."""
    n_img = len(latent)
    n_ch, n_t = subject.noise_patterns.shape[0], len(times)
    sfreq = 1.0 / float(times[1] - times[0])
    q = subject.mixing[0].shape[1]
    out = np.empty((n_img, repetitions, n_ch, n_t), np.float32)
    for s in range(0, n_img, chunk):
        z = latent[s:s + chunk]
        b = len(z)
        evoked = np.zeros((b, n_ch, n_t))
        for j, wave in enumerate(subject.waves):
            spatial = subject.generic[j][None, :] + signal * (z[:, j * q:(j + 1) * q] @ subject.mixing[j].T) / np.sqrt(q)
            evoked += spatial[:, :, None] * wave[None, None, :]
        gain = 1.0 + 0.15 * rng.normal(size=(b, repetitions, 1, 1))
        bg = np.einsum("cs,brst->brct", subject.noise_patterns, _pink(rng, (b, repetitions, subject.noise_patterns.shape[1]),
                                                                      n_t, sfreq)) / np.sqrt(8)
        phase = rng.uniform(0, 2 * np.pi, size=(b, repetitions, 1, 1))
        alpha_amp = np.exp(rng.normal(0, 0.4, size=(b, repetitions, 1, 1)))
        alpha = alpha_amp * np.sin(2 * np.pi * subject.alpha_freq * times[None, None, None, :] + phase) * \
            subject.alpha_pattern[None, None, :, None]
        white = rng.normal(size=(b, repetitions, n_ch, n_t))
        eeg = gain * evoked[:, None] + noise * (0.75 * bg + 0.55 * alpha + 0.35 * white)
        out[s:s + b] = eeg - eeg[..., times < 0].mean(-1, keepdims=True)  # baseline correction
    return out
