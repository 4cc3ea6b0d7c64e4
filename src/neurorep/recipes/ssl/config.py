"""Typed config of one ssl run (any prepared cache, any registered encoder and objective)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from neurorep.config import ModelSpec, OptimConfig, Strict
from neurorep.data.prepared import DataConfig

#: Paradigm short names used in tables and config file names -> registered objective names.
PARADIGMS = {"mp": "masked_prediction", "crl": "contrastive", "hybrid": "hybrid", "rp": "relative_positioning",
             "tcl": "temporal_contrastive", "mbp": "masked_band_power",
             "scl": "segment_contrastive"}


def _check_fractions(cls: type, v: list[float]) -> list[float]:
    """Label fractions: at least one, each in (0, 1]; sorted without repeats."""
    if not v:
        raise ValueError("give at least one label fraction in (0, 1]")
    if any(not 0 < f <= 1 for f in v):
        raise ValueError("label fractions must lie in (0, 1]")
    return sorted(set(v))


class ProbeConfig(Strict):
    """Linear probe on frozen embeddings (class-balanced logistic regression)."""

    label_fractions: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0])
    C: float = Field(1.0, gt=0)
    max_train: int | None = Field(20000, ge=10, description="cap on training windows embedded for the probe")
    recentre: Literal["none", "subject"] = Field(
        "none", description="subject: subtract each subject's mean embedding (over its embedded windows, labels "
        "unused) from the training and test embeddings before the probe")

    check_label_fractions = field_validator("label_fractions")(_check_fractions)


class FinetuneConfig(OptimConfig):
    """Supervised training: from scratch (method=supervised) or fine-tuning a pretrained encoder."""

    enabled: bool = Field(False, description="also fine-tune the pretrained encoder (method=ssl)")
    label_fractions: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0])
    encoder_lr_scale: float = Field(0.1, ge=0, description="learning-rate factor of pretrained layers")
    class_weighted: bool = True

    check_label_fractions = field_validator("label_fractions")(_check_fractions)


class LatentConfig(Strict):
    """Latent-space benchmark of the test embeddings."""

    enabled: bool = True
    k: int = Field(10, ge=1)


class PretrainConfig(OptimConfig):
    """Self-supervised pretraining: optimisation and which windows it sees."""

    windows: Literal["train", "all"] = Field(
        "train", description="train: the training subjects' windows only; all: every window of the cache "
        "(every subject, labelled or not) -- transductive, the test subjects' signals are seen unlabelled")
    extra_caches: list[str] = Field(default_factory=list, description="more caches (same channels, rate and "
                                    "window length) whose windows join the pretraining set, labels unused: e.g. "
                                    "continuous fixed windows of every recording (`data prepare --keep-unlabelled`)")
    reuse: bool = Field(True, description="with windows=all, pretrain once per seed and setting and let the other "
                        "folds load the stored weights (the pretraining sees no label and no fold, so they are "
                        "the same weights)")


class WeightsConfig(Strict):
    """Start the encoder from saved weights: a published checkpoint (file or hub id) or a neurorep
    saved-model folder, checked against the cache by its checkpoint contract."""

    source: str = Field(..., description="checkpoint file, hub id, or saved-model folder")
    channel_mapping: dict[str, Any] | None = Field(
        None, description="explicit channel mapping when the cache's channels differ from the model's "
        "(rename / reorder / drop / interpolate; see docs/published_models.md)")
    resample: bool = Field(False, description="resample the cache's rate to the model's (else refused)")


class SSLConfig(Strict):
    """One configuration: pretrain (or not), embed, probe, fine-tune, benchmark the latent space."""

    recipe: Literal["ssl"] = "ssl"
    out: str | None = None
    seed: int = 0
    fold: int = Field(0, ge=0, description="which subject fold to use when data.split.folds is set")
    method: Literal["ssl", "random", "supervised"] = Field(
        "ssl", description="ssl: pretrain with `objective`; random: untrained encoder; supervised: from scratch")
    data: DataConfig
    encoder: ModelSpec = ModelSpec(name="cnn")
    weights: WeightsConfig | None = Field(None, description="initial encoder weights (default: random init)")
    objective: ModelSpec = ModelSpec(name="contrastive")
    pretrain: PretrainConfig = PretrainConfig()
    probe: ProbeConfig = ProbeConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    latent: LatentConfig = LatentConfig()
    plots: bool = True
    progress: bool = True
