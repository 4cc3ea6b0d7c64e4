"""Simulated corpora by kind (``neurorep data simulate KIND``).

Each corpus module in :mod:`neurorep.data.simulate` registers its writer in :data:`SIMULATORS`
with ``@SIMULATORS.register(kind, description)``. A writer takes the output folder plus
``n_subjects``, ``seed`` and ``jobs`` (and options of its own, which ``--set key=value`` passes
through) and returns the files it wrote.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurorep.errors import ConfigError, closest
from neurorep.registry import Registry

SIMULATORS: Registry[Callable[..., Any]] = Registry("simulated corpus")


@SIMULATORS.register("sleep", "Sleep-EDF-style PSG nights (EEG, EOG, EMG, ECG) with hypnograms")
def _sleep(out: Path, n_subjects: int = 10, seed: int = 0, jobs: int = 1, nights: int = 1,
           hours: float = 8.0, progress: bool = True) -> list[Any]:
    from neurorep.data.simulate import simulate_sleep

    return simulate_sleep(out, n_subjects=n_subjects, seed=seed, jobs=jobs, nights=nights, hours=hours,
                          progress=progress)


def _load_builtin() -> None:
    from neurorep.registry import import_submodules

    import_submodules("neurorep.data.simulate")


def list_corpora() -> dict[str, str]:
    """Kind -> one-line description of every simulated corpus."""
    _load_builtin()
    return SIMULATORS.describe()


def simulate(kind: str, out: str | Path, **kwargs: Any) -> list[Any]:
    """Write the simulated corpus ``kind`` to ``out``; returns the files written.

    Options the writer does not take fail with a :class:`ConfigError` naming the ones it does.
    """
    _load_builtin()
    writer = SIMULATORS.get(kind)
    params = inspect.signature(writer).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        allowed = [n for n in params if n != "out"]
        for key in kwargs:
            if key not in params:
                hint = closest(key, allowed)
                raise ConfigError(f"corpus {kind!r} has no option {key!r}; its options are: {', '.join(allowed)}"
                                  + (f" (did you mean {hint!r}?)" if hint else ""))
    return writer(Path(out), **kwargs)
