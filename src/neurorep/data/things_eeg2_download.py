"""Download Things-EEG-2 (preprocessed EEG and image set) from its public OSF project.

Things-EEG-2 (Gifford, Dwivedi, Roig & Cichy, 2022) is published on OSF at https://osf.io/3jk45/:
the preprocessed EEG is the component https://osf.io/anp5v/ and the image set (with
``image_metadata.npy``) the component https://osf.io/y63gw/. This module walks a component's
``osfstorage`` listing through the OSF API and downloads every file (or those whose path contains
one of ``--match``), unpacking ``.zip`` archives in place. It needs internet; offline it stops with
a :class:`~neurorep.errors.DataError` that says where to download the files by hand.

Command::

    python -m neurorep.data.things_eeg2_download --out data/things-eeg2 [--what preprocessed image_set]
        [--match sub-01 sub-02]

After downloading, point a config's ``data.source`` (or ``neurorep benchmark eeg-image --data``) at
``--out``; the first run converts the pickled ``.npy`` files, safely, into the plain window cache.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from neurorep.errors import DataError, NeurorepError
from neurorep.fileio import ensure_writable_dir

__all__ = ["OSF_API", "OSF_COMPONENTS", "download_things_eeg2"]

OSF_API = "https://api.osf.io/v2"
#: what -> (OSF component id, sub-folder of --out it goes to)
OSF_COMPONENTS = {"preprocessed": ("anp5v", "preprocessed_data"), "image_set": ("y63gw", "image_set")}


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"cannot reach {url} ({reason}); are you offline? Download Things-EEG-2 by hand from "
                        "https://osf.io/3jk45/ (preprocessed EEG: https://osf.io/anp5v/, images: "
                        "https://osf.io/y63gw/) and point data.source at the folder") from None
    except json.JSONDecodeError:
        raise DataError(f"{url}: the OSF API did not answer with JSON") from None


def _walk(url: str, timeout: float) -> list[tuple[str, str, int]]:
    """(path, download url, size) of every file under an OSF folder listing URL (follows pages)."""
    files: list[tuple[str, str, int]] = []
    next_url: str | None = url
    while next_url:
        page = _get_json(next_url, timeout)
        for item in page.get("data", []):
            attr = item.get("attributes", {})
            if attr.get("kind") == "folder":
                files += _walk(item["relationships"]["files"]["links"]["related"]["href"], timeout)
            else:
                files.append((attr.get("materialized_path", attr.get("name", "")).lstrip("/"),
                              item["links"]["download"], int(attr.get("size") or 0)))
        next_url = (page.get("links") or {}).get("next")
    return files


def download_things_eeg2(out: str | Path, what: tuple[str, ...] = ("preprocessed", "image_set"),
                         match: tuple[str, ...] = (), api: str = OSF_API, timeout: float = 30.0,
                         progress: bool = True) -> list[Path]:
    """Download the chosen Things-EEG-2 components into ``out``; returns the files written.

    Files already present with the listed size are skipped; ``.zip`` files are unpacked beside
    themselves.
    """
    unknown = [w for w in what if w not in OSF_COMPONENTS]
    if unknown:
        raise DataError(f"unknown part {unknown[0]!r}; choose from {', '.join(OSF_COMPONENTS)}")
    out = ensure_writable_dir(out, "download folder")
    written: list[Path] = []
    for part in what:
        node, sub = OSF_COMPONENTS[part]
        listing = _walk(f"{api}/nodes/{node}/files/osfstorage/", timeout)
        for rel, url, size in listing:
            if match and not any(m in rel for m in match):
                continue
            dest = out / sub / rel
            if dest.is_file() and dest.stat().st_size == size:
                written.append(dest)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if progress:
                print(f"downloading {rel} ({size / 1e6:.0f} MB)", file=sys.stderr)
            tmp = dest.with_name(dest.name + ".part")
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp, tmp.open("wb") as fh:
                    shutil.copyfileobj(resp, fh, length=1 << 20)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                tmp.unlink(missing_ok=True)
                raise DataError(f"download of {url} failed ({getattr(exc, 'reason', exc)})") from None
            tmp.replace(dest)
            written.append(dest)
            if dest.suffix == ".zip":
                try:
                    with zipfile.ZipFile(dest) as zf:
                        zf.extractall(dest.parent)
                except zipfile.BadZipFile:
                    raise DataError(f"{dest}: downloaded archive is corrupt; delete it and run again") from None
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neurorep.data.things_eeg2_download",
                                     description="Download Things-EEG-2 from OSF (https://osf.io/3jk45/).")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--what", nargs="+", default=list(OSF_COMPONENTS), choices=list(OSF_COMPONENTS))
    parser.add_argument("--match", nargs="*", default=[], help="only files whose path contains one of these")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        files = download_things_eeg2(args.out, tuple(args.what), tuple(args.match), timeout=args.timeout)
    except NeurorepError as exc:
        print(f"neurorep: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(files)} files in {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
