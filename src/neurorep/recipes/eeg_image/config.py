"""Typed config of one eeg-image run (options of the NICE / Things-EEG-2 training script as fields)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from neurorep.config import ModelSpec, OptimConfig, Strict
from neurorep.data.image_embeddings import EmbeddingsConfig


class ThingsSimulateConfig(Strict):
    """Simulated Things-EEG-2 corpus written into ``data.source`` when that folder is missing."""

    subjects: int = Field(10, ge=1)
    seed: int = 0
    n_train_concepts: int = Field(1654, ge=2)
    images_per_concept: int = Field(10, ge=1)
    n_test_concepts: int = Field(200, ge=2)
    signal: float = Field(0.6, gt=0)
    noise: float = Field(3.0, ge=0)
    subject_specificity: float = Field(0.5, ge=0, le=1)
    jobs: int = Field(1, ge=1)


class ThingsDataConfig(Strict):
    """Where Things-EEG-2 is, where its converted cache goes, and the concept categories."""

    source: str = Field(..., description="Things-EEG-2 folder (sub-XX/preprocessed_eeg_*.npy + image_metadata.npy)")
    cache: str = Field(".cache/neurorep", description="cache root for the converted arrays")
    simulate: ThingsSimulateConfig | None = Field(None, description="simulate the corpus into `source` if missing")
    categories: str | None = Field(None, description="concept,category CSV (default: <source>/concept_categories.csv)")


class TrainConfig(OptimConfig):
    """Training of the EEG side: warm-up from ``min_lr`` to ``lr``, then cosine back to ``min_lr``."""

    epochs: int = Field(40, ge=1)
    batch_size: int = Field(256, ge=2)
    lr: float = Field(1e-3, gt=0)
    min_lr: float = Field(1e-5, gt=0, description="learning rate at the start of warm-up and the end of decay")
    warmup_epochs: int = Field(3, ge=0)
    patience: int | None = Field(8, ge=1)
    val_fraction: float = Field(0.05, ge=0, lt=0.5, description="share of training concepts held out for validation")
    max_val_windows: int | None = Field(None, ge=1)


class EvalConfig(Strict):
    """Zero-shot retrieval settings."""

    ways: list[int] = Field(default_factory=lambda: [2, 4, 50, 200])
    ks: list[int] = Field(default_factory=lambda: [1, 5])
    n_draws: int = Field(20, ge=1, description="random distractor draws per query for ways below the test size")
    repetitions: list[int] = Field(default_factory=lambda: [1, 5, 20, 80],
                                   description="test repetitions averaged for the repetition curve")


class EEGImageConfig(Strict):
    """One run: align an EEG encoder to frozen image embeddings, then zero-shot retrieval on a test subject."""

    recipe: Literal["eeg-image"] = "eeg-image"
    out: str | None = None
    seed: int = 0
    data: ThingsDataConfig
    embeddings: EmbeddingsConfig = EmbeddingsConfig()
    subject_id: list[int] = Field(default_factory=lambda: [1], description="training subject(s)")
    test_subject: int | None = Field(None, description="default: the first training subject (intra-subject)")
    subj_training_ratio: float = Field(1.0, gt=0, le=1, description="fraction of each subject's training samples")
    separate_test: bool = Field(True, description="test on the unseen test concepts; false: hold out training concepts")
    init_from: str | None = Field(None, description="run folder whose trained encoder + projection to start from")
    encoder: ModelSpec = ModelSpec(name="resnet1d", kwargs={})
    objective: ModelSpec = ModelSpec(name="clip", kwargs={"temperature": 0.04})
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    plots: bool = True
    progress: bool = True
    threads: int | None = Field(None, ge=1, description="torch CPU threads during the run (restored afterwards); "
                                "1 is fastest for the small models on a shared CPU; null keeps the current setting")

    @field_validator("subject_id", mode="before")
    @classmethod
    def _subjects(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return [v]
        if isinstance(v, str):
            return [int(s) for s in v.replace(",", " ").split()]
        return v

    @model_validator(mode="after")
    def _check(self) -> EEGImageConfig:
        if not self.subject_id or any(s < 1 for s in self.subject_id):
            raise ValueError("subject_id must list subject numbers >= 1")
        if len(set(self.subject_id)) != len(self.subject_id):
            raise ValueError(f"subject_id lists a subject twice: {self.subject_id}")
        return self

    @property
    def target_subject(self) -> int:
        """The subject tested on."""
        return self.test_subject if self.test_subject is not None else self.subject_id[0]

    @property
    def setting(self) -> str:
        """``intra`` when the test subject is among the training subjects, else ``inter``."""
        return "intra" if self.target_subject in self.subject_id else "inter"
