"""Typed config of one meg-ablation run: one setting (Intra or Cross), one pretraining combination."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from neurorep.config import ModelSpec, OptimConfig, Strict

#: pretraining flag -> registered objective, and the encoder part that objective initialises.
OBJECTIVE_OF = {"denoising": "denoising", "masked_sensor": "masked_sensor", "masked_sequence": "masked_sequence"}
PART_OF = {"denoising": "spatial", "masked_sensor": "spatial", "masked_sequence": "sequence"}
SETTING_FOLDER = {"intra": "Intra", "cross": "Cross"}


class MegSimulateConfig(Strict):
    """Simulated corpus written into ``data.source`` when it does not exist (``neurorep data simulate meg``)."""

    subjects: int = Field(6, ge=3, description="all subjects: 1 Intra + Cross training + test_subjects")
    test_subjects: int = Field(3, ge=1)
    seconds: float = Field(10.0, gt=0, description="length of each file")
    intra_train: int = Field(8, ge=1, description="files per task in Intra/train")
    intra_test: int = Field(2, ge=1)
    cross_train: int = Field(4, ge=1, description="files per task and subject in Cross/train")
    cross_test: int = Field(2, ge=1)
    seed: int = 0
    jobs: int = Field(1, ge=1)
    difficulty: dict[str, float] = Field(default_factory=dict, description="meg_signals.Difficulty fields")


class MegPrepareConfig(Strict):
    """How recordings become windows. Part of the cache key."""

    sfreq_in: float = Field(2034.0, gt=0, description="rate of the files (not stored in them; HCP: 2034 Hz)")
    sfreq: float = Field(100.0, gt=0, description="downsample to about this rate (polyphase, anti-aliased)")
    window_s: float = Field(1.0, gt=0, description="window length in seconds")
    stride_s: float = Field(0.5, gt=0, description="step between window starts in seconds")
    scaling: Literal["robust", "zscore", "none"] = Field("zscore", description="per recording and channel")


class MegDataConfig(Strict):
    """Where the HCP-style folders are and how they are windowed."""

    source: str = Field(..., description="folder holding Intra/ and Cross/")
    cache: str = Field(".cache/neurorep", description="window cache root")
    prepare: MegPrepareConfig = MegPrepareConfig()
    val_fraction: float = Field(0.2, ge=0, lt=1, description="share of training recordings (per class) kept for "
                                "validation (early stopping)")
    simulate: MegSimulateConfig | None = None
    jobs: int = Field(1, ge=1, description="processes preparing recordings")


class PretrainingFlags(Strict):
    """Which pretraining tasks run before supervised training (the ablation's three switches)."""

    denoising: bool = False
    masked_sensor: bool = False
    masked_sequence: bool = False

    def enabled(self) -> list[str]:
        return [k for k in OBJECTIVE_OF if getattr(self, k)]


class MegAblationConfig(Strict):
    """One run: pretrain the enabled parts, then train end to end and score on the test folder(s)."""

    recipe: Literal["meg-ablation"] = "meg-ablation"
    out: str | None = None
    seed: int = 0
    setting: Literal["intra", "cross"] = "intra"
    data: MegDataConfig
    pretraining: PretrainingFlags = PretrainingFlags()
    encoder: ModelSpec = ModelSpec(name="meg_cnn_transformer")
    objectives: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                  description="keyword arguments per objective name")
    pretrain: OptimConfig = OptimConfig(epochs=5, patience=None)
    finetune: OptimConfig = OptimConfig(epochs=10, patience=4)
    encoder_lr_scale: float = Field(1.0, ge=0, description="learning-rate factor of the encoder when fine-tuning")
    plots: bool = True
    progress: bool = True

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        bad = sorted(set(v) - set(OBJECTIVE_OF))
        if bad:
            raise ValueError(f"unknown objective {bad[0]!r}; allowed values are {', '.join(OBJECTIVE_OF)}")
        return v
