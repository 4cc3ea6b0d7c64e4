"""The checkpoint contract: what a model expects of its input, and checking data against it.

Every saved or published model carries a :class:`CheckpointContract` (``config.json`` key
``"contract"`` for neurorep saved models; built from the architecture's card for published
checkpoints). It records the channels (names, and positions where the model uses them), the
sampling rate, the window and patch length, the units and input normalisation, the licence,
the source and the sha256 of the weights.

:func:`plan_input` checks data (channel names, rate, window length) against a contract and
returns an :class:`InputPlan`: a channel matrix ``[C_model, C_data]`` and, when the rate differs
and resampling was asked for, a time matrix ``[T_data, T_model]``. A channel set that does not
match is refused with the missing and extra names unless a :class:`ChannelMapping` asks for a
mapping (rename, reorder, drop, spherical-spline interpolation through MNE); another rate is
refused unless ``resample=True``. Nothing is ever silently accepted.

How a contract constrains channels (``channel_rule``):

- ``"exact"``: the model was trained on ``ch_names`` in this order (neurorep-trained models);
- ``"table"``: the model looks each channel up by name in ``ch_names`` (its electrode table) and
  takes any subset in any order (LaBraM; EEGPT without its channel projection);
- ``"position"``: the model takes channels by position and ignores names; ``n_channels`` is
  fixed when the weights depend on it (``None``: any count).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from neurorep.errors import ConfigError

__all__ = ["CHANNEL_RULES", "ChannelMapping", "CheckpointContract", "InputPlan", "attach_contract",
           "interpolation_matrix", "norm_name", "plan_input", "resample_matrix"]

CHANNEL_RULES = ("exact", "table", "position")
#: the largest window (samples) resampled inside the model as a dense matrix
MAX_RESAMPLE_SAMPLES = 8192


def norm_name(name: str) -> str:
    """Channel names compare case-insensitively, without surrounding spaces or dots (``'Fp1.'`` = ``'FP1'``)."""
    return str(name).strip().strip(".").upper()


@dataclass
class CheckpointContract:
    """Machine-readable facts a model's weights impose on its input (see the module docstring)."""

    architecture: str
    sfreq: float
    n_times: int | None
    n_channels: int | None
    channel_rule: Literal["exact", "table", "position"] = "position"
    ch_names: list[str] | None = None
    ch_positions: dict[str, list[float]] | None = None
    patch_samples: int | None = None
    units: str | None = None
    normalisation: str | None = None
    licence: str | None = None
    source: str | None = None
    sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.channel_rule not in CHANNEL_RULES:
            raise ConfigError(f"contract: channel_rule must be one of {', '.join(CHANNEL_RULES)}, "
                              f"got {self.channel_rule!r}")
        if self.channel_rule != "position" and not self.ch_names:
            raise ConfigError(f"contract: channel_rule {self.channel_rule!r} needs ch_names")

    @property
    def window_s(self) -> float | None:
        """Window length in seconds (``None`` when the model takes any length)."""
        return self.n_times / self.sfreq if self.n_times and self.sfreq else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``window_s`` included)."""
        out = asdict(self)
        out["window_s"] = self.window_s
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "contract") -> CheckpointContract:
        """Rebuild from :meth:`as_dict`; unknown fields are a :class:`ConfigError` naming ``source``."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object for the checkpoint contract")
        data = {k: v for k, v in data.items() if k != "window_s"}
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown contract field(s) {', '.join(unknown)}")
        missing = [k for k in ("architecture", "sfreq", "n_times", "n_channels") if k not in data]
        if missing:
            raise ConfigError(f"{source}: contract lacks {', '.join(missing)}")
        return cls(**data)


