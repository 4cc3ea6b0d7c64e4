"""The weighted sum of objectives (``sum``), ``hybrid`` as its preset, and building once."""

from __future__ import annotations

import pytest
import torch

from neurorep.encoders import ENCODERS
from neurorep.errors import ConfigError
from neurorep.objectives import SumObjective, create_objective
from neurorep.objectives.contrastive import Contrastive
from neurorep.objectives.masked import MaskedPrediction
from neurorep.training import PretrainModule

C, T = 2, 1000


def encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return ENCODERS.get("cnn").tiny(C, T).eval()  # eval: no dropout, so losses can be recomputed exactly


def batch(seed: int = 0) -> dict[str, torch.Tensor]:
    return {"x": torch.randn(6, C, T, generator=torch.Generator().manual_seed(seed))}


def built(obj: torch.nn.Module, enc: torch.nn.Module, seed: int = 3) -> torch.nn.Module:
    torch.manual_seed(seed)  # heads start from the same numbers
    obj.build(enc.embed_dim, C, T)
    return obj


def test_hybrid_preset_equals_the_sum_written_in_a_config() -> None:
    """Same parts, weights and seeds: the same loss and parts on a fixed batch, bit for bit."""
    enc = encoder()
    hybrid = built(create_objective("hybrid", mask_weight=0.3, contrastive_weight=2.0, seed=5), enc)
    spec = {"masked": {"name": "masked_prediction", "kwargs": {"seed": 5}, "weight": 0.3},
            "contrastive": {"name": "contrastive", "kwargs": {"seed": 6}, "weight": 2.0}}
    summed = built(create_objective("sum", parts=spec, report="parts"), enc)
    assert list(hybrid.state_dict()) == list(summed.state_dict())
    a, b = hybrid(enc, batch()), summed(enc, batch())
    assert set(a) == set(b) == {"loss", "masked_mse", "nt_xent", "pos_sim"}
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    # and the loss is the weighted sum of what each part gives alone
    masked, contrastive = MaskedPrediction(seed=5), Contrastive(seed=6)
    masked.build(enc.embed_dim, C, T)
    contrastive.build(enc.embed_dim, C, T)
    masked.load_state_dict(hybrid.masked.state_dict())
    contrastive.load_state_dict(hybrid.contrastive.state_dict())
    expected = 0.3 * masked(enc, batch())["loss"] + 2.0 * contrastive(enc, batch())["loss"]
    torch.testing.assert_close(a["loss"], expected)


def test_report_losses_and_zero_weight_parts() -> None:
    enc = encoder()
    obj = built(SumObjective({"m": MaskedPrediction(seed=1), "c": Contrastive(seed=2)}, weights={"c": 0.0}), enc)
    out = obj(enc, batch())
    assert set(out) == {"loss", "m_loss"}  # a part with weight 0 is neither run nor reported
    torch.testing.assert_close(out["loss"], out["m_loss"])
    assert obj.config["parts"]["m"] == {"name": "masked_prediction", "kwargs": obj.m.config, "weight": 1.0}


def test_bad_specs_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="non-empty"):
        SumObjective({})
    with pytest.raises(ConfigError, match="every part has weight 0"):
        SumObjective({"m": MaskedPrediction()}, weights={"m": 0})
    with pytest.raises(ConfigError, match="do not exist"):
        SumObjective({"m": MaskedPrediction()}, weights={"x": 1.0})
    with pytest.raises(ConfigError, match="unknown keys"):
        create_objective("sum", parts={"m": {"name": "masked_prediction", "wieght": 2}})
    with pytest.raises(ConfigError, match="did you mean 'masked_prediction'"):
        create_objective("sum", parts={"m": {"name": "masked_predictoin"}})
    with pytest.raises(ConfigError, match="did you mean 'parts'"):
        SumObjective({"m": MaskedPrediction()}, report="part")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="identifier"):
        SumObjective({"forward": MaskedPrediction()})
    with pytest.raises(ConfigError, match="two parts report"):
        enc = encoder()
        built(SumObjective({"a": MaskedPrediction(), "b": MaskedPrediction()}, report="parts"), enc)(enc, batch())


def test_former_private_sum_checkpoint_keys_load() -> None:
    """meg-ablation's former sum held its parts under ``parts.<name>.``."""
    enc = encoder()
    obj = built(SumObjective({"m": MaskedPrediction(), "c": Contrastive()}), enc)
    old = {f"parts.{k}": v.clone() + 1 for k, v in obj.state_dict().items()}
    obj.load_state_dict(old, strict=True)
    for key, value in obj.state_dict().items():
        torch.testing.assert_close(value, old[f"parts.{key}"], rtol=0, atol=0)


def test_the_training_module_keeps_an_objective_already_built() -> None:
    enc = encoder()
    obj = built(create_objective("contrastive", seed=0), enc)
    before = {k: v.clone() for k, v in obj.state_dict().items()}
    assert obj.built_for == (enc.embed_dim, C, T)
    module = PretrainModule(enc, obj)
    for key, value in module.objective.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    fresh = create_objective("contrastive", seed=0)
    assert fresh.built_for is None
    PretrainModule(enc, fresh)
    assert fresh.built_for == (enc.embed_dim, C, T)
