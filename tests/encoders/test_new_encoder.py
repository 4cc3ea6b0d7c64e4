"""Adding an encoder: one class in one file, registered, then used by pretraining and the probe.

The encoder below is everything a new architecture needs (the docs' "A new encoder" section
quotes it and the line count this test measures); nothing else in the package is edited.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from torch import nn

from neurorep.checks import check_input, check_int
from neurorep.encoders import ENCODERS, Encoder, create_encoder, register_encoder
from neurorep.errors import ConfigError
from neurorep.evaluation.probe import linear_probe
from neurorep.training import PretrainModule, build_trainer, embed, fit
from neurorep.training.distill import StagingNet

NAME = "toy_conv_gru"


# --------------------------------------------------------------------------- the new encoder (one class)
class ConvGRUEncoder(Encoder):
    """A strided convolution then a GRU: ``x[B, C, T] -> tokens[B, T // stride, D]``."""

    def __init__(self, *, n_channels: int, n_times: int, embed_dim: int = 32, stride: int = 10) -> None:
        super().__init__()  # records n_channels, n_times, embed_dim, stride in self.config
        for name in ("n_channels", "n_times", "embed_dim", "stride"):
            check_int(NAME, name, self.config[name])
        self.n_channels, self.embed_dim, self.n_tokens = n_channels, embed_dim, n_times // stride
        self.conv = nn.Conv1d(n_channels, embed_dim, stride, stride=stride)
        self.gru = nn.GRU(embed_dim, embed_dim, batch_first=True)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict:
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 8}

    def forward_intermediates(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        check_input(self, x, self.n_channels)
        conv = torch.relu(self.conv(x))
        return {"conv": conv, "tokens": self.gru(conv.transpose(1, 2))[0]}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_intermediates(x)["tokens"]
# --------------------------------------------------------------------------- end of the new encoder


ENCODER_LINES = len(inspect.getsource(ConvGRUEncoder).splitlines()) + 1  # + the @register_encoder line
C, T = 2, 200


@pytest.fixture
def registered():
    """Register the encoder for one test (the registry is left as it was afterwards)."""
    register_encoder(NAME)(ConvGRUEncoder)
    yield ConvGRUEncoder
    ENCODERS._items.pop(NAME, None)
    ENCODERS._descriptions.pop(NAME, None)


def _windows(n: int = 48, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes: a 5 Hz or a 20 Hz sine (random phase) in noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    t = torch.arange(T) / 100.0
    phase = torch.rand(n, C, 1, generator=g) * 6.28
    freq = torch.where(y == 0, 5.0, 20.0)[:, None, None]
    return torch.sin(6.28 * freq * t + phase) + 0.3 * torch.randn(n, C, T, generator=g), y


def test_the_new_encoder_is_one_short_class() -> None:
    assert ENCODER_LINES <= 30, ENCODER_LINES


def test_registered_encoder_builds_by_name_saves_and_declares_its_capabilities(registered, tmp_path) -> None:
    from neurorep.export.hub import from_pretrained, save_pretrained

    enc = create_encoder(NAME, n_channels=C, n_times=T)
    assert enc.config == {"n_channels": C, "n_times": T, "embed_dim": 32, "stride": 10}
    assert enc.supports("intermediates") and enc.supports("tiny") and not enc.supports("layer_groups")
    assert registered.tiny(C, T).embed_dim == 8
    save_pretrained(enc.eval(), tmp_path / "m")
    x = _windows(3)[0]
    torch.testing.assert_close(from_pretrained(tmp_path / "m")(x), enc(x))
    with pytest.raises(ConfigError, match="stride"):
        create_encoder(NAME, n_channels=C, n_times=T, stride=0)
    with pytest.raises(ConfigError, match=f"{NAME}.*does not offer 'spatial_sequence'"):
        enc.spatial_features(x)


def test_pretraining_objective_and_probe_use_it_with_no_edit_elsewhere(registered, tmp_path) -> None:
    from neurorep.objectives import create_objective

    torch.manual_seed(0)
    x, y = _windows()
    enc = create_encoder(NAME, n_channels=C, n_times=T, embed_dim=16)
    module = PretrainModule(enc, create_objective("masked_prediction", span=20, seed=0), lr=1e-2, warmup_epochs=0)
    loader = torch.utils.data.DataLoader([{"x": xi, "y": yi} for xi, yi in zip(x, y, strict=True)], batch_size=16)
    trainer = build_trainer(tmp_path / "run", max_epochs=2, monitor=None, patience=None, progress=False)
    result = fit(module, loader, None, trainer)
    assert result.final_export is not None and (result.final_export / "encoder" / "config.json").is_file()
    out = embed(enc, loader)
    assert out["embedding"].shape == (len(x), 16) and np.isfinite(out["embedding"]).all()
    half = len(x) // 2
    probe = linear_probe(out["embedding"][:half], out["y"][:half], out["embedding"][half:], out["y"][half:],
                         ["5 Hz", "20 Hz"])
    assert probe.metrics["balanced_accuracy"] > 0.5  # the two rhythms are told apart


def test_the_intermediates_capability_feeds_the_staging_model(registered) -> None:
    """Distillation's per-epoch staging model asks for ``forward_intermediates``; no edit needed."""
    enc = create_encoder(NAME, n_channels=C, n_times=T, embed_dim=8)
    logits, maps = StagingNet(enc, n_classes=3)(_windows(4)[0])
    assert logits.shape == (4, T // 10, 3) and set(maps) == {"conv", "tokens"}
