"""``sum``: several objectives trained together on one encoder, as a weighted sum of their losses.

``loss = sum_k weight_k * loss_k`` over the parts with a weight above 0 (a part with weight 0 is
neither run nor reported). Each part keeps its own heads (built with the encoder's ``embed_dim``
when the sum is built) and is a submodule under its own name, so its weights sit under
``<name>.`` in the state dict. What is reported besides ``loss``:

- ``report="losses"``: ``<name>_loss`` for each part (detached);
- ``report="parts"``: each part's own reported entries (``masked_mse``, ``nt_xent``, ...) under
  their names (two parts reporting the same name are refused).

In a config, parts are given by registered name::

    objective:
      name: sum
      kwargs:
        parts:
          masked: {name: masked_prediction, kwargs: {mask_ratio: 0.5}, weight: 1.0}
          contrastive: {name: contrastive, weight: 0.5}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch

from neurorep.checks import check_option
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.registry import register_objective

__all__ = ["SumObjective", "weighted_sum"]

REPORTS = ("losses", "parts")


def weighted_sum(parts: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """``sum_k weights[k] * parts[k]`` over the keys of ``weights`` (scalars)."""
    missing = [k for k in weights if k not in parts]
    if missing:
        raise KeyError(f"weighted_sum: no part named {missing}")
    terms = [float(w) * parts[k] for k, w in weights.items()]
    if not terms:
        raise ValueError("weighted_sum: no weights given")
    return torch.stack(terms).sum()


def _weight(owner: str, name: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{owner}: {name} must be a number >= 0, got {value!r}")
    return float(value)


@register_objective("sum")
class SumObjective(Objective):
    """Weighted sum of objectives on one encoder; see the module docstring.

    Args:
        parts: ``{name: objective}``, where an objective is an :class:`Objective` or a spec
            ``{"name": registered name, "kwargs": {...}, "weight": w}`` (``kwargs`` and ``weight``
            optional).
        weights: ``{name: w}`` (default 1 for a part given as an object; a spec's ``weight``
            otherwise).
        report: ``"losses"`` or ``"parts"`` (what is reported besides ``loss``).
    """

    def __init__(self, parts: Mapping[str, Objective | Mapping[str, Any]], weights: Mapping[str, float] | None = None,
                 report: Literal["losses", "parts"] = "losses") -> None:
        owner = self.registry_name or "sum"
        check_option(owner, "report", report, REPORTS)
        if not isinstance(parts, Mapping) or not parts:
            raise ConfigError(f"{owner}: parts must be a non-empty mapping of name -> objective, got {parts!r}")
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(parts))
        if unknown:
            raise ConfigError(f"{owner}: weights name parts that do not exist: {unknown}; parts are {sorted(parts)}")
        built: dict[str, Objective] = {}
        specs: dict[str, Any] = {}
        for name, part in parts.items():
            if isinstance(part, Objective):
                built[name] = part
                specs[name] = {"name": part.registry_name or type(part).__name__, "kwargs": dict(part.config)}
                weights.setdefault(name, 1.0)
            else:
                built[name], weight = self._from_spec(owner, name, part)
                specs[name] = {k: v for k, v in part.items() if k != "weight"}
                weights.setdefault(name, weight)
        self.weights = {name: _weight(owner, f"weight of part {name!r}", w) for name, w in weights.items()}
        if not any(w > 0 for w in self.weights.values()):
            raise ConfigError(f"{owner}: every part has weight 0; set at least one > 0")
        super().__init__(parts={n: {**specs[n], "weight": self.weights[n]} for n in built}, report=report)
        self.report = report
        self.part_names = list(built)
        reserved = set(dir(Objective)) | {"weights", "report", "part_names", "config"}
        for name, part in built.items():
            if not name.isidentifier() or name in reserved:
                raise ConfigError(f"{owner}: part name {name!r} must be a plain identifier other than "
                                  f"{', '.join(sorted(r for r in reserved if not r.startswith('_'))[:5])}, ...")
            self.add_module(name, part)

    @staticmethod
    def _from_spec(owner: str, name: str, spec: Any) -> tuple[Objective, float]:
        from neurorep.objectives.registry import create_objective

        if not isinstance(spec, Mapping) or "name" not in spec:
            raise ConfigError(f"{owner}: part {name!r} must be an objective or {{name: ..., kwargs: ..., weight: ...}}, "
                              f"got {spec!r}")
        extra = sorted(set(spec) - {"name", "kwargs", "weight"})
        if extra:
            raise ConfigError(f"{owner}: part {name!r} has unknown keys {extra}; allowed: name, kwargs, weight")
        return create_objective(spec["name"], **dict(spec.get("kwargs") or {})), spec.get("weight", 1.0)

    @property
    def parts(self) -> dict[str, Objective]:
        """``{name: objective}`` in order."""
        return {name: self.get_submodule(name) for name in self.part_names}  # type: ignore[misc]

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Build every part's heads."""
        for part in self.parts.values():
            part.build(embed_dim, n_channels, n_times)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """``{"loss": weighted sum, ...}`` (reported entries detached; see ``report``)."""
        losses: dict[str, torch.Tensor] = {}
        weights: dict[str, float] = {}
        out: dict[str, torch.Tensor] = {}
        for name, part in self.parts.items():
            if self.weights[name] == 0:
                continue
            res = part(encoder, batch)
            losses[name], weights[name] = res["loss"], self.weights[name]
            if self.report == "losses":
                out[f"{name}_loss"] = res["loss"].detach()
                continue
            for key, value in res.items():
                if key == "loss":
                    continue
                if key in out:
                    raise ConfigError(f"{self.registry_name or 'sum'}: two parts report {key!r}; use report='losses'")
                out[key] = value
        return {"loss": weighted_sum(losses, weights), **out}

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # checkpoints of the meg-ablation recipe's former private sum held the parts under ``parts.<name>.``
        old = f"{prefix}parts."
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + key[len(old):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
