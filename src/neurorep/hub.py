"""Load published EEG foundation-model checkpoints into neurorep's own implementations.

:func:`load_published` builds a registered published encoder (``cbramod``, ``biot``,
``labram``, ...) for the given data shape, puts the reference's classification head on it
(:class:`~neurorep.encoders.published.PublishedModel`) and loads a checkpoint in braindecode
1.8.1's state-dict format strictly. ``weights`` is

- a local ``.safetensors`` file, or a folder holding ``model.safetensors``;
- a local ``.pth`` / ``.pt`` / ``.ckpt`` / ``.bin`` file, read with ``torch.load(weights_only=True)``
  (a pickle that asks for code is refused); a ``{"state_dict": ...}`` / ``{"model": ...}`` wrapper
  is unwrapped;
- a hub id ``owner/name`` (optionally ``owner/name:file``), looked up in the Hugging Face cache
  first (no network; ``HF_HUB_CACHE`` / ``HF_HOME`` or ``cache_dir``) and downloaded with
  ``huggingface_hub`` (the optional ``hub`` extra) only when it is not cached and
  ``HF_HUB_OFFLINE`` is not set;
- ``None``: random initialisation of the architecture (architecture-only comparisons).

Every problem with a checkpoint (unreadable, truncated, a pickle with code, another
architecture, a channel count that does not fit, zero matching tensors) raises
:class:`~neurorep.errors.DataError` with one line naming the file.

Example::

    from neurorep.hub import load_published

    model = load_published("cbramod", "cbramod.safetensors", n_channels=19, n_times=2000, sfreq=200,
                           n_outputs=4)
    logits = model(x)                       # x[B, 19, 2000]
    feats = model.forward_features(x)       # braindecode's return_features=True features
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from pathlib import Path
from typing import Any

import torch

from neurorep.encoders import ENCODERS, create_encoder, list_encoders
from neurorep.encoders.published import PublishedEncoder, PublishedModel
from neurorep.errors import ConfigError, DataError, unknown_name_message
from neurorep.export.contract import ChannelMapping, CheckpointContract, InputPlan, plan_input
from neurorep.export.hub import WEIGHTS_NAME, load_state

__all__ = ["HUB_FILES", "check_contract", "encoder_with_weights", "load_published", "published_names",
           "read_checkpoint", "resolve_weights"]

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
#: files tried, in order, in a hub repository
HUB_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "model.pt")
_WRAPPERS = ("state_dict", "model", "module", "model_state_dict")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w./-]+)?$")


def published_names() -> list[str]:
    """Registered encoders that load published checkpoints."""
    return [n for n in list_encoders() if issubclass(ENCODERS.get(n), PublishedEncoder)]


def _published_class(name: str) -> type[PublishedEncoder]:
    names = published_names()
    by_lower = {n.lower(): n for n in names}
    by_lower.update({ENCODERS.get(n).reference_class.lower(): n for n in names})  # type: ignore[attr-defined]
    if name.lower() not in by_lower:
        raise ConfigError(unknown_name_message("published model", name, names))
    return ENCODERS.get(by_lower[name.lower()])  # type: ignore[return-value]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _hub_cache_dirs(cache_dir: str | Path | None) -> list[Path]:
    if cache_dir is not None:
        return [Path(cache_dir)]
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    dirs.append(home / "hub")
    return dirs


def _from_cache(repo: str, files: tuple[str, ...], cache_dir: str | Path | None) -> Path | None:
    """A cached file of hub repository ``repo`` (the ``main`` snapshot), or ``None``."""
    for root in _hub_cache_dirs(cache_dir):
        folder = root / ("models--" + repo.replace("/", "--"))
        ref = folder / "refs" / "main"
        if not ref.is_file():
            continue
        snapshot = folder / "snapshots" / ref.read_text().strip()
        for name in files:
            if (snapshot / name).is_file():
                return snapshot / name
    return None


def resolve_weights(weights: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The local file behind ``weights`` (a path, a saved-model folder or a hub id)."""
    path = Path(weights)
    if path.is_dir():
        if not (path / WEIGHTS_NAME).is_file():
            raise DataError(f"{path}: folder holds no {WEIGHTS_NAME}")
        return path / WEIGHTS_NAME
    if path.is_file():
        return path
    text = str(weights)
    if path.suffix in (".safetensors", *PICKLE_SUFFIXES) or not _HUB_ID.match(text):
        raise DataError(f"{text}: weights file not found (and not a hub id of the form owner/name)")
    repo, _, file = text.partition(":")
    files = (file,) if file else HUB_FILES
    cached = _from_cache(repo, files, cache_dir)
    if cached is not None:
        return cached
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        raise DataError(f"{text}: not in the Hugging Face cache ({', '.join(map(str, _hub_cache_dirs(cache_dir)))}) "
                        f"and HF_HUB_OFFLINE is set")
    return _download(repo, files, cache_dir)


