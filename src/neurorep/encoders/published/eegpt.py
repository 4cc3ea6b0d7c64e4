"""``eegpt``: EEGPT, the pretrained transformer for universal EEG representations (Wang et al., NeurIPS 2024).

The recording is first mapped to the 19 electrodes the published model was fine-tuned on by a
learned 1 x 1 convolution whose per-electrode weight rows are held to an L2 norm of at most
``projection_max_norm`` (``channel_projection="conv"``; ``"linear"`` is the same map as a
linear layer, ``"none"`` feeds the channels as they are). The window is zero-padded at the end
so that patches of ``patch_size`` samples every ``patch_stride`` samples cover it; each
(patch, electrode) pair becomes a ``d_model``-wide token (a convolution over the patch) plus the
learned embedding of its electrode (62 names, :data:`EEGPT_CHANNELS`). For every patch position,
the electrode tokens and ``embed_num`` learned summary tokens run through ``n_layers`` pre-norm
ViT blocks; the normalised summary tokens are the output: ``[B, n_patches, embed_num * d_model]``.

Weight-compatible with braindecode 1.8.1's ``EEGPT`` (parameter names, ``chans_id`` buffer; head
``final_layer``: a max-norm linear probe per patch, dropout, then a max-norm linear over the
patches). ``forward_features`` returns those features (one token per patch, ``embed_dim =
embed_num * d_model``); ``forward`` their mean.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.published._base import PublishedCard, PublishedEncoder
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError, unknown_name_message

__all__ = ["EEGPT", "EEGPT_CHANNELS", "EEGPT_19_CHANNELS"]

#: rows of the published electrode-embedding table
EEGPT_CHANNELS: tuple[str, ...] = tuple("""
FP1 FPZ FP2 AF7 AF3 AF4 AF8 F7 F5 F3 F1 FZ F2 F4 F6 F8 FT7 FC5 FC3 FC1 FCZ FC2 FC4 FC6 FT8 T7 C5 C3 C1
CZ C2 C4 C6 T8 TP7 CP5 CP3 CP1 CPZ CP2 CP4 CP6 TP8 P7 P5 P3 P1 PZ P2 P4 P6 P8 PO7 PO5 PO3 POZ PO4 PO6
PO8 O1 OZ O2
""".split())
#: the electrodes the channel projection maps onto
EEGPT_19_CHANNELS: tuple[str, ...] = ("FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T7", "C3", "CZ", "C4", "T8",
                                      "P7", "P3", "PZ", "P4", "P8", "O1", "O2")
_INDEX = {name: i for i, name in enumerate(EEGPT_CHANNELS)}
PROJECTIONS = ("conv", "linear", "none")


class _MaxNorm(nn.Module):
    """Weight parametrisation: every slice along dim 0 scaled down to an L2 norm of at most ``max_norm``."""

    def __init__(self, max_norm: float) -> None:
        super().__init__()
        self.max_norm = max_norm

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        norm = w.reshape(w.shape[0], -1).norm(dim=1).reshape(-1, *([1] * (w.dim() - 1)))
        return w * torch.where(norm > self.max_norm, self.max_norm / (norm + 1e-7), torch.ones_like(norm))


def max_norm(layer: nn.Module, limit: float) -> nn.Module:
    """``layer`` with its weight held to row norms of at most ``limit``."""
    parametrize.register_parametrization(layer, "weight", _MaxNorm(limit))
    return layer


def channel_ids(ch_names: list[str] | None, n_channels: int, projection: str) -> torch.Tensor:
    """The ``chans_id`` buffer: electrode-table rows of the channels the transformer sees."""
    if projection != "none":
        return torch.tensor([[_INDEX[c] for c in EEGPT_19_CHANNELS]])
    if ch_names is None:
        return torch.arange(n_channels)
    if len(ch_names) != n_channels:
        raise ConfigError(f"eegpt: {len(ch_names)} ch_names given for n_channels={n_channels}")
    rows = []
    for name in ch_names:
        key = str(name).upper().strip(".")
        if key not in _INDEX:
            raise ConfigError("eegpt: " + unknown_name_message("electrode", str(name), EEGPT_CHANNELS))
        rows.append(_INDEX[key])
    return torch.tensor([rows])


class _ChannelProjection(nn.Module):
    def __init__(self, n_in: int, n_out: int, kind: str, limit: float) -> None:
        super().__init__()
        self.kind = kind
        self.proj = max_norm(nn.Conv1d(n_in, n_out, 1), limit) if kind == "conv" else nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) if self.kind == "conv" else self.proj(x.transpose(1, 2)).transpose(1, 2)


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool, attn_dropout: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_dropout if self.training else 0.0)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, d)))


class _MLP(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, qkv_bias: bool, dropout: float,
                 attn_dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, heads, qkv_bias, attn_dropout, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _MLP(dim, int(dim * mlp_ratio), dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _Transformer(nn.Module):
    """Patch tokens + electrode embeddings, summary tokens per patch position, ViT blocks."""

    def __init__(self, n_channels: int, patch_size: int, patch_stride: int, dim: int, embed_num: int, depth: int,
                 heads: int, mlp_ratio: float, qkv_bias: bool, dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.summary_token = nn.Parameter(torch.zeros(1, embed_num, dim))
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(1, dim, (1, patch_size), (1, patch_stride))
        self.chan_embed = nn.Embedding(max(len(EEGPT_CHANNELS), n_channels), dim)
        self.blocks = nn.ModuleList(_Block(dim, heads, mlp_ratio, qkv_bias, dropout, attn_dropout)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, chans_id: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T_padded] -> [B, n_patches, embed_num, D]``."""
        b, c = x.shape[0], x.shape[1]
        tokens = self.patch_embed.proj(x.unsqueeze(1))  # [B, D, C, N]
        d, n = tokens.shape[1], tokens.shape[3]
        tokens = tokens.permute(0, 3, 2, 1) + self.chan_embed(chans_id.reshape(-1)).reshape(1, 1, c, d)
        k = self.summary_token.shape[1]
        h = torch.cat((tokens.reshape(b * n, c, d), self.summary_token.expand(b * n, -1, -1)), dim=1)
        for block in self.blocks:
            h = block(h)
        return self.norm(h[:, -k:]).reshape(b, n, k, d)


