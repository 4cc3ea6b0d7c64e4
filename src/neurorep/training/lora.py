"""LoRA fine-tuning of an encoder through ``peft`` (the optional ``lora`` extra).

:func:`add_lora` puts low-rank adapters (``W + (alpha / r) B A``, ``B`` starting at zero so the
encoder is unchanged at first) on the encoder's linear layers in place and freezes every other
encoder weight. By default the targets are the linear layers the encoder actually calls as
modules, found by one forward pass with hooks: a layer whose weight is used directly
(``F.linear(x, layer.weight)``) would never see its adapter, and is left out rather than
adapted in name only. :func:`merged_copy` folds the adapters back into plain weights, so the
exported encoder has its architecture's usual keys and loads, exports and registers like any
other. Configured by :class:`LoraSettings` (``FineTuningConfig.lora``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import torch
from pydantic import Field
from torch import nn

from neurorep.config import Strict
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError

__all__ = ["LoraSettings", "add_lora", "called_linear_layers", "lora_parameters", "merged_copy"]


class LoraSettings(Strict):
    """LoRA adapters on the encoder (the head trains fully)."""

    rank: int = Field(8, ge=1, description="rank r of each adapter")
    alpha: float = Field(16.0, gt=0, description="scale alpha (the update is alpha / r * B A)")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the adapter's input")
    targets: list[str] | None = Field(
        None, description="module-name regular expressions to adapt; default: every linear layer the encoder calls")
    lr_scale: float = Field(1.0, gt=0, description="learning rate of the adapters relative to lr")


def called_linear_layers(encoder: nn.Module, example: torch.Tensor | None = None) -> list[str]:
    """Names of the ``nn.Linear`` layers that ``encoder`` calls as modules on ``example`` (``[1, C, T]`` zeros)."""
    if example is None:
        config = (encoder.config if isinstance(encoder, Encoder) else {}) or {}
        if "n_channels" not in config or "n_times" not in config:
            raise ConfigError(f"lora: cannot tell which layers {type(encoder).__name__} uses (no n_channels/n_times "
                              "in its config); give lora.targets")
        example = torch.zeros(1, int(config["n_channels"]), int(config["n_times"]))
    called: list[str] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, n=name: called.append(n))
             for name, m in encoder.named_modules() if isinstance(m, nn.Linear)]
    was = encoder.training
    try:
        encoder.eval()
        with torch.no_grad():
            encoder(example.to(next(encoder.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
        encoder.train(was)
    return sorted(set(called))


def add_lora(encoder: nn.Module, settings: LoraSettings) -> Any:
    """Put LoRA adapters on ``encoder`` in place (other encoder weights frozen); returns peft's ``LoraModel``."""
    try:
        from peft import LoraConfig
        from peft.tuners.lora import LoraModel
    except ImportError:
        raise ConfigError("lora: fine-tuning with LoRA needs peft (pip install 'neurorep[lora]')") from None
    called = called_linear_layers(encoder)
    if settings.targets is not None:
        patterns = [re.compile(t) for t in settings.targets]
        chosen = [n for n in called if any(p.fullmatch(n) for p in patterns)]
        unused = [n for n, m in encoder.named_modules() if isinstance(m, nn.Linear) and n not in called
                  and any(p.fullmatch(n) for p in patterns)]
        if unused:
            raise ConfigError(f"lora.targets: {', '.join(unused)} are linear layers whose weights the encoder uses "
                              "directly, so an adapter there would do nothing")
    else:
        chosen = called
    if not chosen:
        raise ConfigError(f"lora: no linear layer of {type(encoder).__name__} to adapt"
                          + (f" matches {settings.targets}" if settings.targets else ""))
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules="^(?:" + "|".join(re.escape(n) for n in chosen) + ")$", bias="none")
    return LoraModel(encoder, config, "default")


def lora_parameters(encoder: nn.Module) -> list[nn.Parameter]:
    """The adapters' parameters inside ``encoder``."""
    return [p for n, p in encoder.named_parameters() if ".lora_" in n]


def merged_copy(lora_model: Any) -> nn.Module:
    """A copy of the adapted encoder with the adapters folded into its weights (the usual keys)."""
    return copy.deepcopy(lora_model).merge_and_unload()
