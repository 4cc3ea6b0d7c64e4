"""DistillModule / StagingNet: the teacher stays frozen, detach_head isolates the encoder, export round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from neurorep.encoders import create_encoder
from neurorep.objectives.distill import Distillation
from neurorep.training import build_trainer, fit
from neurorep.training.distill import DistillModule, StagingNet, load_staging_net


def _net(n_channels: int, epoch: int, seed: int, detach: bool = False) -> StagingNet:
    torch.manual_seed(seed)
    enc = create_encoder("utime", n_channels=n_channels, n_times=4 * epoch, epoch_samples=epoch, filters=[4, 8],
                         pools=[4, 3], dilation=1, embed_dim=8)
    return StagingNet(enc, 3, detach_head=detach)


class _Dicts(TensorDataset):
    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:  # type: ignore[override]
        x, ecg, y = super().__getitem__(i)
        return {"x": x, "ecg": ecg, "y": y}


def _data(n: int = 16) -> _Dicts:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n, 4), generator=g)
    x = torch.randn(n, 2, 4 * 96, generator=g) + y.repeat_interleave(96, 1)[:, None].float()
    ecg = torch.randn(n, 1, 4 * 24, generator=g) + 0.5 * y.repeat_interleave(24, 1)[:, None].float()
    return _Dicts(x, ecg, y)


@pytest.mark.slow  # a full Lightning fit: ~10-30 s on a shared core
def test_teacher_frozen_and_student_learns(tmp_path: Path) -> None:
    teacher, student = _net(2, 96, 0).eval(), _net(1, 24, 1)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    obj = Distillation(ce_weight=1.0, kd_weight=1.0, at_weight=1.0, temperature=2.0)
    module = DistillModule(student, obj, 3, teacher=teacher, lr=5e-3, max_epochs=6, class_names=["a", "b", "c"])
    dl = DataLoader(_data(), batch_size=8)
    student.eval()
    with torch.no_grad():
        first = obj(student, next(iter(dl)), teacher)["loss"].item()
    trainer = build_trainer(tmp_path, 6, monitor="val/ce", patience=None, progress=False)
    res = fit(module, dl, DataLoader(_data(8), batch_size=8), trainer, restore_best=False)
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
    student.eval()
    with torch.no_grad():
        assert obj(student, next(iter(dl)), teacher)["loss"].item() < first
    net, names = load_staging_net(res.out_dir / "export" / "final")
    assert names == ["a", "b", "c"]
    x = _data(2)[0]["ecg"][None]
    with torch.no_grad():
        torch.testing.assert_close(net(x)[0], student(x)[0])


def test_detach_head_keeps_ce_out_of_the_encoder() -> None:
    student = _net(1, 24, 2, detach=True)
    batch = next(iter(DataLoader(_data(4), batch_size=4)))
    Distillation(ce_weight=1.0)(student, batch)["loss"].backward()
    assert all(p.grad is None for p in student.encoder.parameters())
    assert all(p.grad is not None for p in student.head.parameters())
    logits, feats = student(batch["ecg"])
    assert logits.shape == (4, 4, 3) and feats["bottleneck"].shape[0] == 4 and "enc0" in feats
