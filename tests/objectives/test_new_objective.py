"""Adding an objective: one class in one file, registered, then trained alone and inside ``sum``.

The objective below is everything a new method needs (the docs' "A new objective" section quotes
it and the line count this test measures); nothing else in the package is edited.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from neurorep.checks import check_positive
from neurorep.encoders import ENCODERS, Encoder
from neurorep.errors import ConfigError
from neurorep.objectives import OBJECTIVES, Objective, create_objective, register_objective
from neurorep.training import PretrainModule, build_trainer, fit

NAME = "toy_band_stats"


# --------------------------------------------------------------------------- the new objective (one class)
class BandStats(Objective):
    """Predict each channel's log standard deviation from the embedding: ``{"loss", "stats_mse"}``."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__(weight=weight)
        self.weight = check_positive(NAME, "weight", weight)
        self.head: nn.Module | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        self.head = nn.Linear(embed_dim, n_channels)

    def forward(self, encoder: Encoder, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"]
        target = x.std(dim=-1).clamp_min(1e-6).log()
        mse = ((self.head(encoder(x)) - target) ** 2).mean()
        return {"loss": self.weight * mse, "stats_mse": mse.detach()}
# --------------------------------------------------------------------------- end of the new objective


OBJECTIVE_LINES = len(inspect.getsource(BandStats).splitlines()) + 1  # + the @register_objective line
C, T = 2, 400


@pytest.fixture
def registered():
    """Register the objective for one test (the registry is left as it was afterwards)."""
    register_objective(NAME)(BandStats)
    yield BandStats
    OBJECTIVES._items.pop(NAME, None)
    OBJECTIVES._descriptions.pop(NAME, None)


def _loader(n: int = 32) -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, C, T, generator=g) * torch.rand(n, C, 1, generator=g) * 3  # per-channel scales to learn
    return torch.utils.data.DataLoader([{"x": xi} for xi in x], batch_size=8)


def test_the_new_objective_is_one_short_class() -> None:
    assert OBJECTIVE_LINES <= 25, OBJECTIVE_LINES


def test_trained_alone_by_name(registered, tmp_path) -> None:
    torch.manual_seed(0)
    enc = ENCODERS.get("cnn").tiny(C, T)
    module = PretrainModule(enc, create_objective(NAME, weight=2.0), lr=1e-2, warmup_epochs=0)
    loader = _loader()
    first = module.objective(enc, next(iter(loader)))["stats_mse"].item()
    trainer = build_trainer(tmp_path, max_epochs=4, monitor=None, patience=None, progress=False)
    fit(module, loader, None, trainer)
    module.eval()
    with torch.no_grad():
        assert module.objective(enc, next(iter(loader)))["stats_mse"].item() < first  # it learns
    assert (tmp_path / "export" / "final" / "objective" / "model.safetensors").is_file()
    with pytest.raises(ConfigError, match="weight"):
        create_objective(NAME, weight=-1)


def test_composed_with_a_built_in_objective_from_a_config(registered) -> None:
    enc = ENCODERS.get("cnn").tiny(C, T).eval()
    spec = {"stats": {"name": NAME, "weight": 0.5}, "masked": {"name": "masked_prediction", "kwargs": {"seed": 0}}}
    obj = create_objective("sum", parts=spec, report="parts")
    obj.build(enc.embed_dim, C, T)
    out = obj(enc, next(iter(_loader())))
    assert set(out) == {"loss", "stats_mse", "masked_mse"}
    torch.testing.assert_close(out["loss"], 0.5 * out["stats_mse"] + out["masked_mse"])