@dataclass
class ChannelMapping:
    """How data channels may be mapped onto a model's channels (nothing is mapped unless asked).

    ``rename``: ``{data_name: model_name}``. ``reorder``: take the model's channels by name from
    wherever they are in the data. ``drop``: data channels to leave out, or ``"extra"`` for every
    channel the model does not know. ``interpolate``: make each model channel the data lack by
    spherical-spline interpolation (MNE; positions from the contract, else the ``montage``, by default MNE's
    10-05 template ``colin27_1005``, formerly ``standard_1005``).
    """

    rename: dict[str, str] = field(default_factory=dict)
    reorder: bool = False
    drop: list[str] | Literal["extra"] = field(default_factory=list)
    interpolate: bool = False
    montage: str = "colin27_1005"

    @classmethod
    def parse(cls, spec: ChannelMapping | dict[str, Any] | None) -> ChannelMapping:
        """A mapping from a dict such as ``{"rename": {"T3": "T7"}, "drop": "extra", "interpolate": true}``."""
        if spec is None:
            return cls()
        if isinstance(spec, ChannelMapping):
            return spec
        if not isinstance(spec, dict):
            raise ConfigError(f"channel_mapping: expected a mapping, got {type(spec).__name__}")
        unknown = sorted(set(spec) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"channel_mapping: unknown key(s) {', '.join(unknown)}; "
                              f"known: {', '.join(cls.__dataclass_fields__)}")
        drop = spec.get("drop", [])
        if drop != "extra" and not (isinstance(drop, (list, tuple)) and all(isinstance(d, str) for d in drop)):
            raise ConfigError(f"channel_mapping.drop: expected a list of channel names or 'extra', got {drop!r}")
        rename = spec.get("rename", {})
        if not isinstance(rename, dict):
            raise ConfigError("channel_mapping.rename: expected {data_name: model_name}")
        return cls(rename={str(k): str(v) for k, v in rename.items()}, reorder=bool(spec.get("reorder", False)),
                   drop=drop if drop == "extra" else list(drop), interpolate=bool(spec.get("interpolate", False)),
                   montage=str(spec.get("montage", "colin27_1005")))

    @property
    def empty(self) -> bool:
        """True when no mapping was asked for."""
        return not (self.rename or self.reorder or self.drop or self.interpolate)


@dataclass
class InputPlan:
    """How data windows become model windows: ``x_model = channel_matrix @ x_data [@ time_matrix]``."""

    channel_matrix: np.ndarray
    model_ch_names: list[str] | None
    time_matrix: np.ndarray | None
    model_n_times: int
    model_sfreq: float
    notes: list[str]

    @property
    def identity(self) -> bool:
        """True when the data go into the model unchanged."""
        c = self.channel_matrix
        return self.time_matrix is None and c.shape[0] == c.shape[1] and bool(np.array_equal(c, np.eye(c.shape[0])))


def attach_contract(encoder: Any, sfreq: float, ch_names: list[str] | None = None, units: str | None = None,
                    normalisation: str | None = None, licence: str | None = None, source: str | None = None,
                    **extra: Any) -> CheckpointContract:
    """Record what a neurorep-trained ``encoder`` was trained on; saving it writes the contract to ``config.json``.

    The channel count and window length come from the encoder's ``n_channels``/``n_times``;
    with ``ch_names`` the model later takes exactly those channels in that order (``"exact"``).
    """
    config = getattr(encoder, "config", {}) or {}
    n_channels, n_times = config.get("n_channels"), config.get("n_times")
    if ch_names is not None and n_channels is not None and len(ch_names) != int(n_channels):
        raise ConfigError(f"contract: {len(ch_names)} channel names for an encoder of {n_channels} channels")
    contract = CheckpointContract(
        architecture=getattr(encoder, "registry_name", "") or type(encoder).__name__, sfreq=float(sfreq),
        n_times=int(n_times) if n_times is not None else None, n_channels=int(n_channels) if n_channels else None,
        channel_rule="exact" if ch_names else "position", ch_names=list(ch_names) if ch_names else None,
        units=units, normalisation=normalisation, licence=licence, source=source, extra=dict(extra))
    encoder.checkpoint_contract = contract
    return contract


def _selection(model_names: list[str], data_keys: list[str]) -> np.ndarray:
    index = {k: i for i, k in enumerate(data_keys)}
    matrix = np.zeros((len(model_names), len(data_keys)))
    for row, name in enumerate(model_names):
        matrix[row, index[norm_name(name)]] = 1.0
    return matrix


