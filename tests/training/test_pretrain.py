"""PretrainModule with a tiny encoder and a tiny reconstruction objective; embed()."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.export.hub import load_config, load_state, load_strict
from neurorep.objectives.base import Objective
from neurorep.training import PretrainModule, build_trainer, embed, fit, seed_everything
from tests.training.helpers import LIGHTNING_WARNINGS, C, D, T, TinyEncoder

pytestmark = LIGHTNING_WARNINGS

N = 32


class NoisyReconstruction(Objective):
    """Denoising reconstruction: encode ``x + noise``, decode ``x`` with a linear head."""

    def __init__(self, noise: float = 0.1) -> None:
        super().__init__(noise=noise)
        self.noise = noise

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        self.shape = (n_channels, n_times)
        self.decoder = nn.Linear(embed_dim, n_channels * n_times)

    def forward(self, encoder: Encoder, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"]
        z = encoder(x + self.noise * torch.randn_like(x))
        recon = self.decoder(z).view(-1, *self.shape)
        mse = torch.mean((recon - x) ** 2)
        return {"loss": mse, "mse": mse.detach(), "latent_norm": z.detach().norm(dim=1).mean()}


class DictDataset(Dataset):
    def __init__(self, n: int = N, seed: int = 0) -> None:
        base = torch.randn(4, C, T, generator=torch.Generator().manual_seed(100))  # shared prototypes
        g = torch.Generator().manual_seed(seed)
        self.x = base[torch.arange(n) % 4] + 0.1 * torch.randn(n, C, T, generator=g)
        self.y = torch.arange(n) % 3

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "x": self.x[i],
            "y": self.y[i].long(),
            "subject": torch.tensor(i // 8),
            "recording": torch.tensor(i // 4),
            "index": torch.tensor(i),
        }


def _loaders(shuffle: bool = True) -> tuple[DataLoader, DataLoader]:
    return DataLoader(DictDataset(), batch_size=8, shuffle=shuffle), DataLoader(DictDataset(seed=1), batch_size=16)


def _run(out_dir: Path, trainer_epochs: int, ckpt_path: str | None = None, seed: int = 0) -> PretrainModule:
    seed_everything(seed)
    module = PretrainModule(TinyEncoder(), NoisyReconstruction(), lr=3e-2, warmup_epochs=0.5, max_epochs=2)
    train, val = _loaders()
    trainer = build_trainer(out_dir, max_epochs=trainer_epochs, progress=False, accelerator="cpu", log_every_n_steps=1)
    fit(module, train, val, trainer, ckpt_path=ckpt_path)
    return module


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    out = tmp_path_factory.mktemp("straight")
    module = _run(out, trainer_epochs=2)
    return out, _state(module)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_trains_and_writes_run_directory(straight: tuple[Path, dict[str, torch.Tensor]]) -> None:
    out, state = straight
    rows = _rows(out / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert "train/loss_step" not in rows[0]
    for key in ("train/loss", "train/mse", "train/latent_norm", "val/loss", "val/mse", "lr"):
        assert all(r[key] for r in rows), key
    assert float(rows[1]["train/loss"]) < float(rows[0]["train/loss"])
    assert float(rows[1]["val/loss"]) < float(rows[0]["val/loss"])
    assert list((out / "tb").glob("events.out.tfevents.*"))
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / "checkpoints" / "best.ckpt").is_file()
    # final weights as safetensors, loadable strictly into a fresh encoder
    final = out / "export" / "final"
    assert load_config(final / "encoder")["architecture"] == "tiny_test_encoder"
    encoder = load_strict(TinyEncoder(), load_state(final / "encoder" / "model.safetensors"))
    for k, v in encoder.state_dict().items():
        assert torch.equal(v, state[f"encoder.{k}"])
    assert (final / "objective" / "model.safetensors").is_file()
    assert (out / "export" / "best" / "encoder" / "model.safetensors").is_file()


def test_same_seed_same_weights(straight: tuple[Path, dict[str, torch.Tensor]], tmp_path: Path) -> None:
    _, reference = straight
    again = _state(_run(tmp_path, trainer_epochs=2))
    assert reference.keys() == again.keys()
    for k in reference:
        assert torch.equal(reference[k], again[k]), k


def test_resume_matches_straight_run(straight: tuple[Path, dict[str, torch.Tensor]], tmp_path: Path) -> None:
    _, reference = straight
    first = _state(_run(tmp_path, trainer_epochs=1))
    assert any(not torch.equal(first[k], reference[k]) for k in reference)
    resumed = _state(_run(tmp_path, trainer_epochs=2, ckpt_path="last", seed=123))  # seed overridden by the ckpt
    for k in reference:
        torch.testing.assert_close(resumed[k], reference[k], rtol=1e-5, atol=1e-6, msg=k)
    assert [int(r["epoch"]) for r in _rows(tmp_path / "metrics.csv")] == [0, 1]


def test_objective_heads_built_from_encoder_config() -> None:
    module = PretrainModule(TinyEncoder(n_channels=3, n_times=8, embed_dim=5), NoisyReconstruction())
    assert module.objective.decoder.in_features == 5
    assert module.objective.decoder.out_features == 3 * 8
    names = {n.split(".")[0] for n, _ in module.named_parameters()}
    assert names == {"encoder", "objective"}


def test_missing_shape_is_a_config_error() -> None:
    encoder = TinyEncoder()
    encoder.config = {"embed_dim": D}
    with pytest.raises(ConfigError, match="n_channels"):
        PretrainModule(encoder, NoisyReconstruction())
    module = PretrainModule(encoder, NoisyReconstruction(), n_channels=C, n_times=T)
    assert module.hparams.n_times == T


def test_embed_shapes_and_order() -> None:
    torch.manual_seed(0)
    encoder = TinyEncoder().train()
    dataset = DictDataset(n=20)
    out = embed(encoder, DataLoader(dataset, batch_size=6, shuffle=False))
    assert set(out) == {"embedding", "y", "subject", "recording", "index"}
    assert out["embedding"].shape == (20, D) and out["embedding"].dtype == np.float32
    np.testing.assert_array_equal(out["index"], np.arange(20))
    np.testing.assert_array_equal(out["y"], dataset.y.numpy())
    np.testing.assert_array_equal(out["subject"], np.arange(20) // 8)
    encoder.eval()
    with torch.no_grad():
        expected = encoder(dataset.x[5:6]).numpy()
    np.testing.assert_allclose(out["embedding"][5:6], expected, rtol=1e-5, atol=1e-6)
    # training mode is restored, only present keys are returned
    encoder.train()
    only_x = [{"x": dataset.x[:4]}]
    assert set(embed(encoder, only_x)) == {"embedding"}
    assert encoder.training
