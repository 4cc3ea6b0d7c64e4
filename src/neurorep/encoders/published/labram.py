"""``labram``: LaBraM, the large brain model (Jiang et al., ICLR 2024), in its fine-tuning form.

Each channel is cut into patches of ``patch_size`` samples (1 s at 200 Hz). A patch becomes a
token through three convolutions along the patch (kernel 15 stride 8, then two kernel-3 ones,
each Conv -> GroupNorm(4) -> GELU); the ``conv_channels`` x remaining samples give the width
``D`` (200 for the published models). A class token is prepended; each patch token gets the
learned embedding of its electrode (looked up by name in :data:`LABRAM_CHANNELS`, 128 names
plus the class token's row) and of its position in time. ``n_layers`` pre-norm ViT blocks follow
(multi-head attention with LayerNorm on queries and keys, optional query/value biases, layer
scale ``init_values`` on both residual branches, GELU MLP), then a final LayerNorm.

Weight-compatible with braindecode 1.8.1's ``Labram`` (neural-tokenizer mode; parameter names;
head ``final_layer``: linear on the class token). The features are the patch tokens
``[B, C * N, D]`` (channel-major), which is also ``forward_features``; ``forward`` is their mean.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.published._base import PublishedCard, PublishedEncoder, check_divisible
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError, unknown_name_message

__all__ = ["LABRAM_CHANNELS", "Labram"]

#: electrode names in the order of the published position-embedding table (row 0 is the class token)
LABRAM_CHANNELS: tuple[str, ...] = tuple("""
FP1 FPZ FP2 AF9 AF7 AF5 AF3 AF1 AFZ AF2 AF4 AF6 AF8 AF10 F9 F7 F5 F3 F1 FZ F2 F4 F6 F8 F10 FT9
FT7 FC5 FC3 FC1 FCZ FC2 FC4 FC6 FT8 FT10 T9 T7 C5 C3 C1 CZ C2 C4 C6 T8 T10 TP9 TP7 CP5 CP3 CP1
CPZ CP2 CP4 CP6 TP8 TP10 P9 P7 P5 P3 P1 PZ P2 P4 P6 P8 P10 PO9 PO7 PO5 PO3 PO1 POZ PO2 PO4 PO6
PO8 PO10 O1 OZ O2 O9 CB1 CB2 IZ O10 T3 T5 T4 T6 M1 M2 A1 A2 CFC1 CFC2 CFC3 CFC4 CFC5 CFC6 CFC7
CFC8 CCP1 CCP2 CCP3 CCP4 CCP5 CCP6 CCP7 CCP8 T1 T2 FTT9h TTP7h TPP9h FTT10h TPP8h TPP10h FP1-F7
F7-T7 T7-P7 P7-O1 FP2-F8 F8-T8 T8-P8 P8-O2
""".split())
_INDEX = {name.upper(): i for i, name in enumerate(LABRAM_CHANNELS)}


def channel_rows(ch_names: list[str] | None, n_channels: int) -> list[int]:
    """Rows of the position-embedding table for ``ch_names`` (case-insensitive; row 0 = class token).

    Without names the channels are taken as the first ``n_channels`` of :data:`LABRAM_CHANNELS`.
    """
    if ch_names is None:
        if n_channels > len(LABRAM_CHANNELS):
            raise ConfigError(f"labram: n_channels={n_channels} exceeds the {len(LABRAM_CHANNELS)} known electrodes")
        return list(range(1, n_channels + 1))
    if len(ch_names) != n_channels:
        raise ConfigError(f"labram: {len(ch_names)} ch_names given for n_channels={n_channels}")
    rows = []
    for name in ch_names:
        if str(name).upper() not in _INDEX:
            raise ConfigError("labram: " + unknown_name_message("electrode", str(name), LABRAM_CHANNELS))
        rows.append(_INDEX[str(name).upper()] + 1)
    return rows


class _TemporalConv(nn.Module):
    """``patches[B, C, N, P] -> tokens[B, C * N, P' * F]`` (three Conv -> GroupNorm -> GELU)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, (1, 15), (1, 8), (0, 7))
        self.norm1 = nn.GroupNorm(4, channels)
        self.conv2 = nn.Conv2d(channels, channels, (1, 3), padding=(0, 1))
        self.norm2 = nn.GroupNorm(4, channels)
        self.conv3 = nn.Conv2d(channels, channels, (1, 3), padding=(0, 1))
        self.norm3 = nn.GroupNorm(4, channels)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        b, c, n, p = patches.shape
        h = patches.reshape(b, 1, c * n, p)
        for conv, norm in ((self.conv1, self.norm1), (self.conv2, self.norm2), (self.conv3, self.norm3)):
            h = F.gelu(norm(conv(h)))
        return h.permute(0, 2, 3, 1).reshape(b, c * n, -1)  # time-major, then conv channel


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool, qk_norm: bool, attn_dropout: float,
                 dropout: float) -> None:
        super().__init__()
        self.heads, self.d_head = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.q_norm = nn.LayerNorm(self.d_head, eps=1e-6) if qk_norm else None
        self.k_norm = nn.LayerNorm(self.d_head, eps=1e-6) if qk_norm else None
        self.attn_dropout = attn_dropout
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        bias = None
        if self.q_bias is not None and self.v_bias is not None:  # keys carry no bias
            bias = torch.cat((self.q_bias, torch.zeros_like(self.q_bias), self.v_bias))
        q, k, v = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, self.d_head).permute(2, 0, 3, 1, 4)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_dropout if self.training else 0.0)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, d)))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, qkv_bias: bool, qk_norm: bool, dropout: float,
                 attn_dropout: float, init_values: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, heads, qkv_bias, qk_norm, attn_dropout, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout))
        self.gamma_1 = nn.Parameter(init_values * torch.ones(dim)) if init_values > 0 else None
        self.gamma_2 = nn.Parameter(init_values * torch.ones(dim)) if init_values > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.attn(self.norm1(x))
        x = x + (a if self.gamma_1 is None else self.gamma_1 * a)
        m = self.mlp(self.norm2(x))
        return x + (m if self.gamma_2 is None else self.gamma_2 * m)


