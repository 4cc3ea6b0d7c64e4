"""``cbramod``: CBraMod, the criss-cross EEG foundation model (Wang et al., ICLR 2025).

Each channel is cut into non-overlapping patches of ``patch_size`` samples (1 s at 200 Hz).
A patch is embedded twice and the two are added: a stack of 1-D convolutions along the patch
(``conv_stages``; each stage Conv -> GroupNorm -> GELU, the last stage's channels x remaining
samples give the width ``d_model``) and a linear map of its DFT magnitude (divided by the patch
length). A depth-wise 19 x 7 convolution over the (channel, patch) grid gives an asymmetric
conditional position encoding that is added. ``n_layers`` criss-cross blocks follow: pre-norm,
half of the width attends across channels at each patch position ("spatial"), the other half
across patches within each channel ("temporal"), the halves are concatenated and added back,
then a GELU feed-forward block. A linear map to ``emb_dim`` gives the features
``[B, C, N, emb_dim]``.

Weight-compatible with braindecode 1.8.1's ``CBraMod`` (parameter names, head ``final_layer``:
flatten + linear). ``forward_features`` returns the features as ``[B, C * N, emb_dim]`` tokens
(channel-major); ``forward`` their mean.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.published._base import PublishedCard, PublishedEncoder, RealDFT, check_divisible
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["CBraMod"]

# [channels, kernel, stride, padding, groups of the GroupNorm] per patch-convolution stage
DEFAULT_STAGES = [[25, 49, 25, 24, 5], [25, 3, 1, 1, 5], [25, 3, 1, 1, 5]]


class _PatchEmbedding(nn.Module):
    """``patches[B, C, N, P] -> tokens[B, C, N, d_model]`` (convolutional + spectral + position)."""

    def __init__(self, patch_size: int, stages: list[list[int]], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch, length = 1, patch_size
        for channels, kernel, stride, padding, groups in stages:
            layers += [nn.Conv2d(in_ch, channels, (1, kernel), (1, stride), (0, padding)),
                       nn.GroupNorm(groups, channels), nn.GELU()]
            in_ch, length = channels, (length + 2 * padding - kernel) // stride + 1
        self.d_model = in_ch * length
        d = self.d_model
        self.positional_encoding = nn.Sequential(nn.Conv2d(d, d, (19, 7), padding=(9, 3), groups=d))
        # kept for weight compatibility: the pretraining mask token (unused when not masking)
        self.register_buffer("mask_encoding", torch.zeros(patch_size))
        self.proj_in = nn.Sequential(*layers)
        self.spectral_proj = nn.Sequential(nn.Linear(patch_size // 2 + 1, d), nn.Dropout(dropout))
        self.dft = RealDFT(patch_size, normalise=True)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        b, c, n, p = patches.shape
        conv = self.proj_in(patches.reshape(b, 1, c * n, p))  # [B, F, C*N, P']
        f, p2 = conv.shape[1], conv.shape[3]
        conv = conv.reshape(b, f, c, n, p2).permute(0, 2, 3, 1, 4).reshape(b, c, n, f * p2)
        tokens = conv + self.spectral_proj(self.dft(patches))
        return tokens + self.positional_encoding(tokens.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class _SelfAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter names, on the fused kernel.

    ``x[B, N, E] -> [B, N, E]``; dropout on the attention weights while training.
    """

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, e = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).reshape(b, n, 3, self.heads, e // self.heads) \
            .permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, e))


class _CrissCrossLayer(nn.Module):
    """Pre-norm block: spatial attention on one half of the width, temporal on the other; FFN."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        half = d_model // 2
        self.self_attn_s = _SelfAttention(half, n_heads // 2, dropout)
        self.self_attn_t = _SelfAttention(half, n_heads // 2, dropout)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, N, D] -> [B, C, N, D]``."""
        b, c, n, d = x.shape
        h = self.norm1(x)
        half = d // 2
        s = h[..., :half].transpose(1, 2).reshape(b * n, c, half)  # across channels
        s = self.self_attn_s(s).reshape(b, n, c, half).transpose(1, 2)
        t = h[..., half:].reshape(b * c, n, d - half)  # across patches
        t = self.self_attn_t(t).reshape(b, c, n, d - half)
        x = x + self.dropout1(torch.cat((s, t), dim=3))
        ff = self.linear2(self.dropout(self.activation(self.linear1(self.norm2(x)))))
        return x + self.dropout2(ff)


class _Layers(nn.Module):
    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


