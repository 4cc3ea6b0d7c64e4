"""Simulated corpora by kind (``neurorep data simulate KIND``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurorep.registry import Registry

SIMULATORS: Registry[Callable[..., Any]] = Registry("simulated corpus")


@SIMULATORS.register("sleep", "Sleep-EDF-style PSG nights (EEG, EOG, EMG, ECG) with hypnograms")
def _sleep(out: Path, **kwargs: Any) -> list[Any]:
    from neurorep.data.simulate import simulate_sleep

    return simulate_sleep(out, **kwargs)


def simulate(kind: str, out: str | Path, **kwargs: Any) -> list[Any]:
    """Write the simulated corpus ``kind`` to ``out``; returns the files written."""
    return SIMULATORS.get(kind)(Path(out), **kwargs)