@register_encoder("eegpt")
class EEGPT(PublishedEncoder):
    """EEGPT (electrode x patch tokens, summary tokens per patch); braindecode-compatible weights."""

    reference_class = "EEGPT"
    head_prefix = "final_layer."
    default_embed_dim = 2048
    card = PublishedCard(
        paper="Wang et al., EEGPT: Pretrained Transformer for Universal and Reliable Representation of EEG "
              "Signals, NeurIPS 2024",
        sfreq=256.0, patch_samples=64, channels=EEGPT_CHANNELS, hub_ids=("braindecode/eegpt-pretrained",),
        licence="none stated: the authors' repository BINE022/EEGPT has no licence file, so no reuse licence "
                "is granted; the hub copy's licence was not checked",
        licence_source="github.com/BINE022/EEGPT (file list: no LICENSE)")
    reference_names = {**PublishedEncoder.reference_names, "patch_size": "patch_size", "patch_stride": "patch_stride",
                       "embed_num": "embed_num", "embed_dim": "d_model", "depth": "n_layers", "num_heads": "n_heads",
                       "mlp_ratio": "mlp_ratio", "qkv_bias": "qkv_bias", "drop_prob": "dropout",
                       "attn_drop_rate": "attn_dropout", "chan_conv_max_norm": "projection_max_norm"}

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        sfreq: float = 256.0,
        patch_size: int = 64,
        patch_stride: int = 32,
        embed_num: int = 4,
        d_model: int = 512,
        n_layers: int = 8,
        n_heads: int = 8,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        channel_projection: str = "conv",
        projection_max_norm: float = 1.0,
        ch_names: list[str] | None = None,
    ) -> None:
        super().__init__(n_channels=n_channels, n_times=n_times, sfreq=sfreq, patch_size=patch_size,
                         patch_stride=patch_stride, embed_num=embed_num, d_model=d_model, n_layers=n_layers,
                         n_heads=n_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, dropout=dropout,
                         attn_dropout=attn_dropout, channel_projection=channel_projection,
                         projection_max_norm=projection_max_norm,
                         ch_names=list(ch_names) if ch_names is not None else None)
        owner = "eegpt"
        for field, value in (("n_channels", n_channels), ("n_times", n_times), ("patch_size", patch_size),
                             ("patch_stride", patch_stride), ("embed_num", embed_num), ("d_model", d_model),
                             ("n_layers", n_layers), ("n_heads", n_heads)):
            check_int(owner, field, value)
        check_rate(owner, "dropout", dropout)
        check_rate(owner, "attn_dropout", attn_dropout)
        if channel_projection not in PROJECTIONS:
            raise ConfigError(f"{owner}: channel_projection must be one of {', '.join(PROJECTIONS)}, "
                              f"got {channel_projection!r}")
        if d_model % n_heads:
            raise ConfigError(f"{owner}: d_model={d_model} must be divisible by n_heads={n_heads}")
        if n_times < patch_size:
            raise ConfigError(f"{owner}: n_times={n_times} is shorter than patch_size={patch_size}")
        remainder = (n_times - patch_size) % patch_stride
        self.pad = patch_stride - remainder if remainder else 0
        self.n_patches = (n_times + self.pad - patch_size) // patch_stride + 1
        self.n_channels, self.n_times = n_channels, n_times
        self.embed_num, self.d_model = embed_num, d_model
        self.embed_dim = embed_num * d_model
        self.n_tokens = self.n_patches
        n_inner = n_channels if channel_projection == "none" else len(EEGPT_19_CHANNELS)
        self.chan_proj = (nn.Identity() if channel_projection == "none"
                          else _ChannelProjection(n_channels, n_inner, channel_projection, projection_max_norm))
        self.target_encoder = _Transformer(n_inner, patch_size, patch_stride, d_model, embed_num, n_layers, n_heads,
                                           mlp_ratio, qkv_bias, dropout, attn_dropout)
        self.register_buffer("chans_id", channel_ids(ch_names, n_channels, channel_projection))
        self._init_weights()

    def _init_weights(self) -> None:
        enc = self.target_encoder
        for m in enc.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(enc.chan_embed.weight, std=0.02)
        nn.init.trunc_normal_(enc.summary_token, std=0.02)
        with torch.no_grad():  # residual branches shrink with depth
            for i, block in enumerate(enc.blocks):
                block.attn.proj.weight.div_((2.0 * (i + 1)) ** 0.5)
                block.mlp.fc2.weight.div_((2.0 * (i + 1)) ** 0.5)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests."""
        return {"n_channels": n_channels, "n_times": n_times, "patch_size": 200, "patch_stride": 200,
                "embed_num": 2, "d_model": 8, "n_layers": 1, "n_heads": 2}

    @classmethod
    def channel_rule(cls, kwargs: dict[str, Any]) -> str:
        """By name through the electrode table without the projection; by position through it."""
        return "table" if kwargs.get("channel_projection", "conv") == "none" else "position"

    @classmethod
    def count_is_fixed(cls, kwargs: dict[str, Any]) -> bool:
        """The channel projection's weight has one column per data channel."""
        return kwargs.get("channel_projection", "conv") != "none"

    @classmethod
    def channels_in_checkpoint(cls, state: dict[str, torch.Tensor]) -> int | None:
        """Input channels of the checkpoint's channel projection (convolution or linear)."""
        for key in ("chan_proj.proj.parametrizations.weight.original", "chan_proj.proj.weight"):
            if key in state and state[key].dim() >= 2:
                return int(state[key].shape[1])
        return None

    def reference_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> features[B, n_patches, embed_num * d_model]``."""
        check_input(self, x, self.n_channels, self.n_times)
        h = self.chan_proj(x)
        if self.pad:
            h = F.pad(h, (0, self.pad))
        z = self.target_encoder(h, self.chans_id)
        return z.reshape(z.shape[0], self.n_patches, self.embed_dim)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, n_patches, embed_num * d_model]``."""
        return self.reference_features(x)

    def layer_groups(self) -> list[nn.Module]:
        """Channel projection with the patch and electrode embeddings and summary tokens, each block, the norm."""
        enc = self.target_encoder
        tokens = nn.ModuleList([self.chan_proj, enc.patch_embed, enc.chan_embed, nn.ParameterList([enc.summary_token])])
        return [tokens, *enc.blocks, enc.norm]

    def build_head(self, n_outputs: int) -> nn.Module:
        """Max-norm linear probe per patch (16 wide), dropout 0.5, max-norm linear over all patches."""
        return _Probe(self.embed_dim, self.n_patches, n_outputs)


class _Probe(nn.Module):
    def __init__(self, width: int, n_patches: int, n_outputs: int, hidden: int = 16) -> None:
        super().__init__()
        self.probe1 = max_norm(nn.Linear(width, hidden), 1.0)
        self.dropout = nn.Dropout(0.5)
        self.probe2 = max_norm(nn.Linear(n_patches * hidden, n_outputs), 0.25)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``features[B, n_patches, width] -> logits[B, n_outputs]``."""
        return self.probe2(self.probe1(self.dropout(feats)).flatten(1))
