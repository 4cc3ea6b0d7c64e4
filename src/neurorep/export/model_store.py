"""The model store: a versioned local folder of saved models; register, list, show and load them by name and version.

Layout (the root is ``--registry``/``registry=``, else ``$NEUROREP_REGISTRY``, else
``~/.neurorep/registry``)::

    <root>/<name>/<version>/config.json        encoder, as written by save_pretrained
                            model.safetensors
                            head/config.json     only for classifiers
                            head/model.safetensors
                            card.json            model card (see neurorep.export.model_card)
                            card.md

Versions are semantic versions ``MAJOR.MINOR.PATCH``. Registering without a version takes
``1.0.0`` for a new name and otherwise bumps the minor version of the latest one. A version is
written into a hidden temporary folder and renamed into place, so a failed registration leaves
nothing behind, and an existing version is never replaced.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from torch import nn

from neurorep.errors import ConfigError, DataError, unknown_name_message
from neurorep.export.hub import CONFIG_NAME, WEIGHTS_NAME
from neurorep.export.model_card import (
    build_card,
    card_markdown,
    find_saved_model,
    load_saved_model,
    sha256,
)
from neurorep.fileio import (
    atomic_write_text,
    check_writable,
    ensure_writable_dir,
    json_text,
    read_json,
    remove_stale_temps,
)

__all__ = ["DEFAULT_REGISTRY", "ENV_VAR", "card_text", "list_models", "load_model", "register_model", "registry_root",
           "resolve_version", "show_model"]

ENV_VAR = "NEUROREP_REGISTRY"
DEFAULT_REGISTRY = Path("~/.neurorep/registry")
CARD_JSON, CARD_MD = "card.json", "card.md"
#: Card fields the registry sets itself; ``card``/``--set`` may not override them.
RESERVED_FIELDS = ("name", "version", "registered_at", "files", "path")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def registry_root(registry: str | Path | None = None) -> Path:
    """The registry folder: ``registry`` if given, else ``$NEUROREP_REGISTRY``, else ``~/.neurorep/registry``."""
    if registry is not None:
        return Path(registry).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_REGISTRY.expanduser()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"model name: expected lower-case letters, digits, '.', '_' or '-' (starting with a "
                          f"letter or digit, at most 64 characters), got {name!r}")
    return name


def _parse_version(version: str) -> tuple[int, int, int]:
    match = _SEMVER.fullmatch(str(version))
    if not match:
        raise ConfigError(f"version: expected a semantic version MAJOR.MINOR.PATCH such as 1.2.0, got {version!r}")
    return int(match[1]), int(match[2]), int(match[3])


def _names(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _versions(p))


def _versions(folder: Path) -> list[str]:
    """Registered versions under a name folder, oldest first."""
    if not folder.is_dir():
        return []
    found = [p.name for p in folder.iterdir() if p.is_dir() and _SEMVER.fullmatch(p.name) and (p / CARD_JSON).is_file()]
    return sorted(found, key=_parse_version)


def resolve_version(name: str, version: str = "latest", registry: str | Path | None = None) -> Path:
    """Folder of ``name``/``version`` (``"latest"``: the highest version); clear errors if absent."""
    root = registry_root(registry)
    folder = root / _check_name(name)
    versions = _versions(folder)
    if not versions:
        raise ConfigError(unknown_name_message("model", name, _names(root)) + f" (registry {root})")
    if version == "latest":
        return folder / versions[-1]
    _parse_version(version)
    if version not in versions:
        raise ConfigError(f"model {name!r} has no version {version!r}; registered versions are: {', '.join(versions)}")
    return folder / version


def _next_version(versions: list[str]) -> str:
    if not versions:
        return "1.0.0"
    major, minor, _ = _parse_version(versions[-1])
    return f"{major}.{minor + 1}.0"


def _copy_model(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for fname in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copyfile(src / fname, dst / fname)


def register_model(
    source: str | Path,
    name: str,
    version: str | None = None,
    registry: str | Path | None = None,
    description: str = "",
    card: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Copy the saved model in ``source`` (run folder or saved-model folder, see
    :func:`neurorep.export.model_card.find_saved_model`) into the registry as ``name``/``version``.

    ``card`` adds or overrides card fields (e.g. ``{"preprocessing": {"sfreq": 100},
    "training_data": {"description": "..."}, "metrics": {...}}``). The model must load (strict)
    before it is registered. Returns the card.
    """
    _check_name(name)
    if version is not None:
        _parse_version(version)
    reserved = sorted(set(card or {}) & set(RESERVED_FIELDS))
    if reserved:
        raise ConfigError(f"card: field(s) {', '.join(reserved)} are set by the registry and cannot be given "
                          "(use --name and --version)")
    root = registry_root(registry)
    check_writable(root, "model registry")
    saved = find_saved_model(source)
    load_saved_model(saved)  # refuse anything that does not load strictly
    ensure_writable_dir(root, "model registry")
    folder = root / name
    versions = _versions(folder)
    version = version or _next_version(versions)
    _parse_version(version)
    if version in versions or (folder / version).exists():
        raise ConfigError(f"model {name!r} version {version} is already registered in {root}; "
                          f"choose another version (registered: {', '.join(versions)})")
    extra: dict[str, Any] = dict(card or {})
    if description:
        extra["description"] = description
    info = build_card(saved, name, version, extra)
    info["registered_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder, ".*.tmp-*")  # versions left half-copied by a killed registration
    tmp = folder / f".{version}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _copy_model(saved.path, tmp)
        if saved.head_path is not None:
            _copy_model(saved.head_path, tmp / "head")
        files = [tmp / CONFIG_NAME, tmp / WEIGHTS_NAME] + ([tmp / "head" / WEIGHTS_NAME] if saved.head_path else [])
        info["files"] = {str(p.relative_to(tmp)): sha256(p) for p in files}
        atomic_write_text(tmp / CARD_JSON, json_text(info, indent=2, default=str))
        atomic_write_text(tmp / CARD_MD, card_markdown(info))
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, folder / version)  # atomic; fails if another process registered it meanwhile
        except OSError:
            raise ConfigError(f"model {name!r} version {version} is already registered in {root}") from None
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return info


