"""The one classification head: ``embedding[B, D] -> logits[B, K]``.

Used by the linear probe and fine-tuning (:mod:`neurorep.training.classifier`), the per-epoch
staging model (:mod:`neurorep.training.distill`) and ``eeg_foundation``'s built-in head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from neurorep.checks import check_int, check_option, check_rate

__all__ = ["ClassificationHead", "load_head"]

TOKEN_POOLS = ("mean", "none")


class ClassificationHead(nn.Sequential):
    """``[BatchNorm (no affine)] -> Dropout -> Linear``: ``embedding[B, D] -> logits[B, K]``.

    ``standardize`` standardises each embedding dimension over the batch first (running
    statistics at evaluation), so a head on a frozen encoder sees well-scaled inputs whatever the
    encoder's offset and scale. A token sequence ``[B, N, D]`` is mean-pooled over ``N`` with
    ``token_pool="mean"``; with ``"none"`` each token gets its own logits ``[B, N, K]``.

    The layers are numbered (``0.``, ``1.``, ... in the state dict), the layout of the heads saved
    before this class replaced them; weights of the earlier ``Dropout``/``Linear`` head with named
    layers (``linear.weight``) load too.
    """

    registry_name = "classification_head"

    def __init__(self, in_dim: int, n_classes: int, dropout: float = 0.0, standardize: bool = False,
                 token_pool: Literal["mean", "none"] = "mean") -> None:
        check_int("ClassificationHead", "in_dim", in_dim)
        check_int("ClassificationHead", "n_classes", n_classes)
        check_rate("ClassificationHead", "dropout", dropout)
        check_option("ClassificationHead", "token_pool", token_pool, TOKEN_POOLS)
        layers: list[nn.Module] = [nn.BatchNorm1d(in_dim, affine=False)] if standardize else []
        super().__init__(*layers, nn.Dropout(dropout), nn.Linear(in_dim, n_classes))
        self.in_dim, self.n_classes, self.token_pool = int(in_dim), int(n_classes), token_pool
        self.standardize = bool(standardize)
        self.config: dict[str, Any] = {"in_dim": int(in_dim), "n_classes": int(n_classes), "dropout": float(dropout),
                                       "standardize": self.standardize, "token_pool": token_pool}

    @property
    def norm(self) -> nn.BatchNorm1d | None:
        """The batch standardisation (``None`` without ``standardize``)."""
        return self[0] if self.standardize else None  # type: ignore[return-value]

    @property
    def linear(self) -> nn.Linear:
        """The last (linear) layer."""
        return self[-1]  # type: ignore[return-value]

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """``h[B, in_dim]`` (or tokens ``[B, N, in_dim]``) ``-> logits``."""
        if h.dim() == 3 and self.token_pool == "mean":
            h = h.mean(dim=1)
        return super().forward(h)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        last = str(len(self) - 1)
        for name in ("weight", "bias"):  # the earlier head with a named ``linear`` layer
            old = f"{prefix}linear.{name}"
            if old in state_dict and f"{prefix}{last}.{name}" not in state_dict:
                state_dict[f"{prefix}{last}.{name}"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def load_head(directory: str | Path) -> ClassificationHead:
    """Rebuild a :class:`ClassificationHead` saved with an encoder (``directory/config.json`` +
    ``model.safetensors``; strict).

    Heads saved before the options were recorded are rebuilt from their weights' layout (a
    batch standardisation is present when its running statistics are) and apply per token.
    """
    from neurorep.export.hub import load_config, load_state, load_strict

    config = load_config(directory)
    state = load_state(Path(directory) / "model.safetensors")
    kwargs = dict(config.get("kwargs", {}))
    kwargs.setdefault("standardize", "0.running_mean" in state)
    kwargs.setdefault("token_pool", "none")
    head = ClassificationHead(**kwargs)
    load_strict(head, state, source=str(directory))
    return head.eval()
