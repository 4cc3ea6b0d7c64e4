"""Base class shared by every encoder: the required contract and the declared optional capabilities."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from neurorep.errors import ConfigError

__all__ = ["CAPABILITIES", "Encoder"]

#: optional capability -> the methods an encoder overrides to offer it
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "intermediates": ("forward_intermediates",),
    "layer_groups": ("layer_groups",),
    "spatial_sequence": ("spatial_features", "sequence_features"),
    "patch_tokens": ("encode_tokens",),
    "tiny": ("tiny_kwargs",),
}

_PENDING = "_neurorep_init_args"


class Encoder(nn.Module):
    """An encoder maps a window ``x[B, C, T]`` to an embedding ``[B, D]``.

    Required: :meth:`forward_features` returning a token sequence ``[B, N, D]``; :meth:`forward`
    mean-pools it unless overridden. ``embed_dim`` is ``D``. Encoders hold no classification head.

    The constructor's arguments (defaults filled in) are recorded automatically in
    ``self.config`` (``registry_name`` + ``config`` rebuild the model, see
    :func:`neurorep.export.hub.save_pretrained`); a subclass that normalises an argument may still
    pass the normalised values to ``super().__init__(**config)``.

    Optional capabilities are methods declared here whose defaults raise a :class:`ConfigError`
    naming the encoder and the capability; a subclass offers one by overriding its methods, and
    callers ask :meth:`supports` instead of probing attributes:

    - ``intermediates``: :meth:`forward_intermediates` ``x -> {name: tensor}`` (with ``tokens``);
    - ``layer_groups``: :meth:`layer_groups` (and :meth:`group_matcher`) for layer-wise learning
      rates and gradual unfreezing (without it the whole encoder is one group);
    - ``spatial_sequence``: :meth:`spatial_features` then :meth:`sequence_features`;
    - ``patch_tokens``: :meth:`encode_tokens` with a patch mask;
    - ``tiny``: :meth:`tiny_kwargs`, a very small variant for tests (:meth:`tiny` builds it).
    """

    embed_dim: int
    #: name under which the class is registered ("" for an unregistered class)
    registry_name: ClassVar[str] = ""
    #: tokens per training window, where the encoder knows it (``None`` otherwise)
    n_tokens: int | None = None
    #: the optional capabilities this class offers (filled in for each subclass)
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = frozenset(cap for cap, methods in CAPABILITIES.items()
                                     if all(_defined_in(cls, m) is not Encoder for m in methods))
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording(cls.__init__)  # type: ignore[method-assign]

    def __init__(self, **config: Any) -> None:
        recorded = self.__dict__.get(_PENDING)
        super().__init__()
        self.config: dict[str, Any] = dict(config) if config else dict(recorded or {})

    # ------------------------------------------------------------------ required
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``x[B, C, T] -> tokens[B, N, D]``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> embedding[B, D]`` (mean over tokens)."""
        return self.forward_features(x).mean(dim=1)

    # ------------------------------------------------------------------ optional capabilities
    @classmethod
    def supports(cls, capability: str) -> bool:
        """True if this encoder offers ``capability`` (a key of :data:`CAPABILITIES`)."""
        if capability not in CAPABILITIES:
            from neurorep.errors import unknown_name_message

            raise ConfigError(unknown_name_message("encoder capability", capability, CAPABILITIES))
        return capability in cls.capabilities

    def _missing(self, capability: str, hint: str = "") -> ConfigError:
        name = self.registry_name or type(self).__name__
        offered = ", ".join(sorted(self.capabilities)) or "none"
        return ConfigError(f"encoder {name!r} does not offer {capability!r} (it offers: {offered}){hint}")

    def forward_intermediates(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``x[B, C, T] -> {name: tensor}``: intermediate maps and ``tokens [B, N, D]``."""
        raise self._missing("intermediates", "; use an encoder such as 'utime'")

    def layer_groups(self) -> list[nn.Module]:
        """Layer groups from the input upwards (for layer-wise learning rates and unfreezing)."""
        raise self._missing("layer_groups")

    def group_matcher(self) -> dict[str, int]:
        """Parameter name -> index of its layer group (0 = nearest the input); one group without the capability."""
        if not self.supports("layer_groups"):
            return {name: 0 for name, _ in self.named_parameters()}
        owner = {id(p): i for i, group in enumerate(self.layer_groups()) for p in group.parameters()}
        return {name: owner[id(p)] for name, p in self.named_parameters() if id(p) in owner}

    def spatial_features(self, x: torch.Tensor) -> torch.Tensor:
        """The per-step part: ``x[B, C, T] -> features[B, N, D]`` (before any mixing across steps)."""
        raise self._missing("spatial_sequence", "; use an encoder such as 'meg_cnn_transformer'")

    def sequence_features(self, feats: torch.Tensor) -> torch.Tensor:
        """The sequence part: ``features[B, N, D] -> tokens[B, N, D]``."""
        raise self._missing("spatial_sequence", "; use an encoder such as 'meg_cnn_transformer'")

    def encode_tokens(self, x: torch.Tensor, patch_mask: torch.Tensor | None = None,
                      mask_token: torch.Tensor | None = None) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, C, N, D]`` with masked patches replaced by ``mask_token``."""
        raise self._missing("patch_tokens", "; use an encoder such as 'eeg_foundation'")

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """Keyword arguments of a very small variant for tests and quick runs."""
        raise ConfigError(f"encoder {cls.registry_name or cls.__name__!r} does not offer 'tiny' (no tiny_kwargs)")

    @classmethod
    def tiny(cls, n_channels: int, n_times: int, **overrides: Any) -> Encoder:
        """A very small variant for tests and quick runs (``overrides`` replace its arguments)."""
        return cls(**{**cls.tiny_kwargs(n_channels, n_times), **overrides})


def _defined_in(cls: type, name: str) -> type | None:
    """The class of ``cls``'s MRO whose body defines ``name``."""
    return next((c for c in cls.__mro__ if name in c.__dict__), None)


def _recording(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap an ``__init__`` so the outermost call records its bound arguments (defaults filled in)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: Encoder, *args: Any, **kwargs: Any) -> None:
        if _PENDING in self.__dict__:  # an inner __init__ of the chain: the outermost one recorded
            init(self, *args, **kwargs)
            return
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:  # let the real call raise its own message
            init(self, *args, **kwargs)
            return
        bound.apply_defaults()
        recorded: dict[str, Any] = {}
        for name, value in list(bound.arguments.items())[1:]:
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                recorded.update(value)
            elif kind is not inspect.Parameter.VAR_POSITIONAL:
                recorded[name] = value
        object.__setattr__(self, _PENDING, recorded)
        try:
            init(self, *args, **kwargs)
        finally:
            self.__dict__.pop(_PENDING, None)

    return wrapper


def deprecated_alias(old: str, new: str) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)
