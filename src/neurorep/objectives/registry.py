"""Objective registry: ``register_objective``, ``create_objective``, ``list_objectives``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neurorep.objectives.base import Objective
from neurorep.registry import Registry

OBJECTIVES: Registry[Objective] = Registry("objective", builtins="neurorep.objectives")


def register_objective(name: str) -> Callable[[type[Objective]], type[Objective]]:
    """Class decorator registering an :class:`Objective` subclass under ``name``."""

    def decorator(cls: type[Objective]) -> type[Objective]:
        cls.registry_name = name
        OBJECTIVES.register(name)(cls)
        return cls

    return decorator


def create_objective(name: str, **kwargs: Any) -> Objective:
    """Build objective ``name``; an unknown name fails with the known names and the closest one."""
    return OBJECTIVES.create(name, **kwargs)


def list_objectives() -> list[str]:
    return OBJECTIVES.names()
