"""Opt-in exact reproducibility: whether runs ask torch for deterministic algorithms.

Off by default: seeding alone makes CPU runs repeat in practice, and torch's deterministic mode
costs 6-13% of a CPU training step in benchmarks/training_overhead.py (it also fills every new tensor with NaN).
``neurorep run --deterministic`` (or ``NEUROREP_DETERMINISTIC=1``) turns it on for the run and
for every process the run starts; the mode is saved in the run's ``environment.json`` and a
resumed run keeps the mode it started with (:func:`neurorep.runs.run_from_args`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: Environment variable holding the mode ("1" on), inherited by worker and grid processes.
DETERMINISTIC_ENV = "NEUROREP_DETERMINISTIC"


def deterministic_mode() -> bool:
    """Whether this process (and the ones it starts) runs in deterministic mode."""
    return os.environ.get(DETERMINISTIC_ENV, "") not in ("", "0")


@contextmanager
def deterministic(on: bool) -> Iterator[None]:
    """Run the block in deterministic mode ``on`` (restored afterwards)."""
    old = os.environ.get(DETERMINISTIC_ENV)
    os.environ[DETERMINISTIC_ENV] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(DETERMINISTIC_ENV, None)
        else:
            os.environ[DETERMINISTIC_ENV] = old
