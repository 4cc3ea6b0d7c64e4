"""docs/extending.md: the new-source example is one file of the stated size and prepares a cache.

(The new-recipe example is measured and run by tests/recipes/test_toy_recipe.py; the documentation
test runs every block of the page in the slow run.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def section_blocks(heading: str) -> list[str]:
    text = DOC.read_text()
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start: end if end > 0 else None], re.S)


def test_the_guide_keeps_the_part_b_headings() -> None:
    text = DOC.read_text()
    for heading in ("A new encoder", "A new objective", "A new source", "A new recipe"):
        assert f"\n## {heading}\n" in text, heading


def test_a_new_source_is_one_file_of_the_stated_size_and_prepares_a_cache(tmp_path: Path) -> None:
    source, use = section_blocks("A new source")
    n = len(source.splitlines())
    assert f"one file of {n} lines" in DOC.read_text() and f"| 1 | {n} |" in DOC.read_text()
    (tmp_path / "sources_npz.py").write_text(source)
    (tmp_path / "use.py").write_text("import sources_npz  # registers npz-sleep\n" + use)
    result = subprocess.run([sys.executable, "use.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "160 windows of ['W', 'N1', 'N2', 'N3', 'REM']" in result.stdout
    assert len(list((tmp_path / "cache").rglob("COMPLETE"))) == 1
