"""Typed config of one ``foundation`` run (pretrain, fine-tune, from-scratch baseline, or all of transfer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from neurorep.config import SplitConfig, Strict
from neurorep.training.finetune import FineTuningConfig

STAGES = ("transfer", "pretrain", "finetune", "scratch")


class HMSSimulateConfig(Strict):
    """Simulated HMS corpus written into ``data.source`` when it does not exist."""

    subjects: int = Field(40, ge=3, description="patients")
    eegs_per_patient: int = Field(3, ge=1)
    duration_s: float = Field(80.0, ge=50)
    labels_per_eeg: int = Field(2, ge=1)
    nan_fraction: float = Field(0.1, ge=0, le=1)
    seed: int = 0
    jobs: int = Field(1, ge=1)


class HMSDataConfig(Strict):
    """Where the HMS data is and how recordings become model inputs."""

    source: str = Field(..., description="folder holding train.csv and train_eegs/")
    cache: str = Field(".cache/neurorep", description="cache root for the preprocessed recordings")
    simulate: HMSSimulateConfig | None = None
    sfreq: float = Field(200.0, gt=0, description="resample to this rate (Hz)")
    l_freq: float | None = Field(0.5, ge=0)
    h_freq: float | None = Field(40.0, gt=0)
    montage: Literal["none", "double_banana"] = "none"
    include_ekg: bool = False
    segment_s: float = Field(50.0, gt=0, description="labelled segment length from the label offset")
    crop_s: float | None = Field(None, gt=0, description="keep only the central crop_s seconds of each segment")
    scale_uv: float = Field(50.0, gt=0, description="inputs are µV / scale_uv ...")
    clip: float = Field(20.0, gt=0, description="... clipped to +-clip")
    max_rows_per_eeg: int | None = Field(None, ge=1, description="cap on labelled rows per EEG (HMS has many)")
    label_fraction: float = Field(1.0, gt=0, le=1, description="share of training patients whose labels are used")
    split: SplitConfig = SplitConfig(val=0.15, test=0.2)
    on_error: Literal["raise", "skip"] = Field(
        "skip", description="a bad EEG file: report and skip it (listed at the end) or stop")


class PretrainConfig(Strict):
    """Self-supervised pretraining (masked patches + contrastive) on random crops of training EEGs."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=2)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.05, ge=0)
    warmup_epochs: float = Field(1.0, ge=0)
    crops_per_epoch: int = Field(1024, ge=2, description="random unlabelled crops drawn per epoch")
    val_crops: int = Field(128, ge=2)
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed"] = Field(
        "auto", description="auto: bf16 autocast when CUDA is available, 32-bit otherwise")
    checkpoint_every_n_steps: int | None = Field(200, ge=1, description="extra checkpoint every N optimiser steps")
    patience: int | None = Field(None, ge=1)
    gradient_clip: float | None = Field(1.0, gt=0)
    objective: dict[str, Any] = Field(default_factory=dict, description="extra arguments of the foundation objective")
    num_workers: int = Field(0, ge=0)


class ModelConfig(Strict):
    """The ``eeg_foundation`` model: a preset plus overrides (fields of EEGFoundationConfig).

    ``n_channels`` and ``n_times`` come from the data unless given.
    """

    preset: str | None = "tiny"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class FoundationConfig(Strict):
    """One ``foundation`` run."""

    recipe: Literal["foundation"] = "foundation"
    out: str | None = None
    seed: int = 0
    stage: Literal["transfer", "pretrain", "finetune", "scratch"] = Field(
        "transfer", description="transfer: pretrain -> fine-tune -> test; finetune: from init_from; scratch: random init")
    init_from: str | None = Field(None, description="stage finetune: saved encoder folder (config.json + "
                                                    "model.safetensors) or a pretrain run folder")
    data: HMSDataConfig
    model: ModelConfig = ModelConfig()
    pretrain: PretrainConfig = PretrainConfig()
    finetune: FineTuningConfig = FineTuningConfig()
    plots: bool = True
    progress: bool = True
