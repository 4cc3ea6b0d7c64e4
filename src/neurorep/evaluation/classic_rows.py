"""The rule every benchmark table follows: it is written only with its classic baseline rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from neurorep.errors import DataError

__all__ = ["require_rows"]


def require_rows(rows: list[dict[str, Any]], labels: Iterable[str], key: str = "row") -> None:
    """Refuse (``DataError``) a results table that lacks a row whose ``key`` is each of ``labels``, or
    that names none."""
    wanted = list(dict.fromkeys(labels))
    have = {r.get(key) for r in rows}
    missing = [label for label in wanted if label not in have]
    if missing or not wanted:
        raise DataError("results table not written: classic baseline row(s) missing: "
                        + (", ".join(missing) or "none configured"))
