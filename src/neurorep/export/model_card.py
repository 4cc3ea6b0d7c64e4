"""What a saved-model folder holds, how to load it, and the model card that describes it.

A *saved model* is an encoder written by :func:`neurorep.export.hub.save_pretrained`
(``config.json`` + ``model.safetensors``), optionally with a classification head beside it
(``head/config.json`` + ``head/model.safetensors``, as written by
:meth:`neurorep.training.SupervisedModule.export` into ``encoder/`` and ``head/``).
:func:`find_saved_model` accepts any of:

- the encoder folder itself (a registry version folder, ``export/final/encoder`` ...);
- a folder holding ``encoder/`` (and maybe ``head/``), e.g. ``RUN/export/best``;
- a run folder: the first of ``export/best``, ``export/final`` (searched in the run folder and
  then in its sub-folders, shallowest first, classifiers before bare encoders, ``best`` before
  ``final``); several equally good candidates (e.g. one per label fraction) are an error that
  lists them.

A *model card* (``card.json`` + ``card.md``) records the architecture and its arguments, the
input it expects (channels, samples, sampling rate, window length, scaling), the checkpoint
contract (:mod:`neurorep.export.contract`: the one saved with the weights, else one derived
from the run's preprocessing), the training data (description and fingerprint), metrics, and the
files' SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurorep.errors import DataError
from neurorep.export.hub import CONFIG_NAME, WEIGHTS_NAME, from_pretrained, load_config

__all__ = ["Classifier", "SavedModel", "build_card", "card_markdown", "find_saved_model", "load_saved_model"]

#: Keys of a run's ``config.yaml`` ``data`` section that describe the preprocessing a model needs.
PREPROCESSING_KEYS = ("sfreq", "channels", "window_s", "l_freq", "h_freq", "scaling", "scheme", "n_channels",
                      "n_times", "montage", "units")


class Classifier(nn.Module):
    """An encoder and a classification head: ``x[B, C, T] -> logits[B, K]``."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> logits[B, K]``."""
        return self.head(self.encoder(x))


@dataclass
class SavedModel:
    """A saved encoder folder (``path``), the head folder beside it if any, and its config."""

    path: Path
    head_path: Path | None
    config: dict[str, Any]
    class_names: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``"classifier"`` (encoder + head, outputs logits) or ``"encoder"`` (outputs embeddings)."""
        return "classifier" if self.head_path is not None else "encoder"

    @property
    def input_shape(self) -> tuple[int, int]:
        """``(C, T)`` the encoder was built for (from its ``n_channels`` / ``n_times`` arguments)."""
        kwargs = self.config.get("kwargs", {})
        try:
            return int(kwargs["n_channels"]), int(kwargs["n_times"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{self.path / CONFIG_NAME}: kwargs lack n_channels/n_times; cannot infer the "
                            f"input shape") from None


def _is_model_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()


def _from_dir(path: Path) -> SavedModel | None:
    """A :class:`SavedModel` if ``path`` is an encoder folder or holds ``encoder/`` (else ``None``)."""
    if _is_model_dir(path / "encoder"):
        enc, head = path / "encoder", path / "head"
    elif _is_model_dir(path):
        enc, head = path, path / "head"
    else:
        return None
    config = load_config(enc)
    if config.get("registered") is False:
        return None  # weights of an unregistered module (e.g. an objective's head): not loadable by name
    head_path = head if _is_model_dir(head) else None
    names = [str(c) for c in load_config(head).get("class_names", [])] if head_path else []
    return SavedModel(enc, head_path, config, names)


def find_saved_model(source: str | Path) -> SavedModel:
    """Locate the saved model in ``source`` (see the module docstring for what is accepted)."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    if not source.is_dir():
        raise DataError(f"{source}: expected a run folder or a saved-model folder (config.json + model.safetensors)")
    direct = _from_dir(source)
    if direct is not None:
        return direct
    candidates: list[tuple[int, int, int, str, SavedModel]] = []
    for export_dir in sorted(source.rglob("export")):
        for rank, sub in enumerate(("best", "final")):
            found = _from_dir(export_dir / sub)
            if found is not None:
                depth = len(export_dir.relative_to(source).parts)
                candidates.append((depth, found.head_path is None, rank, str(export_dir), found))
    if not candidates:
        raise DataError(f"{source}: no saved model found (expected {CONFIG_NAME} + {WEIGHTS_NAME}, an encoder/ "
                        f"folder, or a run folder with export/best or export/final)")
    candidates.sort(key=lambda c: c[:4])
    ties = [c[3] for c in candidates if c[:3] == candidates[0][:3]]
    if len(ties) > 1:
        raise DataError(f"{source}: several saved models ({', '.join(str(Path(t).parent) for t in ties)}); "
                        f"pass one of these folders instead")
    return candidates[0][4]


