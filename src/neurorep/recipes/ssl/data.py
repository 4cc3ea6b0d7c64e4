"""The data an ssl benchmark reads: one finished window cache."""

from __future__ import annotations

from pathlib import Path

from neurorep.data.cache import find_caches
from neurorep.errors import ConfigError, DataError

__all__ = ["cache_folder"]


def cache_folder(data: Path | str | None) -> Path:
    """The one finished cache at ``data`` (the cache itself, or a ``--out`` folder of ``data prepare``)."""
    if data is None:
        raise ConfigError("benchmark ssl needs --data CACHE (a folder written by `neurorep data prepare SOURCE "
                          "--out CACHE`)")
    caches = find_caches(data)
    if not caches:
        raise DataError(f"{data}: not a neurorep window cache (no COMPLETE marker); prepare one with "
                        f"`neurorep data prepare SOURCE --out {data}`")
    if len(caches) > 1:
        raise DataError(f"{data}: holds {len(caches)} caches; pass one of them: "
                        + ", ".join(str(c.path) for c in caches))
    return caches[0].path