@register_encoder("cbramod")
class CBraMod(PublishedEncoder):
    """CBraMod (criss-cross transformer over channel x patch tokens); braindecode-compatible weights."""

    reference_class = "CBraMod"
    head_prefix = "final_layer."
    default_embed_dim = 200
    card = PublishedCard(
        paper="Wang et al., CBraMod: A Criss-Cross Brain Foundation Model for EEG Decoding, ICLR 2025",
        sfreq=200.0, patch_samples=200, units="100 uV (signals in uV divided by 100)",
        hub_ids=("braindecode/cbramod-pretrained",),
        licence="BSD-3-Clause on the braindecode/cbramod-pretrained hub copy; the authors' release "
                "(weighting666/CBraMod) states no licence",
        licence_source="huggingface.co/braindecode/cbramod-pretrained (model-card metadata); "
                       "github.com/wjq-learning/CBraMod README (no licence file found)")
    reference_names = {**PublishedEncoder.reference_names, "patch_size": "patch_size", "dim_feedforward": "d_ff",
                       "n_layer": "n_layers", "nhead": "n_heads", "emb_dim": "emb_dim", "drop_prob": "dropout",
                       "channels_kernel_stride_padding_norm": "conv_stages"}

    @classmethod
    def kwargs_from_reference(cls, reference: dict[str, Any]) -> dict[str, Any]:
        """As the base; the reference's ``(channels, kernel, stride, padding, (groups, channels))`` stages
        become ``[channels, kernel, stride, padding, groups]``."""
        out = super().kwargs_from_reference(reference)
        if "conv_stages" in out:
            stages = []
            for channels, kernel, stride, padding, (groups, norm_channels) in out["conv_stages"]:
                if norm_channels != channels:
                    raise ConfigError(f"cbramod: GroupNorm over {norm_channels} channels after a {channels}-channel "
                                      "convolution cannot be built")
                stages.append([channels, kernel, stride, padding, groups])
            out["conv_stages"] = stages
        return out

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        sfreq: float = 200.0,
        patch_size: int = 200,
        d_ff: int = 800,
        n_layers: int = 12,
        n_heads: int = 8,
        emb_dim: int = 200,
        conv_stages: list[list[int]] | None = None,
        dropout: float = 0.1,
    ) -> None:
        stages = [list(s) for s in (conv_stages if conv_stages is not None else DEFAULT_STAGES)]
        super().__init__(n_channels=n_channels, n_times=n_times, sfreq=sfreq, patch_size=patch_size, d_ff=d_ff,
                         n_layers=n_layers, n_heads=n_heads, emb_dim=emb_dim, conv_stages=stages, dropout=dropout)
        owner = "cbramod"
        for field, value in (("n_channels", n_channels), ("n_times", n_times), ("patch_size", patch_size),
                             ("d_ff", d_ff), ("n_layers", n_layers), ("n_heads", n_heads), ("emb_dim", emb_dim)):
            check_int(owner, field, value)
        check_rate(owner, "dropout", dropout)
        check_divisible(owner, n_times, patch_size)
        if n_heads % 2:
            raise ConfigError(f"{owner}: n_heads={n_heads} must be even (half the heads attend across channels)")
        if not stages or any(len(s) != 5 for s in stages):
            raise ConfigError(f"{owner}: conv_stages must be a non-empty list of "
                              f"[channels, kernel, stride, padding, groups], got {stages}")
        self.n_channels, self.n_times, self.patch_size = n_channels, n_times, patch_size
        self.n_patches = n_times // patch_size
        self.patch_embedding = _PatchEmbedding(patch_size, stages, dropout)
        d_model = self.patch_embedding.d_model
        if d_model % 2 or (d_model // 2) % (n_heads // 2):
            raise ConfigError(f"{owner}: the patch width d_model={d_model} (from conv_stages) must be even and "
                              f"its half divisible by n_heads / 2 = {n_heads // 2}")
        self.encoder = _Layers([_CrissCrossLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)])
        self.proj_out = nn.Sequential(nn.Linear(d_model, emb_dim))
        self.embed_dim = emb_dim
        self.n_tokens = n_channels * self.n_patches
        for m in self.modules():  # same initialisation scheme as the paper's code
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests (patch 200 samples, so ``n_times`` must be a multiple of 200)."""
        return {"n_channels": n_channels, "n_times": n_times, "d_ff": 32, "n_layers": 1, "n_heads": 4,
                "emb_dim": 16, "conv_stages": [[4, 49, 25, 24, 2], [4, 3, 1, 1, 2]]}

    def reference_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> features[B, C, N, emb_dim]`` (N = T / patch_size)."""
        check_input(self, x, self.n_channels, self.n_times)
        patches = x.reshape(x.shape[0], self.n_channels, self.n_patches, self.patch_size)
        return self.proj_out(self.encoder(self.patch_embedding(patches)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, C * N, emb_dim]``."""
        feats = self.reference_features(x)
        return feats.reshape(feats.shape[0], self.n_tokens, self.embed_dim)

    def build_head(self, n_outputs: int) -> nn.Module:
        """Flatten + linear over all ``C * N * emb_dim`` features (the reference's ``final_layer``)."""
        return nn.Sequential(nn.Flatten(), nn.Linear(self.n_tokens * self.embed_dim, n_outputs))

    def layer_groups(self) -> list[nn.Module]:
        """Patch embedding, each criss-cross block, then the output projection."""
        return [self.patch_embedding, *self.encoder.layers, self.proj_out]
