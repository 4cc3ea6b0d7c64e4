"""``biot``: BIOT, the biosignal transformer for cross-data learning (Yang et al., NeurIPS 2023).

Each channel is turned into a magnitude spectrogram (DFT of ``n_fft`` samples, rectangular
window, hop ``hop_length``, no centring; ``n_fft`` is one second, ``sfreq`` samples, or the whole
window when it is shorter than a second). Each spectrogram column becomes a token through a
linear map of its ``n_fft // 2 + 1`` magnitudes; a learned per-channel embedding and a
sinusoidal position (the column's index within its channel) are added, and the tokens of all
channels are concatenated into one sequence. ``n_layers`` pre-norm blocks of linear attention
(softmax of the queries over features, of the keys over the sequence; cost linear in the
sequence length) and GELU feed-forward layers follow. The features are the mean over tokens.

Weight-compatible with braindecode 1.8.1's ``BIOT`` (parameter names, including the
sinusoidal table ``encoder.positional_encoding.pe``; head ``final_layer``: ELU + linear).
``forward_features`` returns the ``[B, C * n_frames, embed_dim]`` tokens, ``forward`` their mean
(= the reference's features).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neurorep.checks import check_input, check_int, check_rate
from neurorep.encoders.published._base import PublishedCard, PublishedEncoder, RealDFT
from neurorep.encoders.registry import register_encoder
from neurorep.errors import ConfigError

__all__ = ["BIOT", "sinusoidal_table"]

N_POSITIONS = 1000  # rows of the reference's sinusoidal table (most frames per channel)


def sinusoidal_table(n_positions: int, dim: int) -> torch.Tensor:
    """``[n_positions, dim]``: sine on even, cosine on odd features, wavelengths up to 10000."""
    width = dim + dim % 2
    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(n_positions, width)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table[:, :dim].contiguous()


class _Named(nn.Module):
    """Holds ``fn`` (and a ``norm`` when ``dim`` is given) under the reference's parameter names."""

    def __init__(self, fn: nn.Module, dim: int | None = None) -> None:
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim) if dim is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x if self.norm is None else self.norm(x))


