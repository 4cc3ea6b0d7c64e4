"""The keys a config accepts, for ``neurorep run CONFIG --help-keys``.

Walks a validated config (a pydantic model) and lists every dotted key that a ``key=value``
override can set, with its type, the value the config gives it, the default and the description.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class Key:
    """One settable key of a config."""

    name: str
    type: str
    value: Any
    default: Any
    description: str


def type_name(annotation: Any) -> str:
    """``int``, ``float | None``, ``list[str]``, ``'mp' | 'crl'`` ... for a field annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None and args:
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{', '.join(type_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _default(field: Any) -> Any:
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        try:
            return field.default_factory()
        except TypeError:  # factories that need the validated data
            return "(computed)"
    return "(required)"


def config_keys(cfg: BaseModel, prefix: str = "") -> list[Key]:
    """Every leaf key of ``cfg`` (sections are walked into), in declaration order."""
    keys: list[Key] = []
    for name, field in type(cfg).model_fields.items():
        value = getattr(cfg, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            keys.extend(config_keys(value, dotted + "."))
            continue
        default = _default(field)
        if isinstance(default, BaseModel):
            default = default.model_dump()
        shown = value.model_dump() if isinstance(value, BaseModel) else value
        keys.append(Key(dotted, type_name(field.annotation), shown, default, field.description or ""))
    return keys


def format_keys(keys: list[Key]) -> str:
    """A plain table: key, type, value in this config, default, description."""
    rows = [("key", "type", "value", "default", "description")]
    rows += [(k.name, k.type, _short(k.value), _short(k.default), k.description) for k in keys]
    widths = [min(max(len(r[i]) for r in rows), cap) for i, cap in enumerate((40, 30, 24, 24))]
    lines = []
    for r in rows:
        cells = [f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=True)]
        lines.append("  ".join(cells + [r[4]]).rstrip())
    return "\n".join(lines)


def _short(value: Any, limit: int = 24) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