def load_saved_model(saved: SavedModel | str | Path) -> nn.Module:
    """The encoder (``[B, C, T] -> [B, D]``) or :class:`Classifier` (``-> [B, K]``), in eval mode."""
    from neurorep.heads.classification import load_head

    if not isinstance(saved, SavedModel):
        saved = find_saved_model(saved)
    encoder = from_pretrained(saved.path)
    if saved.head_path is None:
        return encoder
    return Classifier(encoder, load_head(saved.head_path)).eval()


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _find_keys(tree: Any, keys: tuple[str, ...], out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k in keys and k not in out and not isinstance(v, dict):
                out[k] = v
            else:
                _find_keys(v, keys, out)
    return out


def _run_info(run_dir: Path | None) -> dict[str, Any]:
    """Training data, preprocessing and metrics recorded in a run folder (empty if none)."""
    if run_dir is None:
        return {}
    from neurorep.config import read_yaml

    info: dict[str, Any] = {"run": str(run_dir)}
    if (run_dir / "config.yaml").is_file():
        cfg = read_yaml(run_dir / "config.yaml")
        data = cfg.get("data", {}) if isinstance(cfg, dict) else {}
        info["preprocessing"] = _find_keys(data, PREPROCESSING_KEYS, {})
        info["training_data"] = {"description": json.dumps(data, default=str)[:500]}
        info["recipe"] = cfg.get("recipe") if isinstance(cfg, dict) else None
    env = run_dir / "environment.json"
    if env.is_file():
        fingerprint = json.loads(env.read_text()).get("data_fingerprint")
        info.setdefault("training_data", {})["fingerprint"] = fingerprint
    metrics = run_dir / "metrics.json"
    if metrics.is_file():
        loaded = json.loads(metrics.read_text())
        info["metrics"] = loaded.get("summary", loaded) if isinstance(loaded, dict) else {}
    return info


def _run_dir_of(saved: SavedModel) -> Path | None:
    for parent in [saved.path, *saved.path.parents][:6]:
        if (parent / "config.yaml").is_file() or (parent / "metrics.json").is_file():
            return parent
    return None


def _contract(saved: SavedModel, prep: dict[str, Any]) -> dict[str, Any] | None:
    """The saved model's checkpoint contract, or one derived from its run's preprocessing (``None`` if neither)."""
    from neurorep.export.contract import CheckpointContract

    if isinstance(saved.config.get("contract"), dict):
        return dict(saved.config["contract"])
    if not prep.get("sfreq"):
        return None
    c, t = saved.input_shape
    names = prep.get("channels")
    names = [str(n) for n in names] if isinstance(names, list) and len(names) == c else None
    return CheckpointContract(
        architecture=str(saved.config["architecture"]), sfreq=float(prep["sfreq"]), n_times=t, n_channels=c,
        channel_rule="exact" if names else "position", ch_names=names, units=prep.get("units"),
        normalisation=str(prep["scaling"]) if prep.get("scaling") is not None else None,
        source=str(saved.path), sha256=sha256(saved.path / WEIGHTS_NAME),
        extra={"derived_from": "the run's config.yaml (no contract was saved with the weights)"}).as_dict()


def build_card(saved: SavedModel, name: str, version: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card of ``saved`` registered as ``name``/``version``.

    Filled from the saved config (architecture, arguments, input shape), the run folder it came
    from if any (``config.yaml`` data section, ``environment.json`` data fingerprint,
    ``metrics.json`` summary) and ``extra`` (which wins; nested dicts are merged one level deep).
    """
    from neurorep import __version__

    c, t = saved.input_shape
    run = _run_info(_run_dir_of(saved))
    card: dict[str, Any] = {
        "name": name,
        "version": version,
        "kind": saved.kind,
        "architecture": saved.config["architecture"],
        "config": saved.config.get("kwargs", {}),
        "class_names": saved.class_names,
        "input": {"shape": ["B", c, t], "dtype": "float32"},
        "preprocessing": {"n_channels": c, "n_times": t, **run.get("preprocessing", {})},
        "training_data": run.get("training_data", {"description": "", "fingerprint": None}),
        "metrics": run.get("metrics", {}),
        "source": str(saved.path),
        "neurorep_version": __version__,
    }
    card["contract"] = None
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(card.get(key), dict):
            card[key] = {**card[key], **value}
        else:
            card[key] = value
    prep = card["preprocessing"]
    if "sfreq" in prep and "window_s" not in prep and prep.get("sfreq"):
        prep["window_s"] = t / float(prep["sfreq"])
    derived = _contract(saved, prep)
    card["contract"] = {**derived, **(card["contract"] or {})} if derived else card["contract"]
    return card


def _contract_table(contract: dict[str, Any] | None) -> str:
    """The contract as a field/value table (the channel list on one line)."""
    if not contract:
        return "_none recorded: the channels, rate and licence the weights expect are unknown_\n"
    keys = ("architecture", "sfreq", "n_times", "window_s", "n_channels", "channel_rule", "ch_names", "patch_samples",
            "units", "normalisation", "licence", "source", "sha256")
    rows = []
    for key in keys:
        value = contract.get(key)
        if isinstance(value, list):
            shown = ", ".join(map(str, value[:8]))
            value = ", ".join(map(str, value)) if len(value) <= 40 else f"{len(value)} names: {shown}, ..."
        rows.append(f"| {key} | {'-' if value is None else value} |")
    return "| field | value |\n|---|---|\n" + "\n".join(rows) + "\n"


def card_markdown(card: dict[str, Any]) -> str:
    """A human-readable ``card.md`` for ``card``."""
    def table(d: dict[str, Any]) -> str:
        if not d:
            return "_none recorded_\n"
        rows = "\n".join(f"| {k} | {json.dumps(v, default=str) if isinstance(v, (dict, list)) else v} |"
                         for k, v in d.items())
        return "| field | value |\n|---|---|\n" + rows + "\n"

    output = "logits [B, K]" if card["kind"] == "classifier" else "embedding [B, D]"
    lines = [
        f"# {card['name']} {card['version']}",
        "",
        f"{card.get('description') or 'No description given.'}",
        "",
        f"- kind: {card['kind']} (input x {card['input']['shape']} float32 -> {output})",
        f"- architecture: `{card['architecture']}`",
        f"- classes: {', '.join(card['class_names']) or '-'}",
        f"- registered: {card.get('registered_at', '-')}, neurorep {card.get('neurorep_version', '-')}",
        "",
        "## Preprocessing needed", "", table(card.get("preprocessing", {})),
        "## Training data", "", table(card.get("training_data", {})),
        "## Metrics", "", table(card.get("metrics", {})),
        "## Checkpoint contract", "", _contract_table(card.get("contract")),
        "## Architecture arguments", "", table(card.get("config", {})),
        "## Files", "", table(card.get("files", {})),
    ]
    return "\n".join(lines)
