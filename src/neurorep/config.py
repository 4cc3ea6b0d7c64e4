"""Typed configuration: YAML in, validated objects out.

Configs are pydantic models that forbid unknown keys. :func:`load_config` reads a YAML file,
applies ``key.sub=value`` overrides from the command line, picks the recipe's config class from
the ``recipe`` field and validates. Errors name the field, what was expected and, for an unknown
key, the closest valid one.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from neurorep.errors import ConfigError, closest

M = TypeVar("M", bound=BaseModel)
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
#: Files or folders that mark a project's root folder (where an ``out:`` in its configs resolves).
PROJECT_MARKERS = ("pyproject.toml", ".git", ".neurorep-project")
#: Largest YAML document read (configs and model cards are a few kilobytes).
MAX_YAML_BYTES = 1 << 20


class _SafeNoAliasLoader(yaml.SafeLoader):
    """The safe YAML loader without anchors/aliases, so a small file cannot expand into a huge object."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader, refusing aliases; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_SafeNoAliasLoader)


def config_root(path: str | Path) -> Path:
    """The project a config file belongs to: the nearest folder above it holding a project marker
    (``pyproject.toml``, ``.git``, ``.neurorep-project``), else the config's own folder."""
    folder = Path(path).resolve().parent
    for candidate in (folder, *folder.parents):
        if any((candidate / m).exists() for m in PROJECT_MARKERS):
            return candidate
    return folder


def _check_finite(value: Any, where: str = "") -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where or 'value'} must be a finite number, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")
    return value


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ModelSpec(Strict):
    """A registered component by name, with its keyword arguments."""

    name: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kwargs")
    @classmethod
    def _finite_kwargs(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_finite(v)


class SplitConfig(Strict):
    """How windows are split: by subject, session or recording; shares, k folds or a split file."""

    by: Literal["subject", "session", "recording", "window"] = Field(
        "subject", description="whole subjects, sessions or recordings go to one side; window: stratified k-fold "
        "over the labelled windows (within-subject studies; needs folds; unlabelled windows join the training part)")
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.2, ge=0, lt=1)
    folds: int | None = Field(None, ge=2, description="k-fold over groups instead of one split")
    repeats: int = Field(1, ge=1, description="split.by=window only: repeat the k-fold with fresh shuffles "
                         "(repeats x folds splits; split f is fold f % folds of repeat f // folds)")
    file: str | None = Field(None, description="JSON split file: {part: [ids]} or {id: part}; fixes the split")
    seed: int = 0


class OptimConfig(Strict):
    """Optimisation of one training stage."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_epochs: int = Field(1, ge=0)
    patience: int | None = Field(5, ge=1)
    max_windows: int | None = Field(None, ge=1, description="cap on training windows per epoch (random subset)")
    max_val_windows: int | None = Field(2048, ge=1, description="cap on validation windows (fixed seeded subset)")
    num_workers: int = Field(0, ge=0)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"pretrain.lr=3e-4"`` -> ``(["pretrain", "lr"], 0.0003)`` (the value is parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value")
    key, value = text.split("=", 1)
    if not key.strip():
        raise ConfigError(f"override {text!r} has no key")
    try:
        parsed = safe_yaml(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str) and _FLOAT.fullmatch(parsed.strip()):  # YAML 1.1 reads "3e-4" as a string
        parsed = float(parsed)
    return key.strip().split("."), parsed


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set each ``key.sub=value`` in the nested dict ``data`` (creating sections as needed)."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {size} bytes is too large for a config (at most {MAX_YAML_BYTES})")
        data = safe_yaml(path.read_text())
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (expected UTF-8 YAML)") from None
    except yaml.YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise ConfigError(f"{path}: invalid YAML ({msg[:200]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def validate(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """Validate ``data`` against ``model``; the first problem becomes a one-line :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(model, exc)}") from None


def _describe(model: type[BaseModel], exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    field = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        valid = _fields_at(model, loc[:-1])
        hint = closest(loc[-1], valid)
        msg = f"unknown key {field!r}; valid keys here are: {', '.join(valid)}"
        return msg + (f" (did you mean {hint!r}?)" if hint else "")
    if err["type"] == "missing":
        return f"missing required key {field!r}"
    got = err.get("input")
    got_s = repr(got) if not isinstance(got, dict) else "a mapping"
    return f"{field}: {err['msg']} (got {got_s})"


def _fields_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    cur: Any = model
    for part in loc:
        fields = getattr(cur, "model_fields", None)
        if fields is None or part not in fields:
            return []
        cur = fields[part].annotation
        args = [a for a in getattr(cur, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        if args:
            cur = args[0]
    return sorted(getattr(cur, "model_fields", {}))


def dump_yaml(model: BaseModel, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically)."""
    from neurorep.fileio import atomic_write_text

    return atomic_write_text(path, yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False))


def load_config(path: str | Path, overrides: list[str] | None = None) -> BaseModel:
    """Load a run config: read YAML, apply overrides, choose the recipe's config class, validate."""
    from neurorep.recipes import get_recipe

    data = apply_overrides(read_yaml(path), overrides or [])
    name = data.get("recipe")
    if not name:
        raise ConfigError(f"{path}: missing required key 'recipe' (the recipe this config runs)")
    recipe = get_recipe(str(name))
    return validate(recipe.config_cls, data, source=str(path))