def _download(repo: str, files: tuple[str, ...], cache_dir: str | Path | None) -> Path:
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:
        raise ConfigError(f"{repo}: no such local file or folder, and as a hub id not in the Hugging Face cache; "
                          "downloading needs huggingface_hub (pip install 'neurorep[hub]')") from None
    for name in files:
        try:
            return Path(hf_hub_download(repo, name, cache_dir=cache_dir))
        except EntryNotFoundError:
            continue
        except OSError as exc:  # network errors, unknown or gated repositories
            raise DataError(f"{repo}: could not be fetched from the hub ({type(exc).__name__}: {exc})") from None
    raise DataError(f"{repo}: holds none of {', '.join(files)}")


def _unwrap(obj: Any, source: str) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in _WRAPPERS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise DataError(f"{source}: expected a state dict (a mapping of names to tensors), got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise DataError(f"{source}: not a state dict; entries that are not tensors: {', '.join(map(str, bad[:5]))}")
    return dict(obj)


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors or pickle-format (``weights_only``) checkpoint into a state dict."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    if path.suffix == ".safetensors":
        return load_state(path)
    if path.suffix not in PICKLE_SUFFIXES:
        raise DataError(f"{path}: unknown checkpoint format {path.suffix!r}; "
                        f"expected .safetensors or one of {', '.join(PICKLE_SUFFIXES)}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - arbitrary bytes make the unpickler fail in many ways
        lines = str(exc).strip().splitlines()
        if type(exc).__name__ == "UnpicklingError":  # a global outside the allow-list: code in the pickle
            detail = next((ln.strip() for ln in lines if "GLOBAL" in ln or "Unsupported" in ln),
                          lines[0] if lines else "")
            raise DataError(f"{path}: refused, the pickle asks for more than tensors ({detail})") from None
        reason = f"{type(exc).__name__}: {lines[0].split('. ')[0]}" if lines else type(exc).__name__
        raise DataError(f"{path}: not a readable checkpoint, truncated or corrupt ({reason})") from None
    return _unwrap(obj, str(path))


def check_contract(cls: type[PublishedEncoder], n_channels: int, n_times: int, sfreq: float,
                   ch_names: list[str] | None, kwargs: dict[str, Any] | None = None,
                   mapping: ChannelMapping | dict[str, Any] | None = None, resample: bool = False,
                   checkpoint_channels: int | None = None) -> InputPlan:
    """Check data against the contract of ``cls``'s published weights; returns the input plan.

    The sampling rate must be the pretraining rate unless ``resample``; a model that looks
    electrodes up by name needs ``ch_names`` that are all in its table (the unknown ones are
    listed), a checkpoint that fixes the channel count needs that count. ``mapping`` (a
    :class:`~neurorep.export.contract.ChannelMapping`) renames, drops, reorders or interpolates
    channels when asked to. ``checkpoint_channels``: the count the checkpoint fixes, when known
    (otherwise a mismatch shows up as a mis-shaped key when the weights are loaded). See
    :func:`neurorep.export.contract.plan_input`.
    """
    arch = {k: v for k, v in (kwargs or {}).items() if k != "n_channels"}
    if checkpoint_channels is not None:
        arch["n_channels"] = checkpoint_channels
    contract = cls.contract_for(arch)
    return plan_input(contract, n_channels, n_times, sfreq, ch_names, mapping, resample)


def load_published(
    name: str,
    weights: str | Path | None,
    n_channels: int,
    n_times: int,
    sfreq: float,
    n_outputs: int | None = None,
    ch_names: list[str] | None = None,
    model_kwargs: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    channel_map: dict[str, str] | None = None,
) -> PublishedModel:
    """Build published model ``name`` for ``[B, n_channels, n_times]`` windows and load ``weights``.

    ``n_outputs`` adds the reference's classification head (its weights are then read from the
    checkpoint as well; ``None`` leaves it out and ignores a head in the file). ``ch_names``
    names the channels for models that look electrodes up by name (LaBraM). ``model_kwargs``
    overrides architecture arguments (this class's names, e.g. ``n_layers``); ``channel_map``
    renames data channels to the model's electrode names (``{"T3": "T7"}``).

    With ``weights``, the data must fit the checkpoint's contract (:func:`check_contract`): the
    pretraining rate, and electrode names the model knows. Returns the model in eval mode;
    ``model.metadata`` records the source, its sha256, the shape arguments and the card.
    """
    cls = _published_class(name)
    kwargs: dict[str, Any] = {"n_channels": n_channels, "n_times": n_times, "sfreq": sfreq, **(model_kwargs or {})}
    if ch_names is not None and len(ch_names) != n_channels:
        raise ConfigError(f"{len(ch_names)} ch_names given for n_channels={n_channels}")
    if weights is not None:
        plan = check_contract(cls, n_channels, n_times, sfreq, ch_names, kwargs, {"rename": dict(channel_map or {})})
        ch_names = plan.model_ch_names if ch_names is not None else None
    elif ch_names is not None and channel_map:
        ch_names = [channel_map.get(c, c) for c in ch_names]
    if ch_names is not None and "ch_names" in inspect.signature(cls).parameters:
        kwargs["ch_names"] = list(ch_names)
    model = PublishedModel(create_encoder(cls.registry_name, **kwargs), n_outputs=n_outputs)
    meta: dict[str, Any] = {"architecture": cls.registry_name, "reference": f"braindecode 1.8.1 {cls.reference_class}",
                            "n_channels": n_channels, "n_times": n_times, "sfreq": sfreq,
                            "ch_names": list(ch_names) if ch_names is not None else None, "n_outputs": n_outputs,
                            "card": cls.card.as_dict()}
    if weights is None:
        meta.update(source=None, sha256=None, contract=None)
    else:
        path = resolve_weights(weights, cache_dir)
        model.load_reference_state(read_checkpoint(path), source=str(path))
        digest = sha256(path)
        meta.update(source=str(weights), file=str(path), sha256=digest,
                    contract=cls.contract_for(kwargs, source=str(weights), sha256=digest).as_dict())
    model.metadata = meta
    return model.eval()


def _adapted(encoder: Any, plan: InputPlan, n_channels: int, n_times: int) -> Any:
    """``encoder`` behind the plan's input maps (an ``adapted`` encoder holding the same weights)."""
    from neurorep.encoders.published.adapter import AdaptedEncoder

    wrapped = AdaptedEncoder(n_channels, n_times, inner=encoder.registry_name, inner_kwargs=dict(encoder.config),
                             notes=plan.notes)
    wrapped.encoder.load_state_dict(encoder.state_dict(), strict=True)
    return wrapped.set_maps(plan.channel_matrix, plan.time_matrix)


def _data_contract(inner: CheckpointContract, plan: InputPlan, n_channels: int, n_times: int, sfreq: float,
                   ch_names: list[str] | None, architecture: str) -> CheckpointContract:
    """The contract of the model as it now stands: the data's channels, rate and window (the maps are inside)."""
    return CheckpointContract(
        architecture=architecture, sfreq=float(sfreq), n_times=int(n_times), n_channels=int(n_channels),
        channel_rule="exact" if ch_names is not None else "position", ch_names=list(ch_names) if ch_names else None,
        patch_samples=inner.patch_samples, units=inner.units, normalisation=inner.normalisation,
        licence=inner.licence, source=inner.source, sha256=inner.sha256,
        extra={"input_maps": plan.notes, "weights_contract": inner.as_dict()})


def encoder_with_weights(
    name: str,
    weights: str | Path | None,
    n_channels: int,
    n_times: int,
    sfreq: float,
    ch_names: list[str] | None = None,
    channel_mapping: ChannelMapping | dict[str, Any] | None = None,
    resample: bool = False,
    model_kwargs: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
) -> Any:
    """An encoder for data windows ``[B, n_channels, n_times]`` at ``sfreq``, with ``weights`` loaded.

    ``name`` is a published architecture (``cbramod``, ``labram``, ...) and ``weights`` a
    checkpoint (file, hub id, see :func:`load_published`), or ``None`` for random initialisation
    (architecture-only; no contract to check). ``name`` may also be any registered encoder with
    ``weights`` a neurorep saved-model folder: its recorded contract is checked the same way.

    The data are checked against the checkpoint's contract (:func:`neurorep.export.contract.plan_input`):
    channels that do not fit and another rate are refused (:class:`ConfigError`) unless
    ``channel_mapping`` (rename / reorder / drop / interpolate) or ``resample=True`` asks for a
    mapping. When a mapping is needed the encoder comes wrapped in an ``adapted`` encoder that
    applies it (fixed matrices, saved with the weights). The result is an ordinary
    :class:`~neurorep.encoders.Encoder` (``forward``, ``forward_features``, ``embed_dim``,
    ``layer_groups``) for probes, fine-tuning, SSL and export; ``encoder.checkpoint_contract`` is
    the contract of its input as it now stands, written into ``config.json`` when it is saved.
    """
    kwargs = dict(model_kwargs or {})
    folder = Path(weights) if weights is not None else None
    if folder is not None and folder.is_dir() and (folder / "config.json").is_file():
        return _saved_with_contract(name, folder, n_channels, n_times, sfreq, ch_names, channel_mapping, resample)
    cls = _published_class(name)
    if weights is None:
        if ch_names is not None and "ch_names" in inspect.signature(cls).parameters:
            kwargs["ch_names"] = list(ch_names)
        return create_encoder(cls.registry_name, n_channels=n_channels, n_times=n_times, sfreq=sfreq, **kwargs)
    fixed = cls.channels_in_checkpoint(read_checkpoint(resolve_weights(weights, cache_dir))) \
        if cls.count_is_fixed(kwargs) else None
    plan = check_contract(cls, n_channels, n_times, sfreq, ch_names, kwargs, channel_mapping, resample, fixed)
    model_channels = plan.channel_matrix.shape[0]
    model_names = plan.model_ch_names if cls.channel_rule({"n_channels": model_channels, **kwargs}) == "table" else None
    model = load_published(cls.registry_name, weights, model_channels, plan.model_n_times, plan.model_sfreq,
                           ch_names=model_names, model_kwargs=kwargs, cache_dir=cache_dir)
    inner = CheckpointContract.from_dict(model.metadata["contract"])
    encoder = model.encoder if plan.identity else _adapted(model.encoder, plan, n_channels, n_times)
    encoder.checkpoint_contract = _data_contract(inner, plan, n_channels, n_times, sfreq, ch_names,
                                                 encoder.registry_name)
    encoder.eval()
    return encoder


def _saved_with_contract(name: str, folder: Path, n_channels: int, n_times: int, sfreq: float,
                         ch_names: list[str] | None, mapping: ChannelMapping | dict[str, Any] | None,
                         resample: bool) -> Any:
    """A neurorep saved model checked against (and, when asked, mapped onto) the data."""
    from neurorep.export.hub import from_pretrained, load_config

    config = load_config(folder)
    if name not in (config["architecture"], "saved"):
        raise ConfigError(f"{folder}: holds a {config['architecture']!r} encoder, not {name!r}")
    if "contract" not in config:
        raise ConfigError(f"{folder / 'config.json'}: no checkpoint contract recorded (the channels and rate the "
                          "model was trained on are unknown); record one with neurorep.export.contract")
    contract = CheckpointContract.from_dict(config["contract"], source=str(folder / "config.json"))
    plan = plan_input(contract, n_channels, n_times, sfreq, ch_names, mapping, resample)
    built = config.get("kwargs", {})
    want = (plan.channel_matrix.shape[0], plan.model_n_times)
    have = (built.get("n_channels", want[0]), built.get("n_times", want[1]))
    if tuple(map(int, have)) != want:
        raise ConfigError(f"{folder}: the saved encoder was built for {have[0]} channels x {have[1]} samples, the "
                          f"data give {want[0]} x {want[1]}; load the original checkpoint for this shape instead")
    encoder = from_pretrained(folder)
    if not plan.identity:
        encoder = _adapted(encoder, plan, n_channels, n_times)
    encoder.checkpoint_contract = _data_contract(contract, plan, n_channels, n_times, sfreq, ch_names,
                                                 encoder.registry_name)
    return encoder.eval()
