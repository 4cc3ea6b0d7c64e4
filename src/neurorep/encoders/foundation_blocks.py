"""Building blocks of the ``eeg_foundation`` model: patch grid, multi-scale patch embedding, and the
transformer block with temporal self-attention and cross-channel attention.

Shapes: ``B`` batch, ``C`` channels (electrodes), ``T`` samples, ``N`` patches per channel, ``D``
model width, ``P`` patch size in samples, ``S = P - overlap`` the hop between patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.encoders.base import deprecated_alias
from neurorep.heads.classification import ClassificationHead

__all__ = ["ClassifierHead", "FoundationBlock", "MultiScalePatchEmbedding", "PatchGrid", "patch_grid", "samples_mask"]


@dataclass(frozen=True)
class PatchGrid:
    """Where the overlapping patches of a window of ``n_times`` samples lie.

    Patch ``k`` covers samples ``[k * stride, k * stride + patch_size)`` of the window padded on the
    right with ``pad`` zeros, so that every sample lies in at least one patch.
    """

    n_times: int
    patch_size: int
    stride: int
    n_patches: int
    pad: int


def patch_grid(n_times: int, patch_size: int, overlap: int) -> PatchGrid:
    """The :class:`PatchGrid` of a window: ``N = ceil(max(T - P, 0) / S) + 1`` patches."""
    stride = patch_size - overlap
    n = math.ceil(max(n_times - patch_size, 0) / stride) + 1
    pad = (n - 1) * stride + patch_size - n_times
    return PatchGrid(n_times, patch_size, stride, n, pad)


def samples_mask(patch_mask: torch.Tensor, grid: PatchGrid) -> torch.Tensor:
    """Per-sample mask ``[B, C, T]`` (True where a sample lies in a masked patch) from ``[B, C, N]``."""
    b, c, n = patch_mask.shape
    length = (n - 1) * grid.stride + grid.patch_size
    cover = torch.zeros(n, length, dtype=torch.bool, device=patch_mask.device)
    for k in range(n):
        cover[k, k * grid.stride: k * grid.stride + grid.patch_size] = True
    hit = patch_mask.float().reshape(b * c, n) @ cover.float()  # [B*C, L]: masked patches covering each sample
    return (hit > 0).reshape(b, c, length)[..., : grid.n_times]


class MultiScalePatchEmbedding(nn.Module):
    """Overlapping per-channel patches embedded at several temporal scales and fused.

    ``x[B, C, T] -> tokens[B, C, N, D]``. At scale 1 each patch of ``P`` samples is mapped linearly
    to ``D`` (a strided ``Conv1d``; the same linear map for every channel). At scale ``s`` the
    signal is first average-pooled by ``s``, so a patch of ``P`` pooled samples spans ``s * P``
    original samples around the same centre (hop ``S / s`` pooled samples, symmetric padding);
    its token sequence is linearly interpolated onto the scale-1 grid of ``N`` patches. The
    per-scale tokens are concatenated and fused by a linear layer ``len(scales) * D -> D``.
    With one scale there is no fusion layer.
    """

    def __init__(self, d_model: int, patch_size: int, overlap: int, scale_factors: list[int]) -> None:
        super().__init__()
        self.patch_size, self.overlap = patch_size, overlap
        self.stride = patch_size - overlap
        self.scales = [int(s) for s in scale_factors]
        self.embeds = nn.ModuleList()
        self.strides: list[int] = []
        self.pads: list[int] = []
        for s in self.scales:
            stride = max(1, round(self.stride / s))
            self.strides.append(stride)
            self.pads.append(round(patch_size / 2 - patch_size / (2 * s)) if s > 1 else 0)
            self.embeds.append(nn.Conv1d(1, d_model, kernel_size=patch_size, stride=stride))
        self.fuse = nn.Linear(len(self.scales) * d_model, d_model) if len(self.scales) > 1 else None

    def forward(self, x: torch.Tensor, grid: PatchGrid) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, C, N, D]`` with ``N = grid.n_patches``."""
        b, c, t = x.shape
        flat = x.reshape(-1, 1, t)
        outs = []
        for s, embed, stride, pad in zip(self.scales, self.embeds, self.strides, self.pads, strict=True):
            if s == 1:
                sig = F.pad(flat, (0, grid.pad)) if grid.pad else flat
            else:
                sig = F.avg_pool1d(flat, kernel_size=s, stride=s, ceil_mode=True)
                need = max(0, self.patch_size - (sig.shape[-1] + 2 * pad))
                sig = F.pad(sig, (pad, pad + need))
            tok = embed(sig)  # [B*C, D, N_s]
            if tok.shape[-1] != grid.n_patches:
                tok = F.interpolate(tok, size=grid.n_patches, mode="linear", align_corners=True)
            outs.append(tok.transpose(1, 2))  # [B*C, N, D]
        tokens = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        if self.fuse is not None:
            tokens = self.fuse(tokens)
        return tokens.reshape(b, c, grid.n_patches, -1)


class FoundationBlock(nn.Module):
    """Pre-norm block: temporal self-attention, cross-channel attention, feed-forward; each residual.

    ``h[B, C, N, D] -> [B, C, N, D]``. Temporal attention runs over the ``N`` patches of each
    channel; cross-channel attention runs over the ``C`` electrodes at each patch position (the
    spatial relations between electrodes); both are followed by dropout and added back.
    ``attention_dropout`` (default: ``dropout``) drops attention weights inside both attentions.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float, channel_attention: bool,
                 attention_dropout: float | None = None) -> None:
        super().__init__()
        attn_drop = dropout if attention_dropout is None else attention_dropout
        self.norm_t = nn.LayerNorm(d_model)
        self.attn_t = nn.MultiheadAttention(d_model, n_heads, dropout=attn_drop, batch_first=True)
        self.channel_attention = channel_attention
        if channel_attention:
            self.norm_c = nn.LayerNorm(d_model)
            self.attn_c = nn.MultiheadAttention(d_model, n_heads, dropout=attn_drop, batch_first=True)
        self.norm_f = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h[B, C, N, D] -> [B, C, N, D]``."""
        _, c, n, d = h.shape
        t = h.reshape(-1, n, d)  # [B*C, N, D]
        y = self.norm_t(t)
        t = t + self.drop(self.attn_t(y, y, y, need_weights=False)[0])
        if self.channel_attention:
            u = t.reshape(-1, c, n, d).transpose(1, 2).reshape(-1, c, d)  # [B*N, C, D]
            y = self.norm_c(u)
            u = u + self.drop(self.attn_c(y, y, y, need_weights=False)[0])
            t = u.reshape(-1, n, c, d).transpose(1, 2).reshape(-1, n, d)
        t = t + self.drop(self.ffn(self.norm_f(t)))
        return t.reshape(-1, c, n, d)


class ClassifierHead(ClassificationHead):
    """Deprecated: :class:`neurorep.heads.ClassificationHead` with ``standardize=True`` (same layers
    and state-dict keys)."""

    def __init__(self, in_dim: int, n_classes: int, dropout: float = 0.0) -> None:
        deprecated_alias("ClassifierHead", "neurorep.heads.ClassificationHead(..., standardize=True)")
        super().__init__(in_dim, n_classes, dropout, standardize=True)
