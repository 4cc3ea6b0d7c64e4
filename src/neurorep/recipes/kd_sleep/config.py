"""Typed config of one kd-sleep run (one training mode, or the evaluation of a saved one)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from neurorep.config import ModelSpec, OptimConfig, SplitConfig, Strict
from neurorep.data.prepared import SimulateConfig
from neurorep.data.windows import PrepareConfig

MODES = ("eeg_base", "ecg_base", "feat_train", "feat_temp", "feat_wce", "kd_temp", "evaluate")
Mode = Literal["eeg_base", "ecg_base", "feat_train", "feat_temp", "feat_wce", "kd_temp", "evaluate"]
#: What each training mode optimises (table labels).
MODE_LABELS = {
    "eeg_base": "EEG teacher (CL)",
    "ecg_base": "ECG base (CL)",
    "feat_train": "AT only (head on frozen features)",
    "feat_temp": "AT+SD+CL (proposed)",
    "feat_wce": "AT+weighted CL",
    "kd_temp": "SD+CL",
}
#: Batch keys of the two inputs: the EEG teacher's and the ECG / heart-rate student's.
EEG, ECG = "eeg", "ecg"


@dataclass(frozen=True)
class ModeSpec:
    """What a training mode reads and optimises by default."""

    input_key: str  #: batch key of the input the trained network reads (EEG or ECG)
    ce_weight: float  #: default weight of the cross-entropy on labelled epochs
    kd_weight: float  #: default weight of softmax distillation from the teacher
    at_weight: float  #: default weight of attention transfer from the teacher
    class_weighted: bool  #: default of ``loss.class_weighted``
    detach_head: bool = False  #: the head is fitted on stop-gradient features (encoder trained by AT only)


MODE_SPECS: dict[str, ModeSpec] = {
    "eeg_base": ModeSpec(EEG, 1.0, 0.0, 0.0, class_weighted=False),
    "ecg_base": ModeSpec(ECG, 1.0, 0.0, 0.0, class_weighted=False),
    "feat_train": ModeSpec(ECG, 1.0, 0.0, 1.0, class_weighted=False, detach_head=True),
    "feat_temp": ModeSpec(ECG, 1.0, 1.0, 1.0, class_weighted=False),
    "feat_wce": ModeSpec(ECG, 1.0, 0.0, 1.0, class_weighted=True),
    "kd_temp": ModeSpec(ECG, 1.0, 1.0, 0.0, class_weighted=False),
}
#: Modes that need the EEG teacher, and modes that start from a feat_train student.
NEEDS_TEACHER = ("feat_train", "feat_temp", "feat_wce", "kd_temp")
NEEDS_INIT = ("feat_temp", "feat_wce")


class ModalityConfig(Strict):
    """One input of the study: its source layout, window preparation and encoder."""

    dataset: str = Field("mass", description="source layout (mass, mass-ihr, slpdb, ...)")
    prepare: PrepareConfig = PrepareConfig()
    encoder: ModelSpec = ModelSpec(name="utime")
    derived: list[Literal["rolling_mean", "rolling_sd", "elapsed"]] = Field(
        default_factory=list, description="channels added to the input, computed from it over each whole "
        "recording: rolling mean / SD over `derived_window_s` (HRV-like summaries of heart rate), elapsed: "
        "time since the recording's start in units of 8 h")
    derived_window_s: float = Field(300.0, gt=0, description="window of the derived channels (s)")


def default_eeg() -> ModalityConfig:
    """The default teacher input: EEG C4 and O2 at 50 Hz (0.3–20 Hz), U-Time with filters 16/32/64."""
    return ModalityConfig(dataset="mass", prepare=PrepareConfig(channels=["EEG C4", "EEG O2"], sfreq=50.0, l_freq=0.3,
                                                                 h_freq=20.0),
                          encoder=ModelSpec(name="utime", kwargs={"filters": [16, 32, 64], "pools": [10, 6, 5]}))


def _ecg() -> ModalityConfig:
    return ModalityConfig(dataset="mass-ihr", prepare=PrepareConfig(channels=["ECG"], sfreq=None, l_freq=None,
                                                                     h_freq=None),
                          encoder=ModelSpec(name="utime", kwargs={"filters": [16, 32, 64], "pools": [4, 3, 2]}))


class KDDataConfig(Strict):
    """Where the nights are, how they become paired EEG/ECG windows, and the subject split."""

    source: str = Field(..., description="folder of recordings")
    cache: str = Field(".cache/neurorep", description="window cache root")
    simulate: SimulateConfig | None = Field(None, description="simulate a corpus (kind: mass) into `source` if missing")
    scheme: Literal["3class", "4class"] = "4class"
    split: SplitConfig = SplitConfig()
    split_file: str | None = Field(None, description="JSON of subject ids per part; written from `split` if missing")
    seq_len: int = Field(10, ge=1, description="consecutive 30-s epochs per training sequence (U-Time input)")
    train_stride: int | None = Field(None, ge=1, description="step between training sequences (default seq_len // 2)")
    sampling: Literal["uniform", "class_balanced"] = Field(
        "uniform", description="how training sequences are drawn: each once per pass (uniform), or with "
        "replacement in proportion to the mean balanced class weight of their labelled epochs (class_balanced), "
        "so sequences holding rare stages are drawn more often")
    eeg: ModalityConfig | None = Field(default_factory=default_eeg, description="teacher input (null: no EEG, e.g. slpdb)")
    ecg: ModalityConfig = Field(default_factory=_ecg, description="student input: raw ECG (mass) or IHR (mass-ihr)")
    jobs: int = Field(1, ge=1, description="processes preparing recordings")


class LossConfig(Strict):
    """Loss terms; a weight left null takes the mode's default (see docs/kd_sleep.md)."""

    temperature: float = Field(4.0, gt=0)
    ce_weight: float | None = Field(None, ge=0)
    kd_weight: float | None = Field(None, ge=0)
    at_weight: float | None = Field(None, ge=0)
    at_layers: list[str] = Field(default_factory=lambda: ["bottleneck"])
    at_p: float = Field(2.0, gt=0)
    class_weighted: bool | None = Field(
        None, description="weight the cross-entropy by inverse class frequency of the training epochs "
        "(null: the mode's default, on for feat_wce only)")
    class_weight_power: float = Field(
        1.0, ge=0, le=1, description="class weights are raised to this power (1: fully balanced, 0.5: square root, "
        "a milder push towards rare classes)")


