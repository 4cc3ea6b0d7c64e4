"""``eeg_foundation``: a multi-scale patch transformer for EEG with cross-channel attention.

Each channel is cut into overlapping patches (``patch_size`` samples, ``overlap`` shared with the
next patch); patches are embedded at several temporal scales (``scale_factors``: the signal
average-pooled by 1, 2, 4, 8, so coarser tokens see 2-8 times more context) and fused; learnable
temporal position and electrode embeddings are added; ``n_layers`` blocks each run temporal
self-attention over a channel's patches and cross-channel attention over the electrodes at each
patch position (pre-norm, residuals, layer norm). Tokens are averaged over channels
(``forward_features -> [B, N, D]``) and then over patches (``forward -> [B, D]``).

Presets (``PRESETS``, for 19 channels x 50 s at 200 Hz): ``base`` ~5M (non-overlapping patches),
``small`` ~25M, ``medium`` ~100M, ``large`` ~350M parameters; ``tiny`` for tests. Build with
``neurorep.models.create_model("eeg_foundation", preset="small", n_channels=19)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pydantic import Field, model_validator
from torch import nn

from neurorep.checks import check_input
from neurorep.config import Strict, validate
from neurorep.encoders.base import Encoder
from neurorep.encoders.foundation_blocks import (
    FoundationBlock,
    MultiScalePatchEmbedding,
    PatchGrid,
    patch_grid,
)
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError, DataError
from neurorep.heads.classification import ClassificationHead

__all__ = ["PRESETS", "EEGFoundationConfig", "EEGFoundationModel"]


class EEGFoundationConfig(Strict):
    """Typed configuration of :class:`EEGFoundationModel` (architecture + pretraining weights)."""

    n_channels: int = Field(19, ge=1, description="input channels (19 10-20 electrodes for HMS)")
    n_times: int = Field(10000, ge=1, description="samples per window (50 s at 200 Hz)")
    d_model: int = Field(128, ge=1, description="token width D")
    n_heads: int = Field(4, ge=1)
    n_layers: int = Field(4, ge=0)
    d_ff: int = Field(256, ge=1, description="feed-forward width")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout on the embedding, each residual branch and the "
                           "feed-forward hidden layer")
    attention_dropout: float | None = Field(None, ge=0, lt=1, description="dropout on the attention weights "
                                            "(null: the same as dropout; 0 drops the two largest mask draws per block)")
    max_seq_length: int = Field(512, ge=1, description="most patches per channel (size of the position table)")
    patch_size: int = Field(200, ge=1, description="samples per patch (1 s at 200 Hz)")
    overlap: int = Field(100, ge=0, description="samples shared by consecutive patches")
    mask_ratio: float = Field(0.5, gt=0, lt=1, description="share of patches hidden in masked pretraining")
    contrastive_temperature: float = Field(0.1, gt=0)
    reconstruction_weight: float = Field(1.0, ge=0)
    contrastive_weight: float = Field(0.5, ge=0)
    use_multi_scale: bool = True
    use_channel_attention: bool = True
    scale_factors: list[int] = Field(default_factory=lambda: [1, 2, 4, 8])
    n_classes: int | None = Field(None, ge=2, description="classification head added by add_classification_head")
    head_dropout: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> EEGFoundationConfig:
        if self.overlap >= self.patch_size:
            raise ValueError(f"overlap={self.overlap} must be smaller than patch_size={self.patch_size}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if not self.scale_factors or any(s < 1 for s in self.scale_factors) or 1 not in self.scale_factors:
            raise ValueError(f"scale_factors must be positive integers including 1, got {self.scale_factors}")
        if len(set(self.scale_factors)) != len(self.scale_factors):
            raise ValueError(f"scale_factors has repeated values: {self.scale_factors}")
        n = patch_grid(self.n_times, self.patch_size, self.overlap).n_patches
        if n > self.max_seq_length:
            raise ValueError(f"n_times={self.n_times} gives {n} patches but max_seq_length={self.max_seq_length}; "
                             f"raise max_seq_length to {n} or use larger patches")
        return self


#: Architecture presets; sizes are for 19 channels x 10000 samples (see benchmarks/foundation_presets.py).
#: ``base`` (4.9M parameters, the size of CBraMod) uses non-overlapping patches, half the tokens and
#: attention FLOPs of 50 % overlap, and no attention-weight dropout (benchmarks/foundation_throughput.py).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"d_model": 32, "n_heads": 2, "n_layers": 2, "d_ff": 64},
    "base": {"d_model": 200, "n_heads": 8, "n_layers": 7, "d_ff": 800, "overlap": 0, "attention_dropout": 0.0},
    "small": {"d_model": 512, "n_heads": 8, "n_layers": 6, "d_ff": 2048},
    "medium": {"d_model": 768, "n_heads": 12, "n_layers": 11, "d_ff": 3072},
    "large": {"d_model": 1024, "n_heads": 16, "n_layers": 21, "d_ff": 4096},
}


class _TokenEmbedding(nn.Module):
    """Multi-scale patch embedding + learnable temporal positions + electrode embeddings.

    ``x[B, C, T] -> tokens[B, C, N, D]``.
    """

    def __init__(self, cfg: EEGFoundationConfig) -> None:
        super().__init__()
        scales = cfg.scale_factors if cfg.use_multi_scale else [1]
        self.patches = MultiScalePatchEmbedding(cfg.d_model, cfg.patch_size, cfg.overlap, scales)
        self.pos_embed = nn.Parameter(torch.zeros(1, 1, cfg.max_seq_length, cfg.d_model))
        self.chan_embed = nn.Parameter(torch.zeros(1, cfg.n_channels, 1, cfg.d_model))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.chan_embed, std=0.02)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, grid: PatchGrid, patch_mask: torch.Tensor | None = None,
                mask_token: torch.Tensor | None = None) -> torch.Tensor:
        """``x[B, C, T] -> [B, C, N, D]``; tokens where ``patch_mask[B, C, N]`` is True become ``mask_token[D]``."""
        tokens = self.patches(x, grid)
        if patch_mask is not None:
            fill = mask_token if mask_token is not None else torch.zeros(tokens.shape[-1], device=tokens.device)
            tokens = torch.where(patch_mask.unsqueeze(-1), fill.to(tokens.dtype), tokens)
        tokens = tokens + self.pos_embed[:, :, : grid.n_patches] + self.chan_embed
        return self.drop(tokens)


@register_encoder("eeg_foundation")
class EEGFoundationModel(Encoder):
    """Multi-scale patch transformer with cross-channel attention: ``x[B, C, T] -> tokens[B, N, D]``.

    Keyword arguments are the fields of :class:`EEGFoundationConfig` (``n_channels`` and
    ``n_times`` are required by the encoder contract); bad values raise :class:`ConfigError`
    naming the field. ``N = ceil((T - patch_size) / (patch_size - overlap)) + 1``.
    """

    def __init__(self, **kwargs: Any) -> None:
        missing = [k for k in ("n_channels", "n_times") if k not in kwargs]
        if missing:
            raise ConfigError(f"eeg_foundation: missing required argument(s) {', '.join(missing)}")
        cfg = validate(EEGFoundationConfig, kwargs, source="eeg_foundation")
        super().__init__(**cfg.model_dump())
        self.cfg = cfg
        self.n_channels, self.n_times, self.embed_dim = cfg.n_channels, cfg.n_times, cfg.d_model
        self.grid = patch_grid(cfg.n_times, cfg.patch_size, cfg.overlap)
        self.n_tokens = self.grid.n_patches
        self.embed = _TokenEmbedding(cfg)
        self.blocks = nn.ModuleList(
            FoundationBlock(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.use_channel_attention,
                            attention_dropout=cfg.attention_dropout)
            for _ in range(cfg.n_layers)
        )
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head: nn.Module | None = None
        if cfg.n_classes is not None:
            self._make_head(cfg.n_classes, cfg.head_dropout)

    @classmethod
    def from_config(cls, cfg: EEGFoundationConfig) -> EEGFoundationModel:
        """Build from a typed config."""
        return cls(**cfg.model_dump())

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests: 1 layer of width 16, patches of ``T / 10`` samples, scales 1 and 2."""
        patch = max(2, n_times // 10)
        return {"n_channels": n_channels, "n_times": n_times, "d_model": 16, "n_heads": 2, "n_layers": 1,
                "d_ff": 32, "patch_size": patch, "overlap": patch // 2, "scale_factors": [1, 2]}

    # ------------------------------------------------------------------ token API (used by the objective)
    def grid_for(self, n_times: int) -> PatchGrid:
        """The patch grid of a window of ``n_times`` samples."""
        if n_times == self.grid.n_times:
            return self.grid
        grid = patch_grid(n_times, self.cfg.patch_size, self.cfg.overlap)
        if grid.n_patches > self.cfg.max_seq_length:
            raise DataError(f"EEGFoundationModel: input of {n_times} samples gives {grid.n_patches} patches, more than "
                            f"max_seq_length={self.cfg.max_seq_length}; crop the input or rebuild with a larger one")
        return grid

    def encode_tokens(self, x: torch.Tensor, patch_mask: torch.Tensor | None = None,
                      mask_token: torch.Tensor | None = None) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, C, N, D]`` after every block and the final layer norm.

        ``patch_mask[B, C, N]`` (bool, True = hidden) replaces those patch tokens by ``mask_token[D]``
        (zeros when not given; the masked-pretraining objective owns a learned one) before the
        blocks. The caller should also zero the hidden samples of ``x`` (overlapping patches).
        """
        check_input(self, x, self.n_channels)
        grid = self.grid_for(int(x.shape[-1]))
        h = self.embed(x, grid, patch_mask, mask_token)
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, N, D]`` (channel-averaged)."""
        return self.encode_tokens(x).mean(dim=1)

    def get_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> embedding[B, d_model]`` (mean over channels and patches)."""
        return self.forward(x)

    def layer_groups(self) -> list[nn.Module]:
        """Modules from the input upwards: embedding, each block, final norm (for gradual unfreezing)."""
        return [self.embed, *self.blocks, self.norm]

    # ------------------------------------------------------------------ classification head
    def _make_head(self, n_classes: int, dropout: float) -> None:
        self.head = ClassificationHead(self.embed_dim, n_classes, dropout, standardize=True)

    def add_classification_head(self, n_classes: int, dropout: float = 0.0) -> nn.Module:
        """Attach a head ``embedding[B, D] -> logits[B, n_classes]`` (recorded in the config, so
        ``save_pretrained`` / ``from_pretrained`` keep it); returns the head."""
        cfg = validate(EEGFoundationConfig, {**self.cfg.model_dump(), "n_classes": n_classes, "head_dropout": dropout},
                       source="add_classification_head")
        self.cfg = cfg
        self.config.update(n_classes=cfg.n_classes, head_dropout=cfg.head_dropout)
        self._make_head(n_classes, dropout)
        return self.head  # type: ignore[return-value]

    def remove_classification_head(self) -> None:
        """Drop the head (and its entries in the config)."""
        self.cfg = validate(EEGFoundationConfig, {**self.cfg.model_dump(), "n_classes": None, "head_dropout": 0.0},
                            source="remove_classification_head")
        self.config.update(n_classes=None, head_dropout=0.0)
        self.head = None

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> logits[B, n_classes]``; needs :meth:`add_classification_head` first."""
        if self.head is None:
            raise ConfigError("EEGFoundationModel has no classification head; call add_classification_head(n) first")
        return self.head(self.forward(x))

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into ``directory``."""
        from neurorep.export.hub import save_pretrained

        return save_pretrained(self, directory, extra=extra)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> EEGFoundationModel:
        """Load a model written by :meth:`save_pretrained` (strict; in eval mode)."""
        from neurorep.export.hub import from_pretrained

        model = from_pretrained(directory)
        if not isinstance(model, cls):
            raise DataError(f"{directory}: holds a {type(model).__name__}, not an EEGFoundationModel")
        return model
