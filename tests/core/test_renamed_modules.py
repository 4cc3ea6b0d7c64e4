"""Modules renamed so each name says what it is: the old import paths keep working, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize(("old", "new", "name"), [
    ("neurorep.grid", "neurorep.sweep", "run_tasks"),
    ("neurorep.export.model_registry", "neurorep.export.model_store", "register_model"),
    ("neurorep.data.setup", "neurorep.data.prepared", "setup_data"),
])
def test_old_module_name_warns_and_gives_the_same_objects(old: str, new: str, name: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} is renamed {new}"):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_the_package_itself_imports_no_renamed_module() -> None:
    import subprocess

    code = ("import warnings; warnings.filterwarnings('error', '.* is renamed ', DeprecationWarning); "
            "import neurorep.cli, neurorep.recipes; neurorep.recipes._load_builtin(); "
            "import neurorep.export.heldout, neurorep.sweep")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=None)
    assert result.returncode == 0, result.stderr[-2000:]
