"""``nn.Module`` wrappers around the functional augmentations, and the standard contrastive views.

An augmentation pipeline is configured as a list of ``{"name": ..., "p": ..., "params": {...}}``
entries, e.g. from YAML::

    augmentations:
      - {name: amplitude_scale, p: 0.8, params: {low: 0.5, high: 2.0}}
      - {name: time_mask, p: 0.5, params: {max_len: 0.1}}

Unknown names or parameters raise :class:`~neurorep.errors.ConfigError` listing what is allowed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from neurorep.errors import ConfigError, closest, unknown_name_message
from neurorep.transforms import functional as F

__all__ = ["AUGMENTATIONS", "AUGMENT_PRESETS", "DEFAULT_VIEW_SPEC", "Augment", "Compose", "build_augment",
           "default_views", "resolve_augmentations"]

AUGMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "amplitude_scale": F.amplitude_scale,
    "additive_noise": F.additive_noise,
    "time_shift": F.time_shift,
    "time_mask": F.time_mask,
    "channel_dropout": F.channel_dropout,
    "band_stop": F.band_stop,
    "sign_flip": F.sign_flip,
}

#: The standard view pipeline for contrastive learning on EEG windows: amplitude scaling,
#: circular time shift, additive noise, a zeroed span, a band-stop notch, polarity flip and
#: channel dropout. With a single channel, channel dropout would zero the whole window, so
#: :func:`default_views` leaves it out when told ``n_channels=1``.
DEFAULT_VIEW_SPEC: list[dict[str, Any]] = [
    {"name": "amplitude_scale", "p": 0.8, "params": {"low": 0.5, "high": 2.0}},
    {"name": "time_shift", "p": 0.5, "params": {"max_shift": 0.1, "mode": "circular"}},
    {"name": "additive_noise", "p": 0.5, "params": {"sigma": 0.1}},
    {"name": "time_mask", "p": 0.5, "params": {"max_len": 0.1}},
    {"name": "band_stop", "p": 0.5, "params": {"min_freq": 0.5, "max_freq": 40.0, "bandwidth": 4.0}},
    {"name": "sign_flip", "p": 0.5, "params": {}},
    {"name": "channel_dropout", "p": 0.2, "params": {"drop_prob": 0.5}},
]


#: Per-task view pipelines (``augmentations: motor`` in an objective's config). None of them
#: band-stops: a random notch can erase the band a task lives on (sleep spindles at 11-16 Hz,
#: mu/beta at 8-30 Hz, the stimulus frequency and its harmonics in SSVEP). Every transform used
#: here keeps the power spectrum's shape: amplitude scaling and sign flips scale it, time shifts
#: and masks move or remove time (a masked span lowers power in every band alike), noise adds a
#: flat floor, channel dropout removes whole channels. ``motor`` and ``ssvep`` use milder
#: amplitude and noise settings and a zero-filled shift (a crop) for motor.
AUGMENT_PRESETS: dict[str, list[dict[str, Any]]] = {
    "sleep": [
        {"name": "amplitude_scale", "p": 0.8, "params": {"low": 0.5, "high": 2.0}},
        {"name": "time_shift", "p": 0.5, "params": {"max_shift": 0.1, "mode": "circular"}},
        {"name": "additive_noise", "p": 0.5, "params": {"sigma": 0.1}},
        {"name": "time_mask", "p": 0.5, "params": {"max_len": 0.1}},
        {"name": "sign_flip", "p": 0.5, "params": {}},
        {"name": "channel_dropout", "p": 0.2, "params": {"drop_prob": 0.5}},
    ],
    "motor": [
        {"name": "amplitude_scale", "p": 0.8, "params": {"low": 0.7, "high": 1.4}},
        {"name": "time_shift", "p": 0.5, "params": {"max_shift": 0.1, "mode": "zero"}},
        {"name": "additive_noise", "p": 0.5, "params": {"sigma": 0.05}},
        {"name": "time_mask", "p": 0.3, "params": {"max_len": 0.05}},
        {"name": "channel_dropout", "p": 0.3, "params": {"drop_prob": 0.2}},
    ],
    "ssvep": [
        {"name": "amplitude_scale", "p": 0.8, "params": {"low": 0.7, "high": 1.4}},
        {"name": "time_shift", "p": 0.5, "params": {"max_shift": 0.1, "mode": "circular"}},
        {"name": "additive_noise", "p": 0.5, "params": {"sigma": 0.05}},
        {"name": "channel_dropout", "p": 0.3, "params": {"drop_prob": 0.2}},
    ],
    "clinical": [
        {"name": "amplitude_scale", "p": 0.8, "params": {"low": 0.5, "high": 2.0}},
        {"name": "time_shift", "p": 0.5, "params": {"max_shift": 0.1, "mode": "circular"}},
        {"name": "additive_noise", "p": 0.5, "params": {"sigma": 0.1}},
        {"name": "time_mask", "p": 0.5, "params": {"max_len": 0.1}},
        {"name": "sign_flip", "p": 0.5, "params": {}},
        {"name": "channel_dropout", "p": 0.3, "params": {"drop_prob": 0.3}},
    ],
}


def resolve_augmentations(spec: str | Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """An objective's ``augmentations`` setting as a list of ``{name, p, params}`` entries.

    ``None`` stays ``None`` (the default pipeline), a preset name (:data:`AUGMENT_PRESETS`)
    becomes its list, and a list is copied. Anything else is a :class:`ConfigError`.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec not in AUGMENT_PRESETS:
            raise ConfigError(unknown_name_message("augmentation preset", spec, AUGMENT_PRESETS))
        return [{**e, "params": dict(e["params"])} for e in AUGMENT_PRESETS[spec]]
    if isinstance(spec, Mapping):
        raise ConfigError(f"augmentations must be a preset name ({', '.join(AUGMENT_PRESETS)}) or a list of "
                          f"{{name, p, params}} entries, got {spec!r}")
    return [dict(a) for a in spec]


