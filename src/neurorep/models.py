"""``create_model``: build any registered model by name, from an optional size preset plus overrides.

Example::

    from neurorep.models import create_model

    model = create_model("eeg_foundation", preset="small", n_channels=19, n_times=10000)
    tiny = create_model("eeg_foundation", n_channels=19, n_times=2500, d_model=32, n_layers=2)

A model class may define ``PRESETS`` (preset name -> keyword arguments) as a module-level dict
next to it (``eeg_foundation`` does); overrides win over the preset.
"""

from __future__ import annotations

import importlib
from typing import Any

from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import ENCODERS, create_encoder, list_encoders
from neurorep.errors import ConfigError, unknown_name_message

__all__ = ["create_model", "list_models", "model_presets"]


def model_presets(name: str) -> dict[str, dict[str, Any]]:
    """Preset name -> keyword arguments for the registered model ``name`` (empty when it has none)."""
    list_encoders()  # registers the built-in encoders
    cls = ENCODERS.get(name)
    presets = getattr(cls, "PRESETS", None)
    if presets is None:
        presets = getattr(importlib.import_module(cls.__module__), "PRESETS", None)
    return dict(presets or {})


def list_models() -> list[str]:
    """Names of every registered model."""
    return list_encoders()


def create_model(name: str, preset: str | None = None, **overrides: Any) -> Encoder:
    """Build model ``name`` from ``preset`` (if given) updated with ``overrides``.

    Unknown model or preset names raise :class:`ConfigError` listing the known ones.
    """
    kwargs: dict[str, Any] = {}
    if preset is not None:
        presets = model_presets(name)
        if preset not in presets:
            raise ConfigError(unknown_name_message(f"{name} preset", preset, presets))
        kwargs.update(presets[preset])
    kwargs.update(overrides)
    if name == "eeg_foundation":
        kwargs.setdefault("n_channels", 19)
        kwargs.setdefault("n_times", 10000)
    return create_encoder(name, **kwargs)
