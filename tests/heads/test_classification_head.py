"""The one classification head: its layouts, and weights saved by the three heads it replaced."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from neurorep.errors import ConfigError
from neurorep.heads import ClassificationHead, load_head

D, K = 6, 3


def _batch(seed: int = 0, n: int = 8) -> torch.Tensor:
    return torch.randn(n, D, generator=torch.Generator().manual_seed(seed)) * 2 + 1


def _old_probe_head() -> nn.Sequential:
    """The layout of the supervised module's former head: Dropout, Linear."""
    torch.manual_seed(1)
    return nn.Sequential(nn.Dropout(0.1), nn.Linear(D, K))


def _old_finetune_head() -> nn.Sequential:
    """The layout of the fine-tuning module's former head: BatchNorm (no affine), Dropout, Linear."""
    torch.manual_seed(2)
    head = nn.Sequential(nn.BatchNorm1d(D, affine=False), nn.Dropout(0.2), nn.Linear(D, K))
    head.train()
    head(_batch(3, 32))  # running statistics away from their initial values
    return head.eval()


class _OldNamedHead(nn.Module):
    """The layout of the former ``neurorep.heads`` head: named ``dropout`` and ``linear`` layers."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.dropout, self.linear = nn.Dropout(0.0), nn.Linear(D, K)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(h))


@pytest.mark.parametrize(("old", "standardize"), [(_old_probe_head, False), (_old_finetune_head, True),
                                                  (_OldNamedHead, False)])
def test_old_state_dicts_load_strictly_and_give_the_same_logits(old, standardize) -> None:
    before = old().eval()
    head = ClassificationHead(D, K, standardize=standardize).eval()
    head.load_state_dict(before.state_dict(), strict=True)
    x = _batch()
    torch.testing.assert_close(head(x), before(x), rtol=0, atol=0)


def test_old_state_dict_loads_inside_a_bigger_module() -> None:
    """A Lightning checkpoint holds ``head.1.weight`` (or ``head.linear.weight``) next to the encoder's keys."""
    outer_old = nn.Module()
    outer_old.head = _OldNamedHead()
    outer_new = nn.Module()
    outer_new.head = ClassificationHead(D, K)
    outer_new.load_state_dict(outer_old.state_dict(), strict=True)
    torch.testing.assert_close(outer_new.head.linear.weight, outer_old.head.linear.weight)


def test_folders_saved_by_the_old_heads_load(tmp_path) -> None:
    """``load_head`` on folders written before the head recorded ``standardize``/``token_pool``."""
    for name, old, arch in [("probe", _old_probe_head(), "classification_head"),
                            ("finetune", _old_finetune_head(), "neurorep.encoders.foundation_blocks.ClassifierHead")]:
        folder = tmp_path / name
        folder.mkdir()
        save_file({k: v.contiguous() for k, v in old.state_dict().items()}, str(folder / "model.safetensors"))
        dropout = old[-2].p
        (folder / "config.json").write_text(json.dumps(
            {"architecture": arch, "kwargs": {"in_dim": D, "n_classes": K, "dropout": dropout}, "class_names": []}))
        head = load_head(folder)
        assert head.standardize is (name == "finetune") and head.token_pool == "none"
        x = _batch(4)
        torch.testing.assert_close(head(x), old.eval()(x), rtol=0, atol=0)


def test_token_pooling() -> None:
    tokens = torch.randn(4, 5, D)
    pooled, per_token = ClassificationHead(D, K).eval(), ClassificationHead(D, K, token_pool="none").eval()
    per_token.load_state_dict(pooled.state_dict())
    torch.testing.assert_close(pooled(tokens), pooled(tokens.mean(1)))
    assert per_token(tokens).shape == (4, 5, K)
    torch.testing.assert_close(per_token(tokens)[:, 2], pooled(tokens[:, 2]))


def test_bad_arguments_name_the_option() -> None:
    with pytest.raises(ConfigError, match="n_classes"):
        ClassificationHead(D, 0)
    with pytest.raises(ConfigError, match="dropout"):
        ClassificationHead(D, K, dropout=1.5)
    with pytest.raises(ConfigError, match="did you mean 'mean'"):
        ClassificationHead(D, K, token_pool="maen")  # type: ignore[arg-type]


def test_deprecated_foundation_head_is_the_standardising_head() -> None:
    from neurorep.encoders.foundation_blocks import ClassifierHead

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        head = ClassifierHead(D, K, 0.1)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert isinstance(head, ClassificationHead) and head.standardize
    assert set(head.state_dict()) == set(_old_finetune_head().state_dict())