class KDSleepConfig(Strict):
    """One kd-sleep run."""

    def optim(self) -> OptimConfig:
        """The optimisation settings of this run's mode (``teacher_train`` for ``eeg_base`` when set)."""
        return self.teacher_train if self.mode == "eeg_base" and self.teacher_train is not None else self.train

    recipe: Literal["kd-sleep"] = "kd-sleep"
    out: str | None = None
    seed: int = 0
    mode: Mode = "feat_temp"

    @field_validator("mode", mode="before")
    @classmethod
    def _renamed_mode(cls, value: Any) -> Any:
        if value == "test":
            warnings.warn("kd-sleep `mode: test` is deprecated; write `mode: evaluate` (same behaviour)",
                          FutureWarning, stacklevel=2)
            return "evaluate"
        return value

    data: KDDataConfig
    loss: LossConfig = LossConfig()
    train: OptimConfig = OptimConfig(epochs=15, batch_size=16, lr=2e-3, patience=5, max_val_windows=None)
    teacher_train: OptimConfig | None = Field(
        None, description="optimisation of mode eeg_base (the EEG teacher), e.g. a longer budget; null uses `train`")
    teacher: str | None = Field(None, description="an eeg_base run folder; null trains one in <out>/teacher")
    init: str | None = Field(None, description="a feat_train run folder; null trains one in <out>/feat_train")
    checkpoint: str | None = Field(None, description="mode evaluate: the run folder (or export folder) to evaluate")
    evaluate_on: Literal["test", "val", "train"] = "test"
    evaluate_data: str | None = Field(
        None, description="mode evaluate: evaluate on every labelled epoch of this other data folder (same layout and "
        "preparation as `data`) instead of a part of the split")
    decision: Literal["val_tuned", "argmax", "prior_match"] = Field(
        "val_tuned", description="student modes: shift the head's class biases to maximise weighted F1 on the "
        "validation subjects (val_tuned); per evaluated recording, shift its class log-probabilities (at most "
        "`prior_match_bound`) so that its predicted stage proportions approach those of the training and "
        "validation subjects, without its labels (prior_match; the classic rows get the same rule); or keep "
        "plain argmax decisions; the eeg_base teacher always keeps argmax")
    prior_match_bound: float | None = Field(
        None, ge=0, le=10, description="decision prior_match: largest offset added to a class's log-probability "
        "(relative to the first class); a recording whose evidence for a class is weaker than this keeps none. "
        "null: chosen among `prior_match_candidates` on the out-of-fold predictions of the training people "
        "(needs cross_fit; evaluation/prior_match.py:select_bound)")
    prior_match_candidates: list[float] = Field(
        default_factory=lambda: [0.0, 0.5, 1.0, 1.5, 2.0, 3.0], min_length=1,
        description="bounds tried when prior_match_bound is null")

    @model_validator(mode="after")
    def _bound_needs_held_out(self) -> KDSleepConfig:
        if self.decision == "prior_match" and self.prior_match_bound is None and self.cross_fit is None \
                and self.mode != "evaluate":
            raise ValueError("prior_match_bound: null (chosen on out-of-fold predictions) needs cross_fit; "
                             "set cross_fit or give a bound")
        if any(not 0 <= b <= 10 for b in self.prior_match_candidates):
            raise ValueError("prior_match_candidates: bounds must lie in [0, 10]")
        return self
    decision_metric: Literal["weighted_f1", "macro_f1", "accuracy"] = Field(
        "weighted_f1", description="what decision val_tuned maximises on the held-out subjects")
    cross_fit: int | None = Field(
        None, ge=2, description="student modes: train one member per inner fold of the training + validation "
        "subjects (validated on that fold), predict with the members' mean log-probabilities, and tune "
        "val_tuned offsets on their out-of-fold predictions of every non-test subject (null: one network)")
    cross_fit_seeds: int = Field(
        1, ge=1, le=8, description="with cross_fit: members trained per inner fold, from different seeds (the "
        "fold's out-of-fold predictions are their mean log-probabilities; costs cross_fit x cross_fit_seeds trainings)")
    min_val_subjects: int = Field(
        4, ge=1, description="decision val_tuned is applied only with at least this many validation subjects; "
        "with fewer the run keeps argmax decisions (offsets tuned on one or two people do not transfer)")
    plots: bool = True
    progress: bool = True
