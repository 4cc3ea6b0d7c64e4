"""Encoder registry: ``register_encoder``, ``create_encoder``, ``list_encoders``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neurorep.encoders.base import Encoder
from neurorep.registry import Registry

ENCODERS: Registry[Encoder] = Registry("encoder", builtins="neurorep.encoders")


def register_encoder(name: str) -> Callable[[type[Encoder]], type[Encoder]]:
    """Class decorator registering an :class:`Encoder` subclass under ``name``."""

    def decorator(cls: type[Encoder]) -> type[Encoder]:
        cls.registry_name = name
        ENCODERS.register(name)(cls)
        return cls

    return decorator


def create_encoder(name: str, **kwargs: Any) -> Encoder:
    """Build encoder ``name``; an unknown name fails with the known names and the closest one."""
    return ENCODERS.create(name, **kwargs)


def list_encoders() -> list[str]:
    """Names of all registered encoders."""
    return ENCODERS.names()
