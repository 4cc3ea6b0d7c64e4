"""Distributed data parallel training: 2 CPU processes (gloo) reproduce single-process training.

With ``DistributedSampler`` (no shuffle) rank ``r`` takes samples ``r, r + 2, ...``; DDP averages
the two ranks' gradients, which equals the gradient of the mean loss over the joint batch of
``2 * b`` samples. So 2 processes at batch ``b`` and 1 process at batch ``2 * b`` must end with
the same weights (a model without BatchNorm or dropout, whose output does not depend on how the
batch is split).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neurorep.export.hub import load_state
from tests.training.helpers import LIGHTNING_WARNINGS

pytestmark = LIGHTNING_WARNINGS

SCRIPT = '''
"""Train a tiny transformer classifier for a few steps; rank 0 exports the weights."""
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from neurorep.encoders import create_encoder
from neurorep.training import SupervisedModule, build_trainer, fit, seed_everything


class Windows(Dataset):
    def __init__(self, n=32):
        g = torch.Generator().manual_seed(0)
        self.y = torch.arange(n) % 3
        self.x = torch.randn(n, 2, 100, generator=g) + self.y[:, None, None].float()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i]}


def train(out, devices, batch_size, strategy="auto"):
    seed_everything(0)
    enc = create_encoder("transformer", n_channels=2, n_times=100, embed_dim=16, patch_size=20,
                         n_layers=1, n_heads=2, dropout=0.0)
    module = SupervisedModule(enc, n_classes=3, lr=1e-2, warmup_epochs=0, max_epochs=2, optimizer="sgd")
    trainer = build_trainer(out, max_epochs=2, monitor=None, patience=None, progress=False,
                            accelerator="cpu", devices=devices, strategy=strategy, enable_checkpointing=False)
    # Lightning would insert a *shuffling* DistributedSampler; an explicit one without shuffling
    # gives rank r the samples r, r + world_size, ... so that the joint batch is the single run's.
    sampler = DistributedSampler(Windows(), num_replicas=trainer.world_size, rank=trainer.global_rank, shuffle=False)
    loader = DataLoader(Windows(), batch_size=batch_size, sampler=sampler)
    fit(module, loader, None, trainer)
    return trainer


if __name__ == "__main__":
    trainer = train(Path(sys.argv[1]), devices=2, batch_size=int(sys.argv[2]), strategy="ddp")
    # Lightning's own distributed banner is silenced with its other info messages; the trainer says it
    print(f"rank {trainer.global_rank}: world_size={trainer.world_size}", file=sys.stderr)
'''


def _load_script(path: Path):
    spec = importlib.util.spec_from_file_location("ddp_script", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _weights(run: Path) -> dict[str, torch.Tensor]:
    state = load_state(run / "export" / "final" / "encoder" / "model.safetensors")
    state.update({f"head.{k}": v for k, v in load_state(run / "export" / "final" / "head" / "model.safetensors").items()})
    return state


def test_two_process_ddp_matches_single_process(tmp_path: Path) -> None:
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "PL_DISABLE_FORK": "1"}
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "ddp"), "4"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 0: world_size=2" in proc.stderr and "rank 1: world_size=2" in proc.stderr, proc.stderr[-3000:]

    single = _load_script(script).train(tmp_path / "single", devices=1, batch_size=8)
    assert single.world_size == 1
    a, b = _weights(tmp_path / "ddp"), _weights(tmp_path / "single")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=lambda m, k=key: f"{k}: {m}")


def test_ddp_with_different_global_batch_differs(tmp_path: Path) -> None:
    """Control: the comparison above is sensitive (a different global batch changes the weights)."""
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    mod = _load_script(script)
    mod.train(tmp_path / "b8", devices=1, batch_size=8)
    mod.train(tmp_path / "b4", devices=1, batch_size=4)
    a, b = _weights(tmp_path / "b8"), _weights(tmp_path / "b4")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) > 1e-3


def test_build_trainer_passes_strategy_and_nodes(tmp_path: Path) -> None:
    from neurorep.training import build_trainer

    trainer = build_trainer(tmp_path, max_epochs=1, accelerator="cpu", devices=1, strategy="ddp", progress=False)
    assert type(trainer.strategy).__name__ == "DDPStrategy"
    assert trainer.num_nodes == 1
    with pytest.raises(Exception, match="strategy"):
        build_trainer(tmp_path, max_epochs=1, accelerator="cpu", strategy="no_such_strategy", progress=False)