def _allowed_params(fn: Callable[..., torch.Tensor]) -> list[str]:
    return [n for n in inspect.signature(fn).parameters if n not in ("x", "p", "generator")]


class Augment(nn.Module):
    """One augmentation applied per sample with probability ``p``.

    ``Augment("time_mask", p=0.5, max_len=0.1)(x[B, C, T], generator) -> [B, C, T]``. The
    augmentation is applied whatever the module's train/eval mode; callers decide when to call it.
    """

    def __init__(self, name: str, p: float = 0.5, **params: Any) -> None:
        super().__init__()
        if name not in AUGMENTATIONS:
            raise ConfigError(unknown_name_message("augmentation", name, AUGMENTATIONS))
        fn = AUGMENTATIONS[name]
        allowed = _allowed_params(fn)
        for key in params:
            if key not in allowed:
                hint = closest(key, allowed)
                raise ConfigError(
                    f"augmentation {name!r}: unknown parameter {key!r}; allowed parameters are: "
                    f"{', '.join(allowed) or '(none)'}" + (f" (did you mean {hint!r}?)" if hint else "")
                )
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise ConfigError(f"augmentation {name!r}: p must be a number in [0, 1], got {p!r}") from None
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"augmentation {name!r}: p must be in [0, 1], got {p}")
        self.name = name
        self.p = p
        self.params = dict(params)
        self._fn = fn

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x[B, C, T] -> [B, C, T]``."""
        return self._fn(x, p=self.p, generator=generator, **self.params)

    def spec(self) -> dict[str, Any]:
        """The ``{name, p, params}`` entry that rebuilds this augmentation."""
        return {"name": self.name, "p": self.p, "params": dict(self.params)}

    def extra_repr(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name!r}, p={self.p}" + (f", {params}" if params else "")


class Compose(nn.Module):
    """Apply augmentations in order. ``Compose([...])(x[B, C, T], generator) -> [B, C, T]``.

    Entries may be :class:`Augment` modules or ``{name, p, params}`` mappings.
    """

    def __init__(self, augments: Iterable[Augment | Mapping[str, Any]] = ()) -> None:
        super().__init__()
        self.augments = nn.ModuleList(a if isinstance(a, Augment) else build_augment(a) for a in augments)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x[B, C, T] -> [B, C, T]``."""
        for aug in self.augments:
            x = aug(x, generator=generator)
        return x

    def spec(self) -> list[dict[str, Any]]:
        """The list of ``{name, p, params}`` entries that rebuilds this pipeline."""
        return [a.spec() for a in self.augments]  # type: ignore[operator]

    def __len__(self) -> int:
        return len(self.augments)


def build_augment(entry: Mapping[str, Any]) -> Augment:
    """Build an :class:`Augment` from ``{"name": str, "p": float, "params": dict}``."""
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ConfigError(f"augmentation entry must be a mapping with a 'name' key, got {entry!r}")
    extra = set(entry) - {"name", "p", "params"}
    if extra:
        raise ConfigError(
            f"augmentation entry {entry.get('name')!r}: unknown key(s) {sorted(extra)}; allowed keys are name, p, params"
        )
    params = entry.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"augmentation {entry['name']!r}: 'params' must be a mapping, got {params!r}")
    return Augment(str(entry["name"]), entry.get("p", 0.5), **dict(params))


def default_views(
    spec: Iterable[Mapping[str, Any]] | None = None,
    sfreq: float = 100.0,
    n_channels: int | None = None,
) -> Compose:
    """The view pipeline for contrastive learning: ``spec`` or :data:`DEFAULT_VIEW_SPEC`.

    ``sfreq`` (Hz) is passed to frequency-domain augmentations that do not set it themselves.
    With ``n_channels=1`` channel dropout is left out, and the default band-stop range is capped
    at ``0.45 * sfreq``.
    """
    if spec is None:
        entries = [dict(e) for e in DEFAULT_VIEW_SPEC]
        if n_channels == 1:
            entries = [e for e in entries if e["name"] != "channel_dropout"]
        for e in entries:  # keep the default notch below Nyquist for low sampling rates
            if e["name"] == "band_stop":
                e["params"] = {**e["params"], "max_freq": min(e["params"]["max_freq"], 0.45 * sfreq)}
    else:
        if isinstance(spec, Mapping) or isinstance(spec, str):
            raise ConfigError(f"augmentations must be a list of {{name, p, params}} entries, got {spec!r}")
        entries = [dict(e) for e in spec]
        if n_channels == 1:  # dropping the only channel would blank the window
            entries = [e for e in entries if e.get("name") != "channel_dropout"]
    built = []
    for e in entries:
        params = dict(e.get("params") or {})
        name = e.get("name")
        if name in AUGMENTATIONS and "sfreq" in _allowed_params(AUGMENTATIONS[name]):
            params.setdefault("sfreq", sfreq)
        built.append(build_augment({**e, "params": params}))
    return Compose(built)
