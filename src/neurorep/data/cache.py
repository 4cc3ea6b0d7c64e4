"""On-disk window cache: memory-mapped float32 arrays + a Parquet metadata table.

Layout of one cache (a folder named by the hash of the preparation settings and source files)::

    <root>/<key>/info.json          settings, channels, rate, classes, recordings (with each source file's
                                    content fingerprint), label counts; read as a typed CacheInfo
    <root>/<key>/meta.parquet       one row per window: recording, subject, y, onset, local index
    <root>/<key>/x/00000.npy        windows of recording 0, float32 (n, C, T), memory-mapped on read
    <root>/<key>/x_<name>/00000.npy further arrays of recording 0 a source gives: per window (n, ...), named
                                    in info.extra_arrays, or per recording, named in info.recording_arrays
    <root>/<key>/manifest.json      size and SHA-256 of every file above (see neurorep.data.manifest)
    <root>/<key>/COMPLETE           written last

A cache is built in a hidden ``.<key>.partial-<pid>`` folder and renamed into place only when
complete, so an interrupted preparation never leaves anything that looks like a finished cache.
The key hashes the settings and the content of every source file (not its modification time).
Opening a cache checks its files' sizes and quick hashes against the manifest and the shape of
``info.json``; :meth:`WindowCache.verify` re-hashes everything.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from concurrent.futures import as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from neurorep.data.arrow import table_from_numpy, table_to_numpy
from neurorep.data.cache_info import INFO_VERSION, CacheInfo, load_info
from neurorep.data.manifest import check_manifest, content_key, source_fingerprint, write_manifest
from neurorep.data.sources import Source, SourceItem, get_source, prepare_config
from neurorep.data.windows import PrepareConfig
from neurorep.errors import DataError, LabelFileError, NeurorepError
from neurorep.fileio import building_dir, ensure_writable_dir, json_text, remove_stale_temps, removed_on_error

CACHE_VERSION = INFO_VERSION
COMPLETE = "COMPLETE"


def cache_key(dataset: str, items: list[SourceItem], cfg: PrepareConfig,
              fingerprints: dict[Path, str] | None = None) -> str:
    """Hash of the settings and of every source file's path and content fingerprint (``fingerprints``:
    those already computed, by path)."""
    files = [(f"{it.subject}|{it.session}", p) for it in items for p in (it.path, it.labels) if p is not None]
    return content_key({"v": CACHE_VERSION, "dataset": dataset, "cfg": cfg.model_dump()}, files, fingerprints)


@dataclass
class PrepareReport:
    """What a preparation did: the cache, and recordings skipped with their errors."""

    cache: WindowCache
    reused: bool
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def print_skipped(self) -> None:
        """List the skipped recordings and their errors on stderr, then how many were skipped."""
        for path, err in self.skipped:
            print(f"skipped {path}: {err}", file=sys.stderr)
        if self.skipped:
            print(f"{len(self.skipped)} recording(s) skipped", file=sys.stderr)


def prepare(source: str | Path, out: str | Path, dataset: str = "auto", cfg: PrepareConfig | None = None,
            jobs: int = 1, on_error: Literal["raise", "skip"] = "raise", progress: bool = True) -> PrepareReport:
    """Prepare (or reuse) the window cache of every recording under ``source``.

    Args:
        source: a folder (or file) of recordings.
        out: cache root; the cache goes to ``out/<key>``.
        dataset: source layout name, or ``auto``.
        cfg: preparation settings.
        jobs: processes preparing recordings in parallel.
        on_error: ``raise`` stops at the first bad recording; ``skip`` reports and skips it.
        progress: show a progress bar.
    """
    if cfg is None:  # the layout's own defaults (a missing source is refused by get_source)
        cfg = prepare_config(dataset, Path(source), {})
    src, items = get_source(dataset, Path(source), cfg)
    root = Path(out)
    fingerprints = {p: source_fingerprint(p) for it in items for p in (it.path, it.labels) if p is not None}
    key = cache_key(src.name, items, cfg, fingerprints)
    final = root / key
    if (final / COMPLETE).is_file():
        return PrepareReport(WindowCache(final), reused=True)
    with removed_on_error(root):
        ensure_writable_dir(root, "cache folder")
        remove_stale_temps(root, f".{key}.partial-*")
        skipped = _build(src, items, cfg, root, key, jobs, on_error, progress, source, fingerprints)
    return PrepareReport(WindowCache(final), reused=False, skipped=skipped)


def _build(src: Source, items: list[SourceItem], cfg: PrepareConfig, root: Path, key: str, jobs: int,
           on_error: str, progress: bool, source: str | Path, fingerprints: dict[Path, str]) -> list[tuple[str, str]]:
    """Build cache ``root/key`` in a ``.partial-<pid>`` folder and rename it when complete."""
    with building_dir(root / key, COMPLETE) as tmp:
        (tmp / "x").mkdir()
        results = _run_all(src, items, cfg, tmp, jobs, progress)
        skipped = [(str(items[i].path), r["error"]) for i, r in enumerate(results) if "error" in r]
        if skipped and on_error == "raise":
            raise DataError(skipped[0][1])
        if len(skipped) == len(items):
            raise DataError(f"{source}: every recording failed; first error: {skipped[0][1]}")
        _write_tables(tmp, src, items, cfg, results, key, fingerprints, skipped)
        write_manifest(tmp)
    return skipped


def _prepare_one(src: Source, item: SourceItem, cfg: PrepareConfig, dest: Path) -> dict[str, Any]:
    try:
        rec = src.load(item, cfg.channels)
        w = src.windows(rec, cfg)
    except LabelFileError:
        raise
    except NeurorepError as exc:
        return {"error": str(exc)}
    np.save(dest, w.x)
    for name, arr in {**w.extra, **w.whole}.items():
        if name in w.extra and len(arr) != len(w.y):
            raise DataError(f"{item.path}: per-window array {name!r} has {len(arr)} rows for {len(w.y)} windows")
        folder = dest.parent.parent / f"x_{name}"
        folder.mkdir(exist_ok=True)
        np.save(folder / dest.name, np.ascontiguousarray(arr), allow_pickle=False)
    return {"n": len(w.y), "y": w.y, "onset": w.onset, "sfreq": w.sfreq, "ch_names": w.ch_names,
            "dropped": dict(w.dropped), "n_times": int(w.x.shape[-1]) if len(w.y) else 0,
            "extra": sorted(w.extra), "whole": sorted(w.whole)}


def _run_all(src: Source, items: list[SourceItem], cfg: PrepareConfig, tmp: Path, jobs: int,
             progress: bool) -> list[dict[str, Any]]:
    dests = [tmp / "x" / f"{i:05d}.npy" for i in range(len(items))]
    results: list[dict[str, Any]] = [{} for _ in items]
    if progress:  # rich (and the process pool below) are imported only when used
        from neurorep.progress import progress_bar

        bar = progress_bar("preparing windows", total=len(items))
    else:
        bar = nullcontext(lambda n=1: None)
    with bar as advance:
        if jobs <= 1:
            for i, it in enumerate(items):
                results[i] = _prepare_one(src, it, cfg, dests[i])
                advance()
        else:
            from neurorep.processes import worker_pool

            with worker_pool(jobs) as pool:
                futures = {pool.submit(_prepare_one, src, it, cfg, dests[i]): i for i, it in enumerate(items)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    advance()
    return results


def _write_tables(tmp: Path, src: Source, items: list[SourceItem], cfg: PrepareConfig,
                  results: list[dict[str, Any]], key: str, fingerprints: dict[Path, str],
                  skipped: list[tuple[str, str]]) -> None:
    ok = [i for i, r in enumerate(results) if "error" not in r]
    first = results[ok[0]]
    for i in ok:
        if results[i]["ch_names"] != first["ch_names"] or results[i]["sfreq"] != first["sfreq"]:
            raise DataError(f"{items[i].path}: channels or rate differ from {items[ok[0]].path}")
        if results[i]["extra"] != first["extra"]:
            raise DataError(f"{items[i].path}: per-window arrays {results[i]['extra']} differ from "
                            f"{items[ok[0]].path}'s {first['extra']}")
    subjects = sorted({items[i].subject for i in ok})
    sub_code = {s: k for k, s in enumerate(subjects)}
    cols: dict[str, list[np.ndarray]] = {"recording": [], "subject": [], "y": [], "onset": [], "local": []}
    recordings = []
    classes = src.classes(cfg)
    total: Counter[str] = Counter()
    for i in ok:
        r, it = results[i], items[i]
        n = r["n"]
        cols["recording"].append(np.full(n, i, np.int32))
        cols["subject"].append(np.full(n, sub_code[it.subject], np.int32))
        cols["y"].append(r["y"].astype(np.int64))
        cols["onset"].append(r["onset"].astype(np.float64))
        cols["local"].append(np.arange(n, dtype=np.int32))
        counts = (Counter(classes[c] if c >= 0 else "unlabelled" for c in r["y"].tolist())
                  if src.label_kind == "class" else Counter())
        total.update(counts)
        recordings.append({"id": i, "source": str(it.path), "labels": str(it.labels) if it.labels else None,
                           "subject": it.subject, "session": it.session, "n_windows": n,
                           "label_counts": dict(counts), "dropped": r["dropped"],
                           "fingerprint": fingerprints[it.path], **src.describe(it)})
    table = table_from_numpy({k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()})
    pq.write_table(table, tmp / "meta.parquet")
    info = {"version": CACHE_VERSION, "key": key, "dataset": src.name, "config": cfg.model_dump(),
            "ch_names": first["ch_names"], "sfreq": first["sfreq"], "n_times": first["n_times"],
            "classes": classes, "label_kind": src.label_kind, "extra_arrays": first["extra"],
            "recording_arrays": sorted({n for i in ok for n in results[i]["whole"]}), "subjects": subjects,
            "recordings": recordings,
            "n_windows": int(sum(r["n_windows"] for r in recordings)), "label_counts": dict(total),
            "skipped": [list(x) for x in skipped], **src.info_extra()}
    (tmp / "info.json").write_text(json_text(info, indent=1))


class WindowCache:
    """A finished cache folder: metadata in memory, windows memory-mapped per recording."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / COMPLETE).is_file():
            raise DataError(f"{self.path}: not a complete neurorep cache (no {COMPLETE} marker)")
        try:
            body = json.loads((self.path / "info.json").read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{self.path / 'info.json'}: corrupt cache metadata ({exc}); delete the cache folder "
                            "to rebuild it") from None
        self.info: CacheInfo = load_info(self.path / "info.json", body)
        check_manifest(self.path)
        try:
            table = pq.ParquetFile(self.path / "meta.parquet").read()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path / 'meta.parquet'}: corrupt cache table ({exc}); delete the cache folder "
                            "to rebuild it") from None
        self.meta = table_to_numpy(table, str(self.path / "meta.parquet"))
        if len(self.meta.get("y", ())) != self.info.n_windows:
            raise DataError(f"{self.path / 'meta.parquet'}: {len(self.meta.get('y', ()))} rows but info.json says "
                            f"{self.info.n_windows} windows; delete the cache folder to rebuild it")
        self._maps: dict[int, np.ndarray] = {}
        self._extra: dict[tuple[str, int], np.ndarray] = {}

    def verify(self) -> None:
        """Re-hash every file of the cache against its manifest (:class:`DataError` on any difference)."""
        check_manifest(self.path, full=True)

    def __len__(self) -> int:
        return len(self.meta["y"])

    @property
    def classes(self) -> list[str]:
        return list(self.info.classes)

    @property
    def subjects(self) -> list[str]:
        return list(self.info.subjects)

    def windows(self, recording: int) -> np.ndarray:
        """Memory-mapped ``(n, C, T)`` windows of one recording (opened once per process)."""
        arr = self._maps.get(recording)
        if arr is None:
            arr = self._maps[recording] = self._open("x", recording, "windows")
        return arr

    def array(self, name: str, recording: int) -> np.ndarray:
        """Memory-mapped further array ``name`` of one recording (see ``info.extra_arrays`` and
        ``info.recording_arrays``)."""
        if name not in (*self.info.extra_arrays, *self.info.recording_arrays):
            raise DataError(f"{self.path}: the cache has no array {name!r}")
        key = (name, recording)
        arr = self._extra.get(key)
        if arr is None:
            arr = self._extra[key] = self._open(f"x_{name}", recording, "array")
        return arr

    def _open(self, folder: str, recording: int, what: str) -> np.ndarray:
        """Memory-map ``folder/<recording>.npy`` of the cache (a :class:`DataError` naming it if unreadable)."""
        path = self.path / folder / f"{recording:05d}.npy"
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable cache {what} ({exc}); delete the cache folder to rebuild it") from None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"], state["_extra"] = {}, {}  # memmaps are reopened in each loader worker
        return state

    def summary(self) -> dict[str, Any]:
        """Plain-data description for ``neurorep data info``."""
        i = self.info
        return {"cache": str(self.path), "dataset": i.dataset, "windows": i.n_windows,
                "recordings": len(i.recordings), "subjects": len(i.subjects), "channels": i.ch_names,
                "sfreq": i.sfreq, "window_samples": i.n_times, "label_counts": i.label_counts}


def find_caches(root: str | Path) -> list[WindowCache]:
    """Every complete cache in ``root`` (or ``root`` itself if it is one)."""
    root = Path(root)
    if (root / COMPLETE).is_file():
        return [WindowCache(root)]
    return [WindowCache(p) for p in sorted(root.iterdir()) if (p / COMPLETE).is_file()] if root.is_dir() else []