def interpolation_matrix(data_names: list[str], targets: list[str], montage: str = "colin27_1005",
                         positions: dict[str, list[float]] | None = None) -> np.ndarray:
    """``[len(targets), len(data_names)]`` spherical-spline weights that make ``targets`` from the data channels.

    Computed through MNE's public API: a :class:`mne.io.RawArray` whose good channels hold the
    identity matrix and whose ``targets`` are marked bad is interpolated with
    ``interpolate_bads``; the bad channels' rows are then the interpolation weights (the spline
    map is linear). Positions come from ``positions`` (metres, head frame) or the ``montage``.
    """
    import mne

    names = list(data_names) + list(targets)
    info = mne.create_info(names, 100.0, "eeg")
    data = np.zeros((len(names), len(data_names)))
    data[: len(data_names)] = np.eye(len(data_names))
    raw = mne.io.RawArray(data, info, verbose="error")
    if positions:
        pos = {n: positions[n] for n in names if n in positions}
        lacking = [n for n in names if n not in pos]
        if lacking:
            raise ConfigError(f"channel interpolation: no position for {', '.join(lacking)} in the contract")
        raw.set_montage(mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head"), verbose="error")
    else:
        known = {norm_name(n): n for n in mne.channels.make_standard_montage(montage).ch_names}
        lacking = [n for n in names if norm_name(n) not in known]
        if lacking:
            raise ConfigError(f"channel interpolation: {', '.join(lacking)} not in the {montage} montage; "
                              "rename them (channel_mapping.rename) or drop them")
        raw.rename_channels({n: known[norm_name(n)] for n in names if known[norm_name(n)] != n})
        raw.set_montage(montage, verbose="error")
    raw.info["bads"] = list(raw.ch_names[len(data_names):])
    raw.interpolate_bads(reset_bads=True, mode="accurate", origin=(0.0, 0.0, 0.04), verbose="error")
    return raw.get_data()[len(data_names):]


def resample_matrix(n_in: int, sfreq_in: float, sfreq_out: float) -> tuple[np.ndarray, int]:
    """``([n_in, n_out], n_out)``: polyphase resampling (``scipy.signal.resample_poly``) of a window as a matrix.

    The window must become a whole number of samples at the new rate.
    """
    from scipy.signal import resample_poly

    ratio = Fraction(sfreq_out).limit_denominator(10_000) / Fraction(sfreq_in).limit_denominator(10_000)
    n_out = n_in * ratio
    if n_out.denominator != 1:
        raise ConfigError(f"a window of {n_in} samples at {sfreq_in:g} Hz is not a whole number of samples at "
                          f"{sfreq_out:g} Hz; choose a window length that is")
    if n_in > MAX_RESAMPLE_SAMPLES:
        raise ConfigError(f"a window of {n_in} samples is too long to resample inside the model; resample the "
                          f"recordings to {sfreq_out:g} Hz when preparing the data (neurorep data prepare)")
    matrix = resample_poly(np.eye(n_in), ratio.numerator, ratio.denominator, axis=0)  # [n_out, n_in]
    return np.ascontiguousarray(matrix.T), int(n_out)


def _plan_channels(contract: CheckpointContract, ch_names: list[str] | None, n_channels: int,
                   mapping: ChannelMapping, who: str) -> tuple[np.ndarray, list[str] | None, list[str]]:
    notes: list[str] = []
    rule = contract.channel_rule
    if ch_names is None:
        if rule == "exact" and n_channels == len(contract.ch_names or []):
            return np.eye(n_channels), list(contract.ch_names or []), ["channels taken by position (no names given)"]
        if rule == "position":
            if contract.n_channels is not None and n_channels != contract.n_channels:
                raise ConfigError(f"{who}: the weights take {contract.n_channels} channels, the data have {n_channels}")
            return np.eye(n_channels), None, notes
        raise ConfigError(f"{who}: the model looks its channels up by name; pass ch_names for the {n_channels} "
                          "data channels")
    if len(ch_names) != n_channels:
        raise ConfigError(f"{who}: {len(ch_names)} ch_names given for {n_channels} channels")
    renamed = [mapping.rename.get(c, c) for c in ch_names]
    if mapping.rename:
        notes.append("renamed " + ", ".join(f"{a}->{b}" for a, b in mapping.rename.items() if a in ch_names))
    keys = [norm_name(c) for c in renamed]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"{who}: channel names repeat in the data (after renaming): {', '.join(dupes)}")
    known = [norm_name(c) for c in contract.ch_names] if contract.ch_names else None
    if mapping.drop == "extra":
        dropped = [c for c, k in zip(renamed, keys, strict=True) if known is not None and k not in known]
    else:
        wanted = {norm_name(mapping.rename.get(c, c)) for c in mapping.drop}
        absent = sorted(w for w in wanted if w not in keys)
        if absent:
            raise ConfigError(f"{who}: channel_mapping.drop names channels not in the data: {', '.join(absent)}")
        dropped = [c for c, k in zip(renamed, keys, strict=True) if k in wanted]
    if dropped:
        notes.append("dropped " + ", ".join(dropped))
    keep = [i for i, c in enumerate(renamed) if c not in dropped]
    kept_names = [renamed[i] for i in keep]
    kept_keys = [keys[i] for i in keep]
    select_kept = np.eye(n_channels)[keep]  # [kept, data]

    if rule == "position":
        if mapping.interpolate or mapping.reorder:
            raise ConfigError(f"{who}: the model takes channels by position and has no channel list to reorder or "
                              "interpolate to")
        if contract.n_channels is not None and len(keep) != contract.n_channels:
            raise ConfigError(f"{who}: the weights take {contract.n_channels} channels, the data have {len(keep)}"
                              + (" after dropping" if dropped else ""))
        return select_kept, kept_names, notes
    assert known is not None
    extra = [c for c, k in zip(kept_names, kept_keys, strict=True) if k not in known]
    if rule == "table":
        if extra:
            raise ConfigError(f"{who}: channels not in the model's electrode table: {', '.join(extra)}; rename them "
                              "(channel_mapping.rename) or drop them (channel_mapping.drop)")
        if mapping.interpolate:
            raise ConfigError(f"{who}: the model takes any subset of its electrode table; there is no fixed channel "
                              "list to interpolate to")
        return select_kept, kept_names, notes
    # exact: the model's list, in its order
    targets = list(contract.ch_names or [])
    missing = [t for t in targets if norm_name(t) not in kept_keys]
    if extra or missing:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"extra {', '.join(extra)}"] if extra else []
        fixes = (["interpolate the missing ones (channel_mapping.interpolate)"] if missing and not mapping.interpolate
                 else []) + (["drop the extra ones (channel_mapping.drop)"] if extra else [])
        if extra or not mapping.interpolate:
            raise ConfigError(f"{who}: the data's channels do not match the model's: {'; '.join(parts)}; "
                              + ", or ".join(fixes or ["rename them (channel_mapping.rename)"]))
    order_differs = [k for k in kept_keys if k in {norm_name(t) for t in targets}] != \
        [norm_name(t) for t in targets if norm_name(t) in kept_keys]
    if order_differs and not mapping.reorder:
        raise ConfigError(f"{who}: the data hold the model's channels in another order ({', '.join(kept_names)}; "
                          f"model: {', '.join(targets)}); ask for channel_mapping.reorder")
    if order_differs:
        notes.append("reordered to the model's channel order")
    matrix = np.zeros((len(targets), n_channels))
    present = [t for t in targets if norm_name(t) in kept_keys]
    for row, name in enumerate(targets):
        if name in present:
            matrix[row] = select_kept[kept_keys.index(norm_name(name))]
    if missing:
        weights = interpolation_matrix(kept_names, missing, mapping.montage, contract.ch_positions)  # [missing, kept]
        for i, name in enumerate(missing):
            matrix[targets.index(name)] = weights[i] @ select_kept
        notes.append("interpolated " + ", ".join(missing) + " (spherical splines)")
    return matrix, targets, notes


