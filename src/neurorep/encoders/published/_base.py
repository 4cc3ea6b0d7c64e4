"""What every published-model encoder shares: the base class, the head-carrying model, a DFT.

A published encoder (CBraMod, BIOT, ...) is a registered :class:`~neurorep.encoders.Encoder`
whose parameter names are those of the reference implementation's state dict (braindecode
1.8.1, the format of the braindecode hub repositories), less the classification head. It exposes
the reference's feature tensor through :meth:`PublishedEncoder.reference_features`; the generic
encoder contract (``forward_features -> [B, N, D]``, ``forward -> [B, D]`` = token mean) is laid
on top of it.

:class:`PublishedModel` puts the reference's classification head back on, so that its
``forward(x)`` and ``forward_features(x)`` give what the reference's ``forward(x)`` and
``forward(x, return_features=True)["features"]`` give, and loads a reference state dict
strictly (:meth:`PublishedModel.load_reference_state`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError, DataError

__all__ = ["PublishedCard", "PublishedEncoder", "PublishedModel", "RealDFT", "check_divisible"]


def check_divisible(owner: str, n_times: int, patch_size: int) -> None:
    """Raise :class:`~neurorep.errors.ConfigError` unless ``patch_size`` divides ``n_times``."""
    if n_times % patch_size:
        raise ConfigError(
            f"{owner}: n_times={n_times} is not divisible by patch_size={patch_size}; "
            f"use n_times={n_times // patch_size * patch_size or patch_size}"
        )


class RealDFT(nn.Module):
    """Magnitude of the one-sided DFT of the last axis, as a matrix product (exports to ONNX).

    ``x[..., n] -> |rfft(x)|[..., n // 2 + 1]``, divided by ``n`` when ``normalise`` (numpy's
    ``norm="forward"``). The cosine and sine bases are non-persistent buffers, so they are not
    part of the state dict.
    """

    def __init__(self, n: int, normalise: bool = False) -> None:
        super().__init__()
        n_freq = n // 2 + 1
        t = torch.arange(n, dtype=torch.float64)[:, None]
        f = torch.arange(n_freq, dtype=torch.float64)[None, :]
        angle = 2.0 * math.pi * ((t * f) % n) / n
        scale = 1.0 / n if normalise else 1.0
        basis = torch.cat((torch.cos(angle), -torch.sin(angle)), dim=1) * scale
        self.register_buffer("basis", basis.float(), persistent=False)
        self.n_freq = n_freq

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[..., n] -> magnitude[..., n // 2 + 1]``."""
        spec = x @ self.basis
        re, im = spec[..., : self.n_freq], spec[..., self.n_freq :]
        return torch.sqrt(re * re + im * im)


@dataclass(frozen=True)
class PublishedCard:
    """Machine-readable facts about an architecture's published checkpoints.

    ``sfreq``: the rate the published weights were pretrained at (data at another rate are
    refused when weights are loaded). ``channels``: the electrode names the model looks up by
    name (empty when it does not use names). ``units``/``normalisation``: how the authors scaled
    the input (``None`` where not recorded here). ``licence``: the weights' licence as stated by
    their publishers (``licence_source`` says where it was read; check it again before use).
    ``hub_ids``: braindecode hub repositories. ``channel_rule``: how the model takes channels
    (see :mod:`neurorep.export.contract`).
    """

    paper: str
    sfreq: float
    patch_samples: int | None
    channels: tuple[str, ...] = ()
    units: str | None = None
    normalisation: str | None = None
    licence: str | None = None
    licence_source: str | None = None
    hub_ids: tuple[str, ...] = ()
    channel_rule: str = "position"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["channels"] = list(self.channels)
        out["hub_ids"] = list(self.hub_ids)
        return out


