"""Knowledge distillation from a teacher to a student sleep stager: SD, AT and CL terms.

* Softmax distillation (SD, Hinton et al. 2015): ``T^2 * KL(softmax(z_t / T) || softmax(z_s / T))``,
  averaged over labelled-or-not epochs (every row of the logits); the ``T^2`` factor keeps its
  gradient scale independent of the temperature.
* Attention transfer (AT, Zagoruyko & Komodakis 2017): the attention map of features
  ``F[B, C, L]`` is the channel-pooled activation ``a = mean_c |F_c|^p`` ``[B, L]``, resampled
  (linear) to a common length and L2-normalised over time; the loss is the mean over the batch of
  ``|| a_s / ||a_s|| - a_t / ||a_t|| ||_2``, summed over the transferred layers.
* Classification loss (CL): cross-entropy over labelled epochs (``y >= 0``), optionally
  class-weighted.

The total is ``ce_weight * CL + kd_weight * SD + at_weight * AT``; a weight of 0 skips its term
(and the teacher forward pass when both SD and AT are off).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.registry import register_objective

#: A staging network: ``x[B, C, T] -> (logits [B, N, K], feature maps name -> [B, C_l, L_l])``.
Stager = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(p_t || p_s)`` with ``p = softmax(logits / T)``, averaged over rows.

    Logits are ``[..., K]``; every leading position is a row.
    """
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive; got {temperature}")
    k = student_logits.shape[-1]
    s = F.log_softmax(student_logits.reshape(-1, k) / temperature, dim=-1)
    t = F.log_softmax(teacher_logits.reshape(-1, k).detach() / temperature, dim=-1)
    return F.kl_div(s, t, reduction="batchmean", log_target=True) * temperature**2


def attention_map(features: torch.Tensor, p: float = 2.0, size: int | None = None) -> torch.Tensor:
    """Normalised temporal attention ``[B, L]`` of ``features[B, C, L]``: ``mean_c |F|^p``, optionally
    resampled (linear) to ``size``, divided by its L2 norm."""
    a = features.abs().pow(p).mean(dim=1)
    if size is not None and a.shape[-1] != size:
        a = F.interpolate(a[:, None], size=int(size), mode="linear", align_corners=False)[:, 0]
    return F.normalize(a, p=2.0, dim=-1, eps=1e-12)


