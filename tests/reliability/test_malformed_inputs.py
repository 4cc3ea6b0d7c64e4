"""Every malformed input gives exit code 2, one line naming the file or field, and leaves the sandbox as it was.

Each case of the corpus runs in its own sandbox folder (:mod:`tests.reliability.sandbox`): every
file that existed before the command is byte-identical after it, and no new file remains anywhere
(not in the output folder, not beside it, not in ``$TMPDIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tests.reliability.malformed_config  # noqa: F401  (registers the config cases)
import tests.reliability.malformed_bombs  # noqa: F401  (registers the resource-bomb cases)
import tests.reliability.malformed_integrity  # noqa: F401  (registers the data-integrity cases)
import tests.reliability.malformed_recordings  # noqa: F401  (registers the any-format recording cases)
from tests.reliability.malformed import CASES
from tests.reliability.sandbox import assert_clean_failure, run_in_sandbox


def test_corpus_has_at_least_80_cases() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    c = CASES[name](tmp_path)
    if "READ_ONLY" in c.env and os.geteuid() == 0:  # root ignores permissions: make the check see them
        locked = c.env["READ_ONLY"]
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).startswith(locked) and mode & os.W_OK
                            else real_access(p, mode, **kw))
    outcome = run_in_sandbox(c.argv, tmp_path, capsys, monkeypatch)
    assert_clean_failure(outcome, name, c.expect)
