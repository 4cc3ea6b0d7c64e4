"""No code in the package (or its benchmarks) can load a file in a way that executes code.

Weights are safetensors, configs YAML through the safe loader, caches .npy without pickles. The
scan walks the syntax tree of every module, so a call hidden behind an alias is still seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src" / "neurorep").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
#: the one module allowed to subclass pickle.Unpickler (it admits only plain data; see its tests)
RESTRICTED_UNPICKLER = ROOT / "src" / "neurorep" / "safe_pickle.py"
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "jsonpickle"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_const(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def unsafe_calls(source: str, filename: str = "<string>", allow_unpickler: bool = False) -> list[str]:
    """Unsafe loading calls in ``source``, as ``"line: what"`` strings."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES and not allow_unpickler:
            found.append(f"{node.lineno}: import from {node.module}")
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in UNSAFE_MODULES and not allow_unpickler:
                    found.append(f"{node.lineno}: import {a.name}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, rest = name.partition(".")
        full = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        if full in ("eval", "exec"):
            found.append(f"{node.lineno}: {full}()")
        elif full in ("numpy.load",) and not (_kw(node, "allow_pickle") is None or _is_const(_kw(node, "allow_pickle"), False)):
            found.append(f"{node.lineno}: numpy.load with allow_pickle")
        elif full == "torch.load" and not _is_const(_kw(node, "weights_only"), True):
            found.append(f"{node.lineno}: torch.load without weights_only=True")
        elif full in ("yaml.load", "yaml.load_all") and "Safe" not in _dotted(_kw(node, "Loader") or ast.Name("")):
            found.append(f"{node.lineno}: {full} without a safe Loader")
        elif full in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"):
            found.append(f"{node.lineno}: {full}")
        elif full.split(".")[0] in UNSAFE_MODULES and not allow_unpickler:
            found.append(f"{node.lineno}: {full}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unsafe_loading(path: Path) -> None:
    assert unsafe_calls(path.read_text(), str(path), allow_unpickler=path == RESTRICTED_UNPICKLER) == []


@pytest.mark.parametrize("snippet", [
    "import pickle\npickle.load(open('w.pkl', 'rb'))",
    "from pickle import loads as l\nl(b'')",
    "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
    "import torch\ntorch.load('m.pt')",
    "import torch as T\nT.load('m.pt', weights_only=False)",
    "import yaml\nyaml.load(open('c.yaml'), Loader=yaml.Loader)",
    "import yaml\nyaml.unsafe_load('a: 1')",
    "import joblib\njoblib.load('m.joblib')",
    "eval('1+1')",
])
def test_scanner_catches_unsafe_calls(snippet: str) -> None:
    assert unsafe_calls(snippet)


@pytest.mark.parametrize("snippet", [
    "import numpy as np\nnp.load('x.npy', allow_pickle=False)",
    "import numpy as np\nnp.load('x.npy', mmap_mode='r')",
    "import torch\ntorch.load('m.ckpt', weights_only=True)",
    "import yaml\nyaml.safe_load('a: 1')",
    "import yaml\nyaml.load('a: 1', Loader=yaml.SafeLoader)",
])
def test_scanner_accepts_safe_calls(snippet: str) -> None:
    assert unsafe_calls(snippet) == []
