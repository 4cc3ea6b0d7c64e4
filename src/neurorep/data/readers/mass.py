"""Montreal Archive of Sleep Studies (MASS) layout: ``SS<k>/<id> PSG.edf`` + ``SS<k>/<id> Base.edf``.

* ``<id>`` reads ``01-0<k>-<nnnn>`` (cohort 01, subset k, subject n); ``<id> Base.edf`` is an
  annotation-only EDF+ with ``Sleep stage W/1/2/3/4/R/?`` per scoring epoch.
* SS1 and SS3 are scored with AASM rules in 30-s epochs, SS2, SS4 and SS5 with R&K rules in 20-s
  epochs; 20-s scorings are mapped onto 30-s windows by :func:`neurorep.data.rk_epochs.rk20_to_30`.
* Channels are picked by name with MASS's varying references allowed: ``EEG C4`` matches
  ``EEG C4-CLE`` or ``EEG C4-LER``, ``ECG`` matches ``ECG I``. The picked channels are renamed to
  the names asked for, so nights of different subsets share one channel list.
* The recording is cropped to start at the first scored epoch, so 30-s windows cut from t = 0
  line up with the scoring.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from neurorep.data.readers.edf import (
    read_annotations_edf,
    read_edf,
    read_edf_channels_info,
)
from neurorep.data.recording import Annotations, Recording
from neurorep.data.rk_epochs import Rule, epoch_length, rk20_to_30
from neurorep.errors import DataError, closest

#: Scoring rules per subset.
MASS_SCORING = {"SS1": "AASM", "SS2": "R&K", "SS3": "AASM", "SS4": "R&K", "SS5": "R&K"}
_ID = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")


def pair_mass(root: str | Path) -> list[tuple[Path, Path, str, str]]:
    """``(psg, base, subset, subject id)`` for every ``* PSG.edf`` under ``root`` with its ``* Base.edf``.

    A PSG without its annotation file is an error naming it.
    """
    root = Path(root)
    out, missing = [], []
    for psg in sorted(root.rglob("* PSG.edf")):
        sid = psg.name[: -len(" PSG.edf")]
        base = psg.with_name(f"{sid} Base.edf")
        if not base.is_file():
            missing.append(psg.name)
            continue
        out.append((psg, base, mass_subset(psg), sid))
    if missing:
        raise DataError(f"{root}: no '<id> Base.edf' annotations for {', '.join(missing[:5])}")
    return out


def mass_subset(psg: str | Path) -> str:
    """``SS<k>`` from the folder name, else from the id (``01-03-0001`` -> ``SS3``)."""
    psg = Path(psg)
    if re.fullmatch(r"SS\d", psg.parent.name):
        return psg.parent.name
    m = _ID.match(psg.name.split(" ")[0])
    if m is None:
        raise DataError(f"{psg}: cannot tell the MASS subset (expected a folder SS1..SS5 or an id like 01-03-0001)")
    return f"SS{int(m.group(2))}"


def resolve_channel(labels: list[str], wanted: str, source: str = "") -> str:
    """The file label for ``wanted``: an exact (case-insensitive) match, else the single label
    that starts with ``wanted`` followed by ``-`` or a space (``EEG C4`` -> ``EEG C4-LER``)."""
    low = [lab.lower() for lab in labels]
    if wanted.lower() in low:
        return labels[low.index(wanted.lower())]
    cands = [lab for lab in labels if re.match(re.escape(wanted.lower()) + r"[- ]", lab.lower())]
    where = f"{source}: " if source else ""
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        raise DataError(f"{where}channel {wanted!r} is ambiguous; it matches {', '.join(cands)}; give the full name")
    hint = closest(wanted, labels)
    raise DataError(f"{where}channel {wanted!r} not found; channels are: {', '.join(labels)}"
                    + (f" (did you mean {hint!r}?)" if hint else ""))


def read_mass_annotations(base: str | Path, rule: Rule = "dominant") -> Annotations:
    """Stage annotations of ``<id> Base.edf`` on 30-s windows (20-s R&K scorings are mapped)."""
    ann = read_annotations_edf(base)
    stages = [i for i, d in enumerate(ann.description) if d.startswith("Sleep stage") or d == "Movement time"]
    if not stages:
        raise DataError(f"{base}: no 'Sleep stage ...' annotations")
    ann = Annotations(ann.onset[stages], ann.duration[stages], [ann.description[i] for i in stages])
    ep = epoch_length(ann)
    if abs(ep - 20.0) < 1e-3:
        return rk20_to_30(ann, rule)
    if abs(ep - 30.0) > 1e-3:
        raise DataError(f"{base}: scoring epochs last {ep:g} s; expected 20 (R&K) or 30 (AASM)")
    return ann


def read_mass(psg: str | Path, channels: list[str], base: str | Path | None = None, subject: str | None = None,
              session: str = "0", rule: Rule = "dominant") -> Recording:
    """One MASS night: ``channels`` (names resolved as above, one sampling rate) with its 30-s stages,
    cropped to start at the first scored epoch."""
    psg = Path(psg)
    labels = [lab for lab, _, _ in read_edf_channels_info(psg)]
    found = [resolve_channel(labels, c, str(psg)) for c in channels]
    rec = read_edf(psg, channels=found, subject=subject, session=session)
    rec.ch_names = list(channels)
    if base is not None:
        ann = read_mass_annotations(base, rule)
        rec = crop_to_scoring(rec, ann)
    return rec


def crop_to_scoring(rec: Recording, ann: Annotations) -> Recording:
    """``rec`` cut to start at the first annotation's onset, with onsets shifted to match."""
    t0 = float(ann.onset.min()) if len(ann) else 0.0
    if t0 >= rec.duration:
        raise DataError(f"{rec.source}: the scoring starts at {t0:.0f}s, after the PSG ends ({rec.duration:.0f}s)")
    start = int(round(t0 * rec.sfreq))
    rec.data = np.ascontiguousarray(rec.data[:, start:])
    rec.extra = {k: (v[int(round(t0 * fs)):], fs) for k, (v, fs) in rec.extra.items()}
    rec.annotations = Annotations(ann.onset - start / rec.sfreq, ann.duration, ann.description)
    return rec
