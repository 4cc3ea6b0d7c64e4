"""A single self-contained HTML report (inline CSS, PNG figures embedded as base64), plus table helpers.

``write_report`` writes atomically: to a temporary file in the target folder, then ``os.replace``,
so a reader never sees half a report.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from neurorep.errors import DataError
from neurorep.fileio import atomic_write

__all__ = ["Section", "figure_png_bytes", "html_table", "markdown_table", "mean_sd", "write_report"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444;padding-bottom:.2em}
h2{margin-top:1.8em;border-bottom:1px solid #ccc;padding-bottom:.15em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}td{white-space:nowrap}
.table-scroll{overflow-x:auto}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
tr:nth-child(even) td{background:#fafafa}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
.meta{color:#777;font-size:.85em}
"""


@dataclass
class Section:
    """One section of the report.

    Attributes:
        heading: section title.
        text: prose; blank lines separate paragraphs (HTML-escaped, shown as written).
        table: rows as a list of dicts (columns in first-seen key order) or a markdown table string.
        figures: matplotlib Figures or paths of PNG files, embedded in order.
    """

    heading: str
    text: str = ""
    table: list[dict[str, Any]] | str | None = None
    figures: list[Figure | str | Path] = field(default_factory=list)


MISSING = "—"


def _fmt(value: Any, floatfmt: str) -> str:
    """Cell text: floats with ``floatfmt`` ("—" for NaN: a value that could not be computed), the rest with ``str``."""
    if isinstance(value, (float, np.floating)):
        return MISSING if math.isnan(float(value)) else format(float(value), floatfmt)
    if value is None:
        return ""
    return str(value)


def _columns(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None) -> list[str]:
    """The given columns, or every key of ``rows`` in first-seen order."""
    if columns is not None:
        return list(columns)
    return list(dict.fromkeys(k for row in rows for k in row))


def markdown_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, floatfmt: str = ".3f"
) -> str:
    """GitHub-flavoured markdown table of ``rows`` (missing cells are blank, pipes escaped)."""
    cols = _columns(rows, columns)
    if not cols:
        return ""

    def cell(v: Any) -> str:
        return _fmt(v, floatfmt).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in cols) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def mean_sd(values: Iterable[float], fmt: str = ".3f") -> str:
    """``"mean ± sd"`` of ``values`` (sample SD, ``ddof=1``), e.g. ``"0.812 ± 0.013"``.

    One value gives just the value (no sd); no values, or only NaN, give ``"—"``; NaN values are
    left out of the mean and sd.
    """
    v = np.asarray(list(values), dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return MISSING
    if v.size == 1:
        return format(float(v[0]), fmt)
    return f"{format(float(v.mean()), fmt)} ± {format(float(v.std(ddof=1)), fmt)}"


def html_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, floatfmt: str = ".3f") -> str:
    """HTML ``<table>`` of ``rows`` with escaped cells."""
    cols = _columns(rows, columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(row.get(c), floatfmt))}</td>" for c in cols) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _markdown_to_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """Parse a pipe markdown table into (header, body rows); the ``---`` separator line is skipped."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]

    def split(line: str) -> list[str]:
        line = line.strip()
        line = line.removeprefix("|")
        if line.endswith("|") and not line.endswith("\\|"):
            line = line[:-1]
        cells, cur, i = [], "", 0
        while i < len(line):
            if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == "|":
                cur += "|"
                i += 2
                continue
            if line[i] == "|":
                cells.append(cur.strip())
                cur = ""
            else:
                cur += line[i]
            i += 1
        cells.append(cur.strip())
        return cells

    if len(lines) < 2 or "|" not in lines[0]:
        raise DataError("section table string is not a markdown table (needs a header row and a --- row)")
    header = split(lines[0])
    body = [split(ln) for ln in lines[1:] if not set(ln.replace("|", "").replace(":", "").strip()) <= {"-", " "}]
    return header, body


def _table_html(table: list[dict[str, Any]] | str) -> str:
    """HTML for a section table given as rows or as a markdown string."""
    if isinstance(table, str):
        header, body = _markdown_to_rows(table)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return html_table(table)


def figure_png_bytes(fig: Figure | str | Path, dpi: int = 110) -> bytes:
    """PNG bytes of a Figure (rendered with Agg) or of an existing PNG file."""
    if isinstance(fig, Figure):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        return buf.getvalue()
    p = Path(fig)
    if not p.is_file():
        raise DataError(f"{p}: figure file not found")
    data = p.read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise DataError(f"{p}: expected a PNG file (report figures are embedded as PNG)")
    return data


def _section_html(section: Section) -> str:
    """HTML of one section: heading, paragraphs, table, figures."""
    parts = [f"<section><h2>{html.escape(section.heading)}</h2>"]
    for para in (p.strip() for p in section.text.split("\n\n")):
        if para:
            parts.append("<p>" + html.escape(para).replace("\n", "<br>") + "</p>")
    if section.table is not None and (section.table != [] and section.table != ""):
        parts.append('<div class="table-scroll">' + _table_html(section.table) + "</div>")
    for i, fig in enumerate(section.figures):
        b64 = base64.b64encode(figure_png_bytes(fig)).decode("ascii")
        alt = html.escape(f"{section.heading} figure {i + 1}")
        parts.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{b64}"></figure>')
    parts.append("</section>")
    return "\n".join(parts)


def write_report(path: str | Path, title: str, sections: Sequence[Section]) -> Path:
    """Write one self-contained HTML file at ``path`` (folders created) and return its path.

    CSS is inline and figures are base64 PNGs, so the file can be mailed or opened offline. The
    write is atomic (temporary file in the same folder, then ``os.replace``).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(_section_html(s) for s in sections)
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">generated {stamp} by neurorep</p>\n"
        f"{body}\n</body></html>\n"
    )
    return atomic_write(out, lambda p: p.write_text(doc, encoding="utf-8"))