def show_model(name: str, version: str = "latest", registry: str | Path | None = None) -> dict[str, Any]:
    """The model card of ``name``/``version`` (with ``path`` added)."""
    path = resolve_version(name, version, registry)
    card = read_json(path / CARD_JSON, "model card")
    if not isinstance(card, dict):
        raise DataError(f"{path / CARD_JSON}: expected a JSON object (the model card)")
    card["path"] = str(path)
    return card


def card_text(name: str, version: str = "latest", registry: str | Path | None = None) -> str:
    """The human-readable card (``card.md``) of ``name``/``version``."""
    path = resolve_version(name, version, registry) / CARD_MD
    try:
        return path.read_text()
    except FileNotFoundError:
        raise DataError(f"{path}: model card missing; the registered version is incomplete "
                        f"(`neurorep registry show {name} --json` prints {CARD_JSON})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: unreadable model card ({exc})") from None


def list_models(registry: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per registered version: name, version, kind, architecture, registered_at, path."""
    root = registry_root(registry)
    rows = []
    for name in _names(root):
        for version in _versions(root / name):
            card = show_model(name, version, root)
            rows.append({k: card.get(k) for k in ("name", "version", "kind", "architecture", "registered_at", "path")})
    return rows


def load_model(name: str, version: str = "latest", registry: str | Path | None = None, verify: bool = True) -> nn.Module:
    """Load ``name``/``version``: the encoder (``x[B, C, T] -> [B, D]``) or, when the version has a
    head, a :class:`~neurorep.export.model_card.Classifier` (``-> logits[B, K]``), in eval mode.

    With ``verify`` the files' SHA-256 must match the card (a changed file is a :class:`DataError`).
    """
    path = resolve_version(name, version, registry)
    if verify:
        card = show_model(name, path.name, registry)
        for rel, digest in card.get("files", {}).items():
            if not (path / rel).is_file() or sha256(path / rel) != digest:
                raise DataError(f"{path / rel}: file is missing or differs from the SHA-256 in {CARD_JSON}")
    return load_saved_model(path)
