"""Argument checks shared by encoders, heads and objectives.

Each check returns the value it accepted (so a constructor can write ``n = check_int(...)``) and
raises a one-line :class:`~neurorep.errors.ConfigError` naming the owner and the argument
otherwise. :func:`check_option` adds a "did you mean" for a misspelt choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from neurorep.errors import ConfigError, DataError, closest

__all__ = ["check_fraction", "check_input", "check_int", "check_option", "check_positive", "check_rate"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(owner: str, name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` if it is an int ``>= minimum``; otherwise raise :class:`ConfigError`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_rate(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a probability in ``[0, 1)`` (a dropout rate)."""
    if not _is_number(value) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{owner}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_fraction(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies strictly inside ``(0, 1)`` (a mask ratio)."""
    if not _is_number(value) or not 0.0 < value < 1.0:
        raise ConfigError(f"{owner}: {name} must be a fraction in (0, 1), got {value!r}")
    return float(value)


def check_positive(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a number ``> 0``."""
    if not _is_number(value) or not value > 0:
        raise ConfigError(f"{owner}: {name} must be a positive number, got {value!r}")
    return float(value)


def check_option(owner: str, name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; otherwise name the choices and the closest one."""
    choices = list(allowed)
    if value in choices:
        return value
    hint = closest(str(value), [str(c) for c in choices])
    tail = f"; did you mean {hint!r}?" if hint is not None else ""
    raise ConfigError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}{tail}")


def check_input(owner: Any, x: torch.Tensor, n_channels: int, n_times: int | None = None) -> None:
    """Raise :class:`DataError` if ``x`` is not ``[B, n_channels, T]`` (and ``T == n_times`` if given).

    ``owner`` is the module checking (its class name goes into the message). Skipped while tracing
    for export, where shapes are fixed by the example input.
    """
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return
    name = type(owner).__name__
    if x.dim() != 3:
        raise DataError(f"{name}: expected input x of shape [B, C, T], got shape {tuple(x.shape)}")
    if x.shape[1] != n_channels:
        raise DataError(
            f"{name}: built for n_channels={n_channels}, got input with {x.shape[1]} channels "
            f"(shape {tuple(x.shape)}); rebuild the encoder with n_channels={x.shape[1]}"
        )
    if n_times is not None and x.shape[2] != n_times:
        raise DataError(
            f"{name}: built for n_times={n_times}, got input with {x.shape[2]} samples "
            f"(shape {tuple(x.shape)}); rebuild the encoder with n_times={x.shape[2]}"
        )
