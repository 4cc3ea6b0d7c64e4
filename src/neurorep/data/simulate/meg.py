"""Simulated HCP-style MEG corpus (``neurorep data simulate meg``), in the real on-disk layout.

Layout written under ``out``::

    Intra/train/<task>_<subject>_<chunk>.h5     one subject, ``intra_train`` files per task
    Intra/test/...                              the same subject, ``intra_test`` files per task
    Cross/train/...                             ``n_subjects - 1 - test_subjects`` subjects
    Cross/test1/ .. Cross/test<k>/              one unseen subject per folder

Each file holds one dataset ``<task>_<subject>`` of shape ``(248, seconds * sfreq)`` (float32,
tesla). The signal model is in :mod:`neurorep.data.simulate.meg_signals`. Every file is drawn
from its own seed (corpus seed, subject, task, chunk), so the corpus does not depend on ``jobs``.
"""

from __future__ import annotations

from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

import numpy as np

from neurorep.data.corpora import SIMULATORS
from neurorep.data.readers.meg_h5 import HCP_SFREQ, MEG_TASKS
from neurorep.data.simulate.meg_signals import (
    Difficulty,
    make_subject,
    simulate_recording,
)
from neurorep.errors import ConfigError
from neurorep.fileio import atomic_write, ensure_writable_dir
from neurorep.processes import worker_pool
from neurorep.progress import progress_bar

__all__ = ["meg_plan", "simulate_meg"]


def meg_plan(n_subjects: int = 6, test_subjects: int = 3, intra_train: int = 8, intra_test: int = 2,
             cross_train: int = 4, cross_test: int = 2) -> list[tuple[str, str, int, str, int]]:
    """Files to write: ``(folder, subject id, subject index, task prefix, chunk)``.

    Subject 0 is the Intra subject; subjects ``1 .. n-1-test_subjects`` train Cross; the last
    ``test_subjects`` are one per Cross test folder. Subject ids are 6-digit numbers like HCP's.
    """
    if test_subjects < 1 or n_subjects < test_subjects + 2:
        raise ConfigError(f"meg corpus: n_subjects must be at least test_subjects + 2 = {test_subjects + 2} "
                          f"(1 Intra subject, >= 1 Cross training subject, {test_subjects} test subject(s)); "
                          f"got n_subjects={n_subjects}")
    for name, v in (("intra_train", intra_train), ("intra_test", intra_test), ("cross_train", cross_train),
                    ("cross_test", cross_test)):
        if v < 1:
            raise ConfigError(f"meg corpus: {name} (files per task) must be at least 1; got {v}")
    ids = [str(100307 + 10007 * i) for i in range(n_subjects)]
    plan: list[tuple[str, str, int, str, int]] = []
    n_train = n_subjects - 1 - test_subjects

    def add(folder: str, s: int, n_files: int, first_chunk: int) -> None:
        for task in MEG_TASKS:
            for c in range(n_files):
                plan.append((folder, ids[s], s, task, first_chunk + c))

    add("Intra/train", 0, intra_train, 1)
    add("Intra/test", 0, intra_test, intra_train + 1)
    for s in range(1, 1 + n_train):
        add("Cross/train", s, cross_train, 1)
    for k in range(test_subjects):
        add(f"Cross/test{k + 1}", 1 + n_train + k, cross_test, cross_train + 1)
    return plan


def _write_one(out: Path, item: tuple[str, str, int, str, int], seed: int, seconds: float, sfreq: float,
               difficulty: dict[str, float]) -> Path:
    import h5py

    folder, sid, s, task, chunk = item
    d = Difficulty(**difficulty)
    subject = make_subject(sid, np.random.default_rng([seed, s, 0]), d)
    rng = np.random.default_rng([seed, s, 1 + list(MEG_TASKS).index(task), chunk])
    data = simulate_recording(subject, MEG_TASKS[task], int(round(seconds * sfreq)), sfreq, rng, d)
    path = out / folder / f"{task}_{sid}_{chunk}.h5"
    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.create_dataset(f"{task}_{sid}", data=data)

    atomic_write(path, write)
    return path


@SIMULATORS.register("meg", "HCP-style MEG .h5 files (248 magnetometers, 2034 Hz, 4 activities) in Intra/ and Cross/")
def simulate_meg(out: str | Path, n_subjects: int = 6, seed: int = 0, jobs: int = 1, seconds: float = 10.0,
                 sfreq: float = HCP_SFREQ, test_subjects: int = 3, intra_train: int = 8, intra_test: int = 2,
                 cross_train: int = 4, cross_test: int = 2, progress: bool = True, **difficulty: Any) -> list[Path]:
    """Write the corpus into ``out``; returns the files written.

    Args:
        out: root folder (``Intra/`` and ``Cross/`` are created in it).
        n_subjects: all subjects: 1 Intra + Cross training + ``test_subjects``.
        seed: corpus seed.
        jobs: processes writing files.
        seconds: length of each file (HCP files are about 17.5 s).
        sfreq: sampling rate (HCP: 2034 Hz).
        test_subjects: Cross test folders, one unseen subject each.
        intra_train, intra_test, cross_train, cross_test: files per task and subject in each part.
        difficulty: fields of :class:`~neurorep.data.simulate.meg_signals.Difficulty` (e.g. ``head_shift=0.08``).
    """
    known = set(Difficulty.__dataclass_fields__)
    bad = sorted(set(difficulty) - known)
    if bad:
        raise ConfigError(f"corpus 'meg' has no option {bad[0]!r}; difficulty options are: {', '.join(sorted(known))}")
    if seconds <= 0 or sfreq <= 0:
        raise ConfigError(f"meg corpus: seconds and sfreq must be positive; got {seconds} and {sfreq}")
    out = Path(out)
    plan = meg_plan(n_subjects, test_subjects, intra_train, intra_test, cross_train, cross_test)
    for folder in sorted({p[0] for p in plan}):
        ensure_writable_dir(out / folder, "MEG corpus folder")
    paths: list[Path] = []
    args = (seed, float(seconds), float(sfreq), {k: float(v) for k, v in difficulty.items()})
    with progress_bar("simulating MEG", total=len(plan), enabled=progress) as advance:
        if jobs <= 1:
            for item in plan:
                paths.append(_write_one(out, item, *args))
                advance()
        else:
            with worker_pool(jobs) as pool:
                futures = [pool.submit(_write_one, out, item, *args) for item in plan]
                for fut in as_completed(futures):
                    paths.append(fut.result())
                    advance()
    return sorted(paths)
