"""Every malformed input gives exit code 2, one line naming the file or field, and no half-written output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tests.reliability.malformed_config  # noqa: F401  (registers the config cases)
from neurorep.cli import main
from tests.reliability.malformed import CASES


def _snapshot(path: Path | None) -> object:
    if path is None or not path.exists():
        return None
    return sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*"))


def test_corpus_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    c = CASES[name](tmp_path)
    if "READ_ONLY" in c.env and os.geteuid() == 0:  # root ignores permissions: make the check see them
        locked = c.env["READ_ONLY"]
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).startswith(locked) and mode & os.W_OK
                            else real_access(p, mode, **kw))
    before = _snapshot(c.out)
    capsys.readouterr()
    rc = main(c.argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, f"{name}: exit code {rc}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("neurorep: error: "), err
    for phrase in c.expect:
        assert phrase in lines[0], f"{name}: {phrase!r} not in {lines[0]!r}"
    assert _snapshot(c.out) == before, f"{name}: output {c.out} was changed"
