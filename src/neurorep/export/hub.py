"""Save and load models as ``config.json`` + ``model.safetensors`` with strict key checking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from neurorep.errors import DataError
from neurorep.fileio import atomic_write, atomic_write_text, json_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save_pretrained(model: nn.Module, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``directory`` as ``config.json`` + ``model.safetensors``.

    The model must carry ``registry_name`` and ``config`` (every registered encoder does). A
    ``model.checkpoint_contract`` (:class:`~neurorep.export.contract.CheckpointContract`) is
    written under ``"contract"`` (``extra`` may give one instead). Files
    are written to a temporary name and renamed, so an interrupted save leaves no half file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = getattr(model, "registry_name", "")
    if not name:
        raise ValueError(f"{type(model).__name__} has no registry_name; register it before saving")
    config = {"architecture": name, "kwargs": getattr(model, "config", {}), **(extra or {})}
    contract = getattr(model, "checkpoint_contract", None)
    if contract is not None and "contract" not in config:  # what the weights expect of their input
        config["contract"] = contract.as_dict() if hasattr(contract, "as_dict") else dict(contract)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(state, str(p), metadata={"format": "pt"}))
    atomic_write_text(directory / CONFIG_NAME, json_text(config, indent=2, default=str))
    return directory


def load_config(directory: str | Path) -> dict[str, Any]:
    """Read and validate ``config.json`` from a saved-model folder."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise DataError(f"{path}: no saved model here (expected {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or "architecture" not in config:
        raise DataError(f"{path}: expected a JSON object with an 'architecture' field")
    return config


def load_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file; a corrupt or truncated file raises :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable safetensors file ({exc})") from None


def load_strict(model: nn.Module, state: dict[str, torch.Tensor], source: str = "weights") -> nn.Module:
    """Load ``state`` into ``model``; any missing, unexpected or mis-shaped key is an error."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected keys: {', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''}")
        if mismatched:
            k = mismatched[0]
            parts.append(f"shape mismatch for {k}: model {tuple(own[k].shape)}, file {tuple(state[k].shape)}")
        raise DataError(f"{source} do not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model


def from_pretrained(directory: str | Path) -> nn.Module:
    """Rebuild a registered encoder saved by :func:`save_pretrained` (strict loading)."""
    from neurorep.encoders import create_encoder

    directory = Path(directory)
    config = load_config(directory)
    model = create_encoder(config["architecture"], **config.get("kwargs", {}))
    load_strict(model, load_state(directory / WEIGHTS_NAME), source=str(directory / WEIGHTS_NAME))
    if isinstance(config.get("contract"), dict):  # kept, so that a re-saved model still carries it
        from neurorep.export.contract import CheckpointContract

        model.checkpoint_contract = CheckpointContract.from_dict(config["contract"],
                                                                 source=str(directory / CONFIG_NAME))
    return model.eval()