def plan_input(contract: CheckpointContract, n_channels: int, n_times: int, sfreq: float,
               ch_names: list[str] | None = None, mapping: ChannelMapping | dict[str, Any] | None = None,
               resample: bool = False) -> InputPlan:
    """Check data of ``n_channels`` x ``n_times`` samples at ``sfreq`` against ``contract`` (see the module docstring).

    Raises :class:`ConfigError` naming the problem: channels that do not match (missing and
    extra names), another sampling rate without ``resample``, another window length.
    """
    who = contract.architecture
    mapping = ChannelMapping.parse(mapping)
    matrix, names, notes = _plan_channels(contract, ch_names, n_channels, mapping, who)
    time_matrix, model_times = None, int(n_times)
    if abs(float(sfreq) - float(contract.sfreq)) > 1e-6:
        if not resample:
            raise ConfigError(f"{who}: the weights expect {contract.sfreq:g} Hz, the data are at {float(sfreq):g} Hz; "
                              f"resample the windows to {contract.sfreq:g} Hz (or ask for resample)")
        time_matrix, model_times = resample_matrix(int(n_times), float(sfreq), float(contract.sfreq))
        notes.append(f"resampled {float(sfreq):g} -> {contract.sfreq:g} Hz ({n_times} -> {model_times} samples)")
    if contract.n_times is not None and model_times != contract.n_times:
        raise ConfigError(f"{who}: the weights take windows of {contract.n_times} samples "
                          f"({contract.window_s:g} s), the data give {model_times}")
    return InputPlan(matrix, names, time_matrix, model_times, float(contract.sfreq), notes)