def at_loss(student_features: torch.Tensor, teacher_features: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Attention-transfer loss: mean over the batch of ``||a_s - a_t||_2`` (teacher map resampled to the
    student's length)."""
    a_s = attention_map(student_features, p)
    a_t = attention_map(teacher_features.detach(), p, size=a_s.shape[-1])
    return (a_s - a_t).norm(p=2, dim=-1).mean()


def at_loss_from_map(student_features: torch.Tensor, teacher_map: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """:func:`at_loss` with the teacher's attention map ``[B, L_t]`` (from :func:`attention_map`) given.

    Linear resampling commutes with scaling, so resampling the normalised map and normalising again
    equals :func:`at_loss` on the teacher's features."""
    a_s = attention_map(student_features, p)
    a_t = teacher_map.detach()
    if a_t.shape[-1] != a_s.shape[-1]:
        a_t = F.interpolate(a_t[:, None], size=int(a_s.shape[-1]), mode="linear", align_corners=False)[:, 0]
    a_t = F.normalize(a_t, p=2.0, dim=-1, eps=1e-12)
    return (a_s - a_t).norm(p=2, dim=-1).mean()


#: batch keys of precomputed teacher outputs (see :meth:`Distillation.teacher_outputs`)
TEACHER_LOGITS = "teacher_logits"
TEACHER_MAP = "teacher_at_"


def masked_ce(logits: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of ``logits[..., K]`` against ``y[...]`` over entries with ``y >= 0`` (0 if none)."""
    k = logits.shape[-1]
    flat, yy = logits.reshape(-1, k), y.reshape(-1).long()
    keep = yy >= 0
    if not bool(keep.any()):
        return flat.sum() * 0.0
    return F.cross_entropy(flat[keep], yy[keep], weight=weight)


@register_objective("distillation")
class Distillation(Objective):
    """``ce_weight * CL + kd_weight * SD + at_weight * AT`` between a student and a frozen teacher.

    Call as ``objective(student, batch, teacher=..., class_weights=...)``: ``student`` and ``teacher``
    map an input ``[B, C, T]`` to ``(logits [B, N, K], feature maps)``; the student reads
    ``batch[student_key]``, the teacher ``batch[teacher_key]``; ``batch["y"]`` is ``[B, N]``.
    ``at_layers`` names the feature maps to transfer (``bottleneck``, ``enc<i>``, ``dec<i>``).
    """

    def __init__(self, ce_weight: float = 1.0, kd_weight: float = 0.0, at_weight: float = 0.0,
                 temperature: float = 4.0, at_layers: Sequence[str] = ("bottleneck",), at_p: float = 2.0,
                 student_key: str = "ecg", teacher_key: str = "x") -> None:
        super().__init__(ce_weight=ce_weight, kd_weight=kd_weight, at_weight=at_weight, temperature=temperature,
                         at_layers=list(at_layers), at_p=at_p, student_key=student_key, teacher_key=teacher_key)
        for name, v in (("ce_weight", ce_weight), ("kd_weight", kd_weight), ("at_weight", at_weight)):
            if v < 0:
                raise ConfigError(f"distillation: {name} must be >= 0; got {v}")
        if temperature <= 0:
            raise ConfigError(f"distillation: temperature must be positive; got {temperature}")
        if at_weight > 0 and not at_layers:
            raise ConfigError("distillation: at_weight > 0 needs at least one layer in at_layers")
        self.ce_weight, self.kd_weight, self.at_weight = float(ce_weight), float(kd_weight), float(at_weight)
        self.temperature, self.at_p = float(temperature), float(at_p)
        self.at_layers = list(at_layers)
        self.student_key, self.teacher_key = student_key, teacher_key

    @property
    def needs_teacher(self) -> bool:
        return self.kd_weight > 0 or self.at_weight > 0

    @torch.no_grad()
    def teacher_outputs(self, teacher: Stager, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen teacher's outputs for ``x[B, C, T]`` as batch entries: ``teacher_logits [B, N, K]`` and
        ``teacher_at_<layer> [B, L_layer]`` (attention maps of ``at_layers``), so training can skip the teacher."""
        logits, feats = teacher(x)
        out = {TEACHER_LOGITS: logits}
        for n in self.at_layers:
            if n not in feats:
                raise ConfigError(f"distillation: unknown at_layers [{n!r}]; available: {', '.join(sorted(feats))}")
            out[TEACHER_MAP + n] = attention_map(feats[n], self.at_p)
        return out

    def forward(self, student: Stager, batch: dict[str, torch.Tensor], teacher: Stager | None = None,
                class_weights: torch.Tensor | None = None) -> dict[str, Any]:
        """Loss terms and the student's logits ``[B, N, K]`` (key ``logits``)."""
        logits, feats = student(batch[self.student_key])
        out: dict[str, Any] = {"logits": logits}
        loss = logits.sum() * 0.0
        ce = masked_ce(logits, batch["y"], class_weights)
        out["ce"] = ce
        if self.ce_weight > 0:
            loss = loss + self.ce_weight * ce
        if self.needs_teacher:
            cached = TEACHER_LOGITS in batch
            if cached:  # precomputed by teacher_outputs(): the frozen teacher is not run again
                t_logits = batch[TEACHER_LOGITS]
                t_maps = {n: batch[TEACHER_MAP + n] for n in self.at_layers if TEACHER_MAP + n in batch}
            else:
                if teacher is None:
                    raise ConfigError("distillation: kd_weight or at_weight > 0 needs a teacher")
                with torch.no_grad():
                    t_logits, t_feats = teacher(batch[self.teacher_key])
            if self.kd_weight > 0:
                out["sd"] = kd_loss(logits, t_logits, self.temperature)
                loss = loss + self.kd_weight * out["sd"]
            if self.at_weight > 0:
                have = t_maps if cached else t_feats
                missing = [n for n in self.at_layers if n not in feats or n not in have]
                if missing:
                    raise ConfigError(f"distillation: unknown at_layers {missing}; available: {', '.join(sorted(feats))}")
                if cached:
                    at = sum(at_loss_from_map(feats[n], t_maps[n], self.at_p) for n in self.at_layers)
                else:
                    at = sum(at_loss(feats[n], t_feats[n], self.at_p) for n in self.at_layers)
                out["at"] = at
                loss = loss + self.at_weight * at
        out["loss"] = loss
        return out
