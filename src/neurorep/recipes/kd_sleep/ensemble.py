"""Cross-fitted student ensembles: one member per inner fold of the non-test subjects, decisions tuned on
the members' out-of-fold predictions.

With ``cross_fit: k`` a student run splits its training and validation subjects into ``k`` groups; member
``i`` trains on the other groups and keeps the checkpoint with the lowest cross-entropy on group ``i``.
Every non-test subject is thus predicted once by a member that never trained on it (out-of-fold), so
decision offsets (``decision: val_tuned``) are tuned on all of them rather than on the one or two
validation subjects of a small corpus, and test subjects are predicted by the average of the members'
log-probabilities. The test subjects are used by nothing but the final evaluation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurorep.data.splits import Split
from neurorep.errors import ConfigError, DataError
from neurorep.recipes.kd_sleep.data import KDData
from neurorep.training.distill import StagingNet, load_staging_net

ENSEMBLE_FILE = "ensemble.json"


class EnsembleNet(nn.Module):
    """Members' mean log-probabilities as logits (their softmax is the normalised geometric mean of the
    members' probabilities); features are the first member's. Adding the same offsets to every member's
    head bias shifts the mean by exactly those offsets, so decision offsets fold into the members."""

    def __init__(self, members: list[StagingNet]) -> None:
        super().__init__()
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        outs = [m(x) for m in self.members]
        logp = torch.stack([torch.log_softmax(z, -1) for z, _ in outs]).mean(0)
        return logp, outs[0][1]

    def fold_offsets(self, offsets: np.ndarray) -> None:
        from neurorep.evaluation.decision import fold_offsets

        for m in self.members:
            fold_offsets(m.head[-1], offsets)

    def export(self, directory: str | Path, class_names: list[str]) -> Path:
        """``directory/member<i>/{encoder,head}`` and ``directory/ensemble.json``."""
        directory = Path(directory)
        for i, m in enumerate(self.members):
            m.export(directory / f"member{i}", class_names)
        (directory / ENSEMBLE_FILE).write_text(json.dumps({"members": len(self.members), "classes": class_names}))
        return directory


def load_run_net(directory: Path) -> tuple[nn.Module, list[str]]:
    """A staging network exported by a run: one :class:`StagingNet`, or an :class:`EnsembleNet`."""
    spec = directory / ENSEMBLE_FILE
    if not spec.is_file():
        return load_staging_net(directory)
    try:
        n = int(json.loads(spec.read_text())["members"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{spec}: not an ensemble description ({exc})") from None
    loaded = [load_staging_net(directory / f"member{i}") for i in range(n)]
    return EnsembleNet([m for m, _ in loaded]).eval(), loaded[0][1]


def inner_folds(data: KDData, k: int) -> list[tuple[KDData, list[str]]]:
    """``k`` inner folds of the training + validation subjects: per fold a :class:`KDData` whose ``val``
    is that fold's subjects and ``train`` the others (``test`` unchanged), and the held-out subject names.
    Subjects are dealt to folds in sorted order (round robin), so the folds are fixed by the split."""
    names = sorted({*data.split_subjects.get("train", []), *data.split_subjects.get("val", [])})
    if not 2 <= k <= len(names):
        raise ConfigError(f"cross_fit={k}: needs 2 to {len(names)} inner folds (the training and validation "
                          f"subjects of this split)")
    ids = {s: i for i, s in enumerate(data.table.subjects)}
    subj = np.asarray(data.table.meta["subject"])
    rows = np.concatenate([data.split.train, data.split.val])
    out = []
    for i in range(k):
        held = names[i::k]
        mask = np.isin(subj[rows], [ids[s] for s in held])
        split = Split(train=np.sort(rows[~mask]), val=np.sort(rows[mask]), test=data.split.test)
        parts = {"train": [s for s in names if s not in held], "val": held,
                 "test": list(data.split_subjects.get("test", []))}
        out.append((KDData(data.caches, data.classes, split, parts), held))
    return out
