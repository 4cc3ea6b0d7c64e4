"""The one classifier training module: its two losses, and the deprecated aliases it replaced."""

from __future__ import annotations

import warnings

import pytest
import torch

from neurorep.errors import ConfigError
from neurorep.models import create_model
from neurorep.training import ClassifierModule, GradualUnfreezing, SupervisedModule
from neurorep.training.finetune import FineTuneModule, FineTuningConfig, finetuning_kwargs
from neurorep.training.losses import kl_soft_loss
from tests.training.helpers import TinyEncoder

TINY = {"n_channels": 2, "n_times": 200, "d_model": 8, "n_heads": 2, "n_layers": 2, "d_ff": 16, "patch_size": 20,
        "overlap": 10, "scale_factors": [1, 2], "dropout": 0.0}


def _batch(n: int = 6) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"x": torch.randn(n, 2, 200, generator=g), "y": torch.tensor([0, 1, 2, -1, 0, 1])[:n],
            "y_soft": torch.softmax(torch.randn(n, 3, generator=g), -1)}


def _quiet(factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return factory()


def test_aliases_warn_and_equal_the_classifier_module() -> None:
    with pytest.warns(DeprecationWarning, match="ClassifierModule"):
        SupervisedModule(TinyEncoder(), 3)
    with pytest.warns(DeprecationWarning, match="ClassifierModule"):
        FineTuneModule(create_model("eeg_foundation", **TINY), 3)
    # the cross-entropy alias: same parameters, same loss on a batch with an unlabelled row
    torch.manual_seed(0)
    old = _quiet(lambda: SupervisedModule(TinyEncoder(n_channels=2, n_times=200), 3, label_smoothing=0.1))
    torch.manual_seed(0)
    new = ClassifierModule(TinyEncoder(n_channels=2, n_times=200), 3, label_smoothing=0.1)
    batch = _batch()
    logits = old.eval()(batch["x"])
    torch.testing.assert_close(new.eval()(batch["x"]), logits, rtol=0, atol=0)
    torch.testing.assert_close(new._loss(logits, batch["y"])[0], old._loss(logits, batch["y"])[0])
    assert new._loss(logits, batch["y"])[1] == 5


def test_soft_kl_fine_tuning_set_up_from_a_config() -> None:
    cfg = FineTuningConfig(lr=1e-3, encoder_lr_scale=0.1, layer_decay=0.5, freeze_epochs=2)
    torch.manual_seed(0)
    old = _quiet(lambda: FineTuneModule(create_model("eeg_foundation", **TINY), 3, cfg))
    torch.manual_seed(0)
    new = ClassifierModule(create_model("eeg_foundation", **TINY), 3, **finetuning_kwargs(cfg))
    assert [(g["name"], g["lr"]) for g in new.param_groups()] == [(g["name"], g["lr"]) for g in old.param_groups()]
    assert new.head.standardize
    callbacks = new.configure_callbacks()
    assert len(callbacks) == 1 and isinstance(callbacks[0], GradualUnfreezing) and callbacks[0].freeze_epochs == 2
    new.eval()
    batch = _batch()
    torch.testing.assert_close(kl_soft_loss(new(batch["x"]), batch["y_soft"]),
                               kl_soft_loss(old.eval()(batch["x"]), batch["y_soft"]), rtol=0, atol=0)
    assert new.predict_step(batch, 0).sum(-1).allclose(torch.ones(6))  # probabilities
    scratch = ClassifierModule(create_model("eeg_foundation", **TINY), 3, **finetuning_kwargs(cfg, pretrained=False))
    assert scratch.configure_callbacks() == [] and {g["lr"] for g in scratch.param_groups()} == {1e-3}


def test_bad_loss_names_the_option() -> None:
    with pytest.raises(ConfigError, match="did you mean 'soft_kl'"):
        ClassifierModule(TinyEncoder(), 3, loss="soft_lk")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_classes"):
        ClassifierModule(TinyEncoder(), 1)