class _LinearAttention(nn.Module):
    """Global linear attention: ``softmax_d(q) (softmax_n(k)^T v)``, heads of ``dim // heads``."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.d_head = heads, dim // heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, N, D] -> [B, N, D]``."""
        b, n, d = x.shape
        q, k, v = (f(x).reshape(b, n, self.heads, self.d_head).transpose(1, 2)
                   for f in (self.to_q, self.to_k, self.to_v))
        q = q.softmax(dim=-1) * self.d_head**-0.5
        context = k.softmax(dim=-2).transpose(-1, -2) @ v  # [B, H, d_head, d_head]
        out = (q @ context).transpose(1, 2).reshape(b, n, d)
        return self.dropout(self.to_out(out))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, dim * mult)
        self.act = nn.GELU()
        self.w2 = nn.Linear(dim * mult, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(self.act(self.w1(x)))


class _Transformer(nn.Module):
    """``layers.layers[i] = [attention, feed-forward]``, each pre-norm with a residual."""

    def __init__(self, dim: int, depth: int, heads: int, dropout: float) -> None:
        super().__init__()
        blocks = [nn.ModuleList([_Named(_LinearAttention(dim, heads, dropout), dim),
                                 _Named(_Named(_FeedForward(dim)), dim)]) for _ in range(depth)]
        self.layers = nn.Module()
        self.layers.layers = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ff in self.layers.layers:
            x = x + attn(x)
            x = x + ff(x)
        return x


class _PositionalEncoding(nn.Module):
    """Holds the sinusoidal table ``pe[1, 1000, D]`` and its dropout (applied by :class:`_Backbone`)."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(N_POSITIONS, dim)[None])
        self.dropout = nn.Dropout(dropout)


class _Backbone(nn.Module):
    """Spectrogram tokens + channel and position embeddings -> linear-attention transformer."""

    def __init__(self, n_channels: int, dim: int, heads: int, depth: int, n_fft: int, hop: int,
                 dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.patch_embedding = nn.Module()
        self.patch_embedding.projection = nn.Linear(n_fft // 2 + 1, dim)
        self.transformer = _Transformer(dim, depth, heads, attn_dropout)
        self.positional_encoding = _PositionalEncoding(dim, dropout)
        self.channel_tokens = nn.Embedding(n_channels, dim)
        self.dft = RealDFT(n_fft)

    def forward(self, x: torch.Tensor, n_frames: int) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, C * n_frames, D]`` (channel-major)."""
        b, c, _ = x.shape
        frames = x.unfold(2, self.n_fft, self.hop)  # [B, C, F, n_fft]
        tokens = self.patch_embedding.projection(self.dft(frames))  # [B, C, F, D]
        tokens = tokens + self.channel_tokens.weight[:, None, :] + self.positional_encoding.pe[0, :n_frames]
        tokens = self.positional_encoding.dropout(tokens)
        return self.transformer(tokens.reshape(b, c * n_frames, -1))


@register_encoder("biot")
class BIOT(PublishedEncoder):
    """BIOT (per-channel spectrogram tokens, linear-attention transformer); braindecode-compatible weights."""

    reference_class = "BIOT"
    head_prefix = "final_layer."
    default_embed_dim = 256
    card = PublishedCard(
        paper="Yang et al., BIOT: Biosignal Transformer for Cross-data Learning in the Wild, NeurIPS 2023",
        sfreq=200.0, patch_samples=200, normalisation="each channel divided by its 95th percentile of |x|",
        hub_ids=("braindecode/biot-pretrained-prest-16chs", "braindecode/biot-pretrained-shhs-prest-18chs",
                 "braindecode/biot-pretrained-six-datasets-18chs"),
        licence="MIT (the authors' repository ycq091044/BIOT, which ships the weights); BSD-3-Clause on the "
                "braindecode hub copies",
        licence_source="github.com/ycq091044/BIOT/LICENSE; huggingface.co/braindecode/"
                       "biot-pretrained-six-datasets-18chs (model-card metadata)")
    reference_names = {**PublishedEncoder.reference_names, "embed_dim": "embed_dim", "num_heads": "n_heads",
                       "num_layers": "n_layers", "hop_length": "hop_length", "drop_prob": "dropout",
                       "att_layer_drop_prob": "attn_dropout"}

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        sfreq: float = 200.0,
        embed_dim: int = 256,
        n_heads: int = 8,
        n_layers: int = 4,
        hop_length: int = 100,
        dropout: float = 0.5,
        attn_dropout: float = 0.2,
    ) -> None:
        super().__init__()
        owner = "biot"
        for field, value in (("n_channels", n_channels), ("n_times", n_times), ("embed_dim", embed_dim),
                             ("n_heads", n_heads), ("n_layers", n_layers), ("hop_length", hop_length)):
            check_int(owner, field, value)
        check_rate(owner, "dropout", dropout)
        check_rate(owner, "attn_dropout", attn_dropout)
        if embed_dim % n_heads:
            raise ConfigError(f"{owner}: embed_dim={embed_dim} must be divisible by n_heads={n_heads}")
        if not sfreq or sfreq <= 0 or float(sfreq) != int(sfreq):
            raise ConfigError(f"{owner}: sfreq must be a positive whole number of Hz (one-second DFT), got {sfreq!r}")
        # as the reference: one-second frames, or the whole window when it is shorter than a second
        self.n_fft = int(sfreq) if n_times >= sfreq else n_times
        self.hop_length = int(sfreq) // 2 if hop_length > sfreq else hop_length
        self.n_frames = (n_times - self.n_fft) // self.hop_length + 1
        if self.n_frames > N_POSITIONS:
            raise ConfigError(f"{owner}: n_times={n_times} gives {self.n_frames} frames per channel; at most "
                              f"{N_POSITIONS} fit the position table (raise hop_length or shorten the window)")
        self.n_channels, self.n_times, self.embed_dim = n_channels, n_times, embed_dim
        self.n_tokens = n_channels * self.n_frames
        self.encoder = _Backbone(n_channels, embed_dim, n_heads, n_layers, self.n_fft, self.hop_length,
                                 dropout, attn_dropout)

    @classmethod
    def tiny_kwargs(cls, n_channels: int, n_times: int) -> dict[str, Any]:
        """A very small variant for tests."""
        return {"n_channels": n_channels, "n_times": n_times, "embed_dim": 16, "n_heads": 2, "n_layers": 1,
                "hop_length": 200}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> tokens[B, C * n_frames, embed_dim]``."""
        check_input(self, x, self.n_channels, self.n_times)
        return self.encoder(x, self.n_frames)

    def reference_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> features[B, embed_dim]`` (mean over tokens)."""
        return self.forward_features(x).mean(dim=1)

    def build_head(self, n_outputs: int) -> nn.Module:
        """ELU then linear (the reference's ``final_layer``)."""
        head = nn.Sequential()
        head.add_module("activation_layer", nn.ELU())
        head.add_module("classification_head", nn.Linear(self.embed_dim, n_outputs))
        return head

    @classmethod
    def count_is_fixed(cls, kwargs: dict[str, Any]) -> bool:
        """The learned channel-token table has one row per channel."""
        return True

    @classmethod
    def channels_in_checkpoint(cls, state: dict[str, torch.Tensor]) -> int | None:
        """Rows of the checkpoint's channel-token table."""
        table = state.get("encoder.channel_tokens.weight")
        return int(table.shape[0]) if table is not None and table.dim() == 2 else None

    def layer_groups(self) -> list[nn.Module]:
        """Token embeddings, then each transformer block."""
        enc = self.encoder
        return [nn.ModuleList([enc.patch_embedding, enc.channel_tokens]), *enc.transformer.layers.layers]