class PublishedEncoder(Encoder):
    """Base of the published-model encoders (reference key names, no classification head).

    Subclasses set ``reference_class`` (the braindecode class name), ``head_prefix`` (the
    state-dict prefix of the reference's head) and ``default_embed_dim`` (the published width),
    and implement :meth:`reference_features`, :meth:`forward_features` and :meth:`build_head`.
    """

    reference_class: str = ""
    head_prefix: str = "final_layer."
    default_embed_dim: int = 0
    #: what the published checkpoints expect (see :class:`PublishedCard`)
    card: PublishedCard
    #: the reference constructor's argument names -> this class's (shape arguments included)
    reference_names: dict[str, str] = {"n_chans": "n_channels", "n_times": "n_times", "sfreq": "sfreq"}
    n_channels: int
    n_times: int

    @classmethod
    def kwargs_from_reference(cls, reference: dict[str, Any]) -> dict[str, Any]:
        """This class's keyword arguments for the reference's constructor arguments.

        ``n_outputs`` is not an encoder argument and is dropped; an argument this class does not
        know raises :class:`~neurorep.errors.ConfigError`.
        """
        out = {}
        for key, value in reference.items():
            if key == "n_outputs":
                continue
            if key not in cls.reference_names:
                raise ConfigError(f"{cls.registry_name}: reference argument {key!r} is not supported; "
                                  f"supported: {', '.join(sorted(cls.reference_names))}")
            out[cls.reference_names[key]] = value
        return out

    def reference_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The reference's ``forward(x, return_features=True)["features"]``."""
        raise NotImplementedError

    def head_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the reference's classification head reads (the features unless overridden)."""
        return self.reference_features(x)

    def build_head(self, n_outputs: int) -> nn.Module:  # pragma: no cover - abstract
        """The reference's classification head for ``n_outputs`` classes (same parameter names)."""
        raise NotImplementedError

    def layer_groups(self) -> list[nn.Module]:
        """Layer groups from the input upwards, for gradual unfreezing."""
        return [self]

    @classmethod
    def channel_rule(cls, kwargs: dict[str, Any]) -> str:
        """How a model built with ``kwargs`` takes channels (the card's rule; subclasses refine it)."""
        return cls.card.channel_rule

    @classmethod
    def count_is_fixed(cls, kwargs: dict[str, Any]) -> bool:
        """True when a checkpoint fixes the channel count (a parameter's shape depends on it)."""
        return False

    @classmethod
    def channels_in_checkpoint(cls, state: dict[str, torch.Tensor]) -> int | None:
        """The channel count a checkpoint's weights fix (``None`` when they fix none or it cannot be told)."""
        return None

    @classmethod
    def contract_for(cls, kwargs: dict[str, Any], source: str | None = None, sha256: str | None = None) -> Any:
        """The :class:`~neurorep.export.contract.CheckpointContract` of published weights for a model built
        with ``kwargs`` (this class's argument names)."""
        from neurorep.export.contract import CheckpointContract

        card, rule = cls.card, cls.channel_rule(kwargs)
        return CheckpointContract(
            architecture=cls.registry_name, sfreq=card.sfreq, n_times=None,
            n_channels=int(kwargs["n_channels"]) if cls.count_is_fixed(kwargs) and "n_channels" in kwargs else None,
            channel_rule=rule,  # type: ignore[arg-type]
            ch_names=list(card.channels) if rule == "table" else None, patch_samples=card.patch_samples,
            units=card.units, normalisation=card.normalisation, licence=card.licence, source=source, sha256=sha256,
            extra={"paper": card.paper, "hub_ids": list(card.hub_ids), "licence_source": card.licence_source})


class PublishedModel(nn.Module):
    """A published encoder with the reference's classification head.

    ``forward(x[B, C, T]) -> [B, n_outputs]`` and ``forward_features(x)`` (the reference's feature
    tensor) match the reference class built with the same shape arguments and state dict.
    ``n_outputs=None`` leaves the head out (``forward`` then gives the features).
    """

    def __init__(self, encoder: PublishedEncoder, n_outputs: int | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.n_outputs = n_outputs
        self.head = encoder.build_head(n_outputs) if n_outputs is not None else None
        self.metadata: dict[str, Any] = {}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The reference's ``forward(x, return_features=True)["features"]``."""
        return self.encoder.reference_features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> logits[B, n_outputs]`` (or the features when there is no head)."""
        if self.head is None:
            return self.encoder.reference_features(x)
        return self.head(self.encoder.head_input(x))

    def reference_state_dict(self) -> dict[str, torch.Tensor]:
        """This model's weights under the reference's key names."""
        state = dict(self.encoder.state_dict())
        if self.head is not None:
            prefix = self.encoder.head_prefix
            state.update({prefix + k: v for k, v in self.head.state_dict().items()})
        return state

    def load_reference_state(self, state: dict[str, torch.Tensor], source: str = "weights") -> PublishedModel:
        """Load a state dict in the reference's key names; every key must fit.

        Raises :class:`~neurorep.errors.DataError` naming ``source`` and every missing,
        unexpected and mis-shaped key, or saying that no key of the file belongs to this model.
        """
        own = self.reference_state_dict()
        prefix = self.encoder.head_prefix
        if self.head is None:  # a checkpoint's head is not part of a head-less model
            state = {k: v for k, v in state.items() if not k.startswith(prefix)}
        name = f"{type(self.encoder).__name__} ({self.encoder.registry_name})"
        if not state or not set(state) & set(own):
            shown = ", ".join(sorted(state)[:3]) or "(no tensors)"
            raise DataError(f"{source}: none of its {len(state)} tensors belongs to {name} "
                            f"(its keys start: {shown}); is it a checkpoint of another architecture?")
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        mismatched = [f"{k} (model {tuple(own[k].shape)}, file {tuple(state[k].shape)})"
                      for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
        parts = []
        if missing:
            parts.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {', '.join(unexpected)}")
        if mismatched:
            parts.append(f"mis-shaped keys: {', '.join(mismatched)}")
        if parts:
            raise DataError(f"{source}: weights do not fit {name}: " + "; ".join(parts))
        enc_state = {k: v for k, v in state.items() if not k.startswith(prefix)}
        self.encoder.load_state_dict(enc_state, strict=True)
        if self.head is not None:
            self.head.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)},
                                      strict=True)
        return self
