"""The commands and snippets of the README and docs/*.md, as the documented-commands test runs them.

Fenced blocks are found with markdown-it-py (the CommonMark parser rich already depends on):
``bash``/``sh`` blocks give shell commands (one per line, ``\\`` continuations joined, comments
dropped), ``console`` blocks give ``$ command`` lines with the output the docs promise, ``python`` blocks
give snippets, and ``neurorep ...`` quoted inline in the text gives inline commands. Blocks
without a language (file layouts, sample output) are not commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Item:
    """One documented command or snippet, in document order."""

    file: str
    line: int
    kind: str  # "shell", "console", "python", or "inline" (a `neurorep ...` command quoted in the text)
    text: str  # the command (comments dropped, continuations joined) or the snippet
    expect: str = ""  # console blocks: the output line the docs show
    section: str = ""  # the heading the block sits under

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def strip_comment(line: str) -> str:
    """``cmd --x 1   # note`` -> ``cmd --x 1`` (a ``#`` inside quotes is kept)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def shell_commands(block: str) -> list[tuple[int, str]]:
    """(line offset, command) for each command of a shell block."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for i, raw in enumerate(block.splitlines()):
        line = raw if pending else raw.strip()
        if not pending:
            start = i
        if not pending and (not line or line.startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1].strip() + " "
            continue
        command = " ".join((pending + strip_comment(line).strip()).split())
        pending = ""
        if command:
            out.append((start, command))
    return out


def items(files: list[str] | None = None) -> list[Item]:
    """Every documented command and snippet of ``files`` (default: README and docs/*.md)."""
    md = MarkdownIt()
    found: list[Item] = []
    for name in files or DOC_FILES:
        tokens = md.parse((ROOT / name).read_text())
        section = ""
        for k, tok in enumerate(tokens):
            if tok.type == "heading_open" and k + 1 < len(tokens):
                section = tokens[k + 1].content.strip()
            if tok.type == "inline" and tok.children and tok.map is not None:
                found += [Item(name, tok.map[0] + 1, "inline", " ".join(c.content.split()), section=section)
                          for c in tok.children if c.type == "code_inline" and c.content.startswith("neurorep ")]
            if tok.type != "fence" or tok.map is None:
                continue
            lang, first = tok.info.strip().split(" ")[0], tok.map[0] + 2
            if lang in ("bash", "sh", "shell"):
                found += [Item(name, first + off, "shell", cmd, section=section)
                          for off, cmd in shell_commands(tok.content)]
            elif lang == "console":
                lines = tok.content.splitlines()
                for i, line in enumerate(lines):
                    if line.startswith("$ "):
                        expect = lines[i + 1] if i + 1 < len(lines) and not lines[i + 1].startswith("$ ") else ""
                        found.append(Item(name, first + i, "console", line[2:].strip(), expect, section))
            elif lang == "python":
                found.append(Item(name, first, "python", tok.content, section=section))
    return found