@register_encoder("labram")
class Labram(PublishedEncoder):
    """LaBraM (patch tokens with electrode and time embeddings, ViT blocks); braindecode-compatible weights."""

    reference_class = "Labram"
    head_prefix = "final_layer."
    default_embed_dim = 200
    card = PublishedCard(
        paper="Jiang et al., Large Brain Model for Learning Generic Representations with Tremendous EEG Data "
              "in BCI, ICLR 2024",
        sfreq=200.0, patch_samples=200, channels=LABRAM_CHANNELS, units="0.1 mV (signals in uV divided by 100)",
        hub_ids=("braindecode/labram-pretrained",), channel_rule="table",
        licence="MIT (the authors' repository 935963004/LaBraM, which ships the weights); the hub copy's "
                "licence was not checked",
        licence_source="github.com/935963004/LaBraM/LICENSE")
    reference_names = {**PublishedEncoder.reference_names, "patch_size": "patch_size",
                       "conv_out_channels": "conv_channels", "num_layers": "n_layers", "num_heads": "n_heads",
                       "mlp_ratio": "mlp_ratio", "qkv_bias": "qkv_bias", "drop_prob": "dropout",
                       "attn_drop_prob": "attn_dropout", "init_values": "init_values",
                       "ch_names": "ch_names"}  # ch_names: an argument of the reference's forward()

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        sfreq: float = 200.0,
        patch_size: int = 200,
        conv_channels: int = 8,
        n_layers: int = 12,
        n_heads: int = 10,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        qk_norm: bool = True,
        init_values: float = 0.1,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        ch_names: list[str] | None = None,
    ) -> None:
        super().__init__(n_channels=n_channels, n_times=n_times, sfreq=sfreq, patch_size=patch_size,
                         conv_channels=conv_channels, n_layers=n_layers, n_heads=n_heads, mlp_ratio=mlp_ratio,
                         qkv_bias=qkv_bias, qk_norm=qk_norm, init_values=init_values, dropout=dropout,
                         attn_dropout=attn_dropout, ch_names=list(ch_names) if ch_names is not None else None)
        owner = "labram"
        for field, value in (("n_channels", n_channels), ("n_times", n_times), ("patch_size", patch_size),
                             ("conv_channels", conv_channels), ("n_layers", n_layers), ("n_heads", n_heads)):
            check_int(owner, field, value)
        check_rate(owner, "dropout", dropout)
        check_rate(owner, "attn_dropout", attn_dropout)
        check_divisible(owner, n_times, patch_size)
        if conv_channels % 4:
            raise ConfigError(f"{owner}: conv_channels={conv_channels} must be a multiple of 4 (GroupNorm of 4 groups)")
        dim = conv_channels * ((patch_size - 1) // 8 + 1)
        if dim % n_heads:
            raise ConfigError(f"{owner}: the token width {dim} (from patch_size and conv_channels) "
                              f"is not divisible by n_heads={n_heads}")
        self.n_channels, self.n_times, self.patch_size = n_channels, n_times, patch_size
        self.n_patches = n_times // patch_size
        self.embed_dim = dim
        self.n_tokens = n_channels * self.n_patches
        self.register_buffer("channel_rows", torch.tensor(channel_rows(ch_names, n_channels)), persistent=False)
        self.patch_embed = nn.Module()
        self.patch_embed.temporal_conv = _TemporalConv(conv_channels)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position_embedding = nn.Parameter(torch.zeros(1, len(LABRAM_CHANNELS) + 1, dim))
        self.temporal_embedding = nn.Parameter(torch.zeros(1, self.n_patches + 1, dim))
        self.pos_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_Block(dim, n_heads, mlp_ratio, qkv_bias, qk_norm, dropout, attn_dropout,
                                           init_values) for _ in range(n_layers))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for p in (self.cls_token, self.position_embedding, self.temporal_embedding):
            nn.init.trunc_normal_(p, std=0.02)
        with torch.no_grad():  # residual branches shrink with depth
            for i, block in enumerate(self.blocks):
                block.attn.proj.weight.div_((2.0 * (i + 1)) ** 0.5)
                block.mlp[2].weight.div_((2.0 * (i + 1)) ** 0.5)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests (patches of 200 samples, width 4 x 25 = 100)."""
        return {"n_channels": n_channels, "n_times": n_times, "conv_channels": 4, "n_layers": 1, "n_heads": 2}

    def all_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> [B, 1 + C * N, D]``: the class token, then the patch tokens (normalised)."""
        check_input(self, x, self.n_channels, self.n_times)
        b = x.shape[0]
        tokens = self.patch_embed.temporal_conv(x.reshape(b, self.n_channels, self.n_patches, self.patch_size))
        tokens = tokens.reshape(b, self.n_channels, self.n_patches, self.embed_dim)
        tokens = tokens + self.position_embedding[0, self.channel_rows][:, None, :]
        tokens = tokens + self.temporal_embedding[0, : self.n_patches]
        cls = (self.cls_token + self.position_embedding[:, :1]).expand(b, -1, -1)
        h = self.pos_drop(torch.cat((cls, tokens.reshape(b, self.n_tokens, self.embed_dim)), dim=1))
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> patch tokens[B, C * N, D]``."""
        return self.all_tokens(x)[:, 1:]

    def reference_features(self, x: torch.Tensor) -> torch.Tensor:
        """The patch tokens ``[B, C * N, D]``."""
        return self.forward_features(x)

    def head_input(self, x: torch.Tensor) -> torch.Tensor:
        """The class token ``[B, D]`` (what the reference's head reads)."""
        return self.all_tokens(x)[:, 0]

    def build_head(self, n_outputs: int) -> nn.Module:
        """Linear on the class token (the reference's ``final_layer``)."""
        return nn.Linear(self.embed_dim, n_outputs)

    def layer_groups(self) -> list[nn.Module]:
        """Patch embedding with the class token and the electrode/time tables, each block, the final norm.

        The groups are views built on each call (they share the parameters, nothing is copied).
        """
        tables = nn.ParameterList([self.cls_token, self.position_embedding, self.temporal_embedding])
        return [nn.ModuleList([self.patch_embed, tables]), *self.blocks, self.norm]
