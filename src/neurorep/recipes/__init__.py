"""Recipes: each composes the core parts into one study, with a config class, ``run`` and ``benchmark``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from neurorep.registry import Registry


@dataclass(frozen=True)
class Recipe:
    """A recipe: its config class, the function running one config, and its benchmark grid."""

    name: str
    description: str
    config_cls: type[BaseModel]
    run: Callable[..., dict[str, Any]]
    benchmark: Callable[..., Path] | None = None


RECIPES: Registry[Recipe] = Registry("recipe")


def register_recipe(recipe: Recipe) -> Recipe:
    RECIPES.register(recipe.name, recipe.description)(lambda: recipe)
    return recipe


def _load_builtin() -> None:
    """Import every recipe sub-package (each registers itself)."""
    from neurorep.registry import import_submodules

    import_submodules("neurorep.recipes")


def get_recipe(name: str) -> Recipe:
    _load_builtin()
    return RECIPES.create(name)


def list_recipes() -> dict[str, str]:
    _load_builtin()
    return RECIPES.describe()
