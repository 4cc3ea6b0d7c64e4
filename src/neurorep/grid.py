"""Deprecated name of :mod:`neurorep.sweep` (the core runner of benchmark rows); import from there."""

from __future__ import annotations

import warnings

from neurorep.sweep import (  # noqa: F401  (the names this module used to define)
    Row,
    Task,
    Worker,
    check_data_exists,
    check_jobs,
    grouped_table,
    load_preset,
    preset_names,
    resolve_preset,
    run_settings,
    run_tasks,
    write_results,
)

warnings.warn("neurorep.grid is renamed neurorep.sweep; import from neurorep.sweep", DeprecationWarning, stacklevel=2)
