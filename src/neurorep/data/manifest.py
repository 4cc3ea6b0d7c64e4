"""Content hashes of cache folders and source files.

A cache's ``manifest.json`` (written last, just before its ``COMPLETE`` marker) lists every file
of the cache with its size, the SHA-256 of its whole content and a "quick" SHA-256 of its first
and last :data:`QUICK_BYTES`. Opening a cache checks sizes and quick hashes (cheap: two small
reads per file); :func:`check_manifest` with ``full=True`` (``neurorep data info CACHE --verify``)
re-hashes everything. Any difference is one :class:`~neurorep.errors.DataError` that tells the
user to delete the cache so that it is rebuilt.

:func:`source_fingerprint` identifies a source recording by content, not by its modification
time, so a file replaced with ``cp -p``/``rsync -t`` (same size and mtime) gets a new cache key.
SHA-256 runs at about 1.7 GB/s on the development machine, so files up to
:data:`FULL_HASH_LIMIT` are hashed whole; larger ones by their size and
:data:`SAMPLES` evenly spaced blocks of :data:`SAMPLE_BYTES` (always including the first and last).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from neurorep.errors import DataError
from neurorep.fileio import atomic_write_text

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
QUICK_BYTES = 64 * 1024
FULL_HASH_LIMIT = 256 * 1024 * 1024
SAMPLES = 32
SAMPLE_BYTES = 1024 * 1024


def full_hash(path: Path) -> str:
    """SHA-256 of the whole file."""
    with path.open("rb") as fh:  # one reused buffer (no new 4 MiB object per read)
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _sampled_hash(path: Path, size: int, offsets: list[int], length: int) -> str:
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        for off in offsets:
            fh.seek(off)
            h.update(fh.read(length))
    return h.hexdigest()


def quick_hash(path: Path, size: int) -> str:
    """SHA-256 of the size, the first and the last :data:`QUICK_BYTES` of the file."""
    return _sampled_hash(path, size, [0, max(0, size - QUICK_BYTES)], QUICK_BYTES)


def source_fingerprint(path: str | Path) -> str:
    """A content fingerprint of a source file (whole-file hash up to :data:`FULL_HASH_LIMIT`, sampled above)."""
    path = Path(path)
    size = path.stat().st_size
    if size <= FULL_HASH_LIMIT:
        return full_hash(path)
    step = (size - SAMPLE_BYTES) // (SAMPLES - 1)
    return _sampled_hash(path, size, [i * step for i in range(SAMPLES)], SAMPLE_BYTES)


def content_key(settings: Any, files: Iterable[tuple[str, str | Path]],
                fingerprints: dict[Path, str] | None = None) -> str:
    """A 16-hex-digit cache key: the JSON of ``settings`` and, per ``(tag, path)``, the tag, the resolved
    path and the file's :func:`source_fingerprint` (taken from ``fingerprints`` when it has the path)."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    known = fingerprints or {}
    for tag, path in files:
        fp = known.get(Path(path)) or source_fingerprint(path)
        h.update(f"|{tag}|{Path(path).resolve()}|{fp}".encode())
    return h.hexdigest()[:16]


def write_manifest(folder: str | Path, **extra: Any) -> Path:
    """Hash every file under ``folder`` (except the manifest and ``COMPLETE``) into ``manifest.json``."""
    folder = Path(folder)
    files: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel not in (MANIFEST, "COMPLETE"):
            size = p.stat().st_size
            files[rel] = {"size": size, "sha256": full_hash(p), "quick": quick_hash(p, size)}
    body = {"version": MANIFEST_VERSION, "files": files, **extra}
    return atomic_write_text(folder / MANIFEST, json.dumps(body, indent=1))


def check_manifest(folder: str | Path, full: bool = False) -> dict[str, Any]:
    """Check the files of cache ``folder`` against its manifest: sizes and quick hashes, or (``full``)
    whole-file hashes. Returns the manifest; a difference is a :class:`DataError`."""
    folder = Path(folder)
    advice = "delete the cache folder to rebuild it"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise DataError(f"{folder}: cache has no {MANIFEST} (made by an older neurorep or tampered with); "
                        f"{advice}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{folder / MANIFEST}: unreadable cache manifest ({exc}); {advice}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        raise DataError(f"{folder / MANIFEST}: malformed cache manifest; {advice}")
    for rel, want in files.items():
        p = folder / rel
        try:
            size = os.stat(p).st_size
        except FileNotFoundError:
            raise DataError(f"{p}: cache file missing; {advice}") from None
        if size != want.get("size"):
            raise DataError(f"{p}: cache file has {size} bytes, the manifest says {want.get('size')} "
                            f"(truncated or changed); {advice}")
        got = full_hash(p) if full else quick_hash(p, size)
        if got != want.get("sha256" if full else "quick"):
            raise DataError(f"{p}: cache file content differs from its manifest hash (changed after it was "
                            f"written); {advice}")
    return manifest
