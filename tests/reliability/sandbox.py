"""A sandbox around one failing command: every file's bytes before and after, and what the user saw.

:func:`run_in_sandbox` snapshots a folder (path -> SHA-256 of the bytes, or the link target, or
"dir"), runs ``neurorep`` in-process with ``$TMPDIR`` and the crash-log folder inside the sandbox,
snapshots again and checks the promises of a failure on bad input: exit code 2, exactly one line
on stderr (``neurorep: error: ...``), no traceback, every file that existed byte-identical, and
no new file or folder anywhere in the sandbox (outside or inside the command's output folder).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from neurorep.cli import main


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content hash (files), ``link:<target>`` (symlinks) or ``dir`` (folders)."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(root))
            mode = p.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[rel] = f"link:{os.readlink(p)}"
            elif stat.S_ISDIR(mode):
                found[rel] = "dir"
            elif stat.S_ISREG(mode):
                h = hashlib.sha256()
                with p.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
                found[rel] = h.hexdigest()
            else:
                found[rel] = f"special:{stat.S_IFMT(mode)}"
    return found


#: Names that libraries (not neurorep) create in ``$TMPDIR``: torch's compile cache, onnxruntime's
#: session id file. They are not outputs of the command.
LIBRARY_TEMP_NAMES = ("torchinductor_", ".ses")
LIBRARY_CACHES = tuple(f".scratch-tmp/{n}" for n in LIBRARY_TEMP_NAMES)


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences between two snapshots (empty when identical)."""
    after = {k: v for k, v in after.items() if not k.startswith(LIBRARY_CACHES)}
    out = [f"removed {k}" for k in sorted(set(before) - set(after))]
    out += [f"new {k}" for k in sorted(set(after) - set(before))]
    out += [f"changed {k}" for k in sorted(set(before) & set(after)) if before[k] != after[k]]
    return out


@dataclass
class Outcome:
    rc: int
    stderr: str
    stdout: str
    changed: list[str]


def run_in_sandbox(argv: list[str], sandbox: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Run ``neurorep argv`` in-process; temporary files and crash logs are kept inside ``sandbox``."""
    scratch = sandbox / ".scratch-tmp"
    scratch.mkdir(exist_ok=True)
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("NEUROREP_LOG_DIR", str(scratch / "logs"))
    monkeypatch.delenv("NEUROREP_DEBUG", raising=False)
    before = snapshot(sandbox)
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(rc, captured.err, captured.out, changes(before, snapshot(sandbox)))


def assert_clean_failure(o: Outcome, name: str, expect: list[str]) -> None:
    """The promises of a failure on bad input (see the module docstring)."""
    lines = o.stderr.strip().splitlines()
    assert o.rc == 2, f"{name}: exit code {o.rc}, stderr {o.stderr!r}"
    assert "Traceback" not in o.stderr, f"{name}: traceback on stderr"
    assert len(lines) == 1 and lines[0].startswith("neurorep: error: "), f"{name}: stderr {o.stderr!r}"
    for phrase in expect:
        assert phrase in lines[0], f"{name}: {phrase!r} not in {lines[0]!r}"
    assert not o.changed, f"{name}: files changed by a failed command: {o.changed}"
