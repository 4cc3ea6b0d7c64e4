"""``clip``: align an encoder's embeddings to fixed target embeddings (e.g. frozen CLIP image features).

Each batch carries ``x[B, C, T]`` and ``target_embedding[B, E]`` (the frozen image embedding of the
stimulus each window was recorded for). A linear projection maps the encoder embedding ``[B, D]`` to
``[B, E]``; the loss is the symmetric InfoNCE of CLIP over cosine similarities divided by a
temperature (fixed, or learnable through its logarithm). Only the encoder and the projection
train; the targets are never updated.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.masked import batch_input
from neurorep.objectives.registry import register_objective

__all__ = ["Clip", "clip_loss"]


def clip_loss(a: torch.Tensor, b: torch.Tensor, temperature: float | torch.Tensor = 0.04,
              ids: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP loss) between paired rows of ``a[B, E]`` and ``b[B, E]``.

    With ``â``, ``b̂`` the L2-normalised rows and ``L = â b̂ᵀ / temperature``:
    ``loss = ½ (CE(L, I) + CE(Lᵀ, I))`` where ``CE(L, I) = -1/B Σ_i log softmax(L_i)_i``.

    ``ids[B]`` (optional): identity of each row's target (e.g. image id). Rows sharing an id are
    all positives of one another: the target distribution of row ``i`` is uniform over
    ``{j : ids_j = ids_i}``. With distinct ids this is exactly the formula above.
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"clip_loss: expected a and b of equal shape [B, E], got {tuple(a.shape)} and {tuple(b.shape)}")
    t = temperature if isinstance(temperature, torch.Tensor) else torch.tensor(float(temperature), dtype=a.dtype)
    if bool((t <= 0).any()):
        raise ValueError(f"clip_loss: temperature must be > 0, got {float(t)}")
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).t() / t.to(a.device, a.dtype)
    if ids is None:
        target = torch.arange(a.shape[0], device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    same = (ids.view(-1, 1) == ids.view(1, -1)).to(logits.dtype)
    soft = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, soft) + F.cross_entropy(logits.t(), soft))


@register_objective("clip")
class Clip(Objective):
    """CLIP alignment: ``objective(encoder, {"x", "target_embedding"[, "y"]}) -> {"loss", "clip", "top1", "temperature"}``.

    ``top1`` is the in-batch retrieval accuracy (detached). When the batch carries ``y`` (image ids)
    repeated images in one batch are treated as shared positives (see :func:`clip_loss`).

    Args:
        target_dim: size ``E`` of the target embeddings (512 for CLIP ViT-B/32).
        temperature: softmax temperature (0.04 as in NICE); the initial value when learnable.
        learnable_temperature: learn ``log(1 / temperature)`` (clamped to temperature >= 0.01).
        projection: ``linear`` (one linear layer) or ``mlp`` (Linear-GELU-Linear with a residual).
        dropout: dropout on the encoder embedding before the projection.
        use_ids: treat repeated ``y`` in a batch as shared positives.
        pool: ``mean`` projects the encoder embedding ``[B, D]``; ``flatten`` projects all its tokens
            ``[B, N * D]`` (keeps the time course; needs ``n_tokens``).
        n_tokens: tokens ``N`` the encoder yields for the training windows (``encoder.n_tokens``).
    """

    def __init__(self, target_dim: int = 512, temperature: float = 0.04, learnable_temperature: bool = False,
                 projection: str = "linear", dropout: float = 0.0, use_ids: bool = True, pool: str = "mean",
                 n_tokens: int | None = None) -> None:
        super().__init__(target_dim=target_dim, temperature=temperature, learnable_temperature=learnable_temperature,
                         projection=projection, dropout=dropout, use_ids=use_ids, pool=pool, n_tokens=n_tokens)
        owner = "clip"
        if not isinstance(target_dim, int) or isinstance(target_dim, bool) or target_dim < 1:
            raise ConfigError(f"{owner}: target_dim must be a positive integer, got {target_dim!r}")
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ConfigError(f"{owner}: temperature must be a positive number (NICE uses 0.04), got {temperature!r}")
        if projection not in ("linear", "mlp"):
            raise ConfigError(f"{owner}: projection must be 'linear' or 'mlp', got {projection!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ConfigError(f"{owner}: dropout must be in [0, 1), got {dropout!r}")
        if pool not in ("mean", "flatten"):
            raise ConfigError(f"{owner}: pool must be 'mean' or 'flatten', got {pool!r}")
        if pool == "flatten" and (not isinstance(n_tokens, int) or n_tokens < 1):
            raise ConfigError(f"{owner}: pool='flatten' needs n_tokens (the encoder's token count), got {n_tokens!r}")
        self.pool, self.n_tokens = pool, n_tokens
        self.target_dim, self.projection_kind = target_dim, projection
        self.learnable = bool(learnable_temperature)
        self.use_ids = bool(use_ids)
        self.dropout = nn.Dropout(float(dropout))
        init = torch.tensor(math.log(1.0 / float(temperature)))
        if self.learnable:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("logit_scale", init)
        self.projector: nn.Module | None = None
        self.in_dim = 0

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        """Create the projection ``[B, embed_dim] -> [B, target_dim]`` (``[B, N * embed_dim]`` when flattening)."""
        d_in = self.in_dim = embed_dim * (self.n_tokens or 1) if self.pool == "flatten" else embed_dim
        if self.projection_kind == "linear":
            self.projector = nn.Linear(d_in, self.target_dim)
        else:
            self.projector = _ResidualMLP(d_in, self.target_dim)

    @property
    def temperature(self) -> torch.Tensor:
        """Current temperature ``1 / exp(logit_scale)`` (at least 0.01)."""
        return 1.0 / self.logit_scale.clamp(max=math.log(100.0)).exp()

    def project(self, encoder: Encoder, x: torch.Tensor) -> torch.Tensor:
        """``x[B, C, T] -> [B, target_dim]`` (the aligned, not normalised, embedding)."""
        if self.projector is None:
            raise ConfigError("clip: call build(embed_dim, n_channels, n_times) before use")
        h = encoder.forward_features(x).flatten(1) if self.pool == "flatten" else encoder(x)
        if h.shape[1] != self.in_dim:
            raise ConfigError(f"clip: projection built for {self.in_dim} input features, the encoder gave "
                              f"{h.shape[1]} (pool={self.pool!r}, n_tokens={self.n_tokens})")
        return self.projector(self.dropout(h))

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Returns ``{"loss", "clip", "top1", "temperature"}`` (scalars; all but ``loss`` detached)."""
        x = batch_input(batch, "clip")
        target = batch.get("target_embedding") if isinstance(batch, dict) else None
        if target is None:
            raise ConfigError("clip: batch needs 'target_embedding' of shape [B, E] (the frozen image embeddings)")
        if target.dim() != 2 or target.shape[0] != x.shape[0] or target.shape[1] != self.target_dim:
            raise ConfigError(f"clip: target_embedding must be [{x.shape[0]}, {self.target_dim}], "
                              f"got {tuple(target.shape)}; set objective target_dim to the image embedding size")
        z = self.project(encoder, x)
        ids = batch.get("y") if self.use_ids else None
        t = self.temperature
        loss = clip_loss(z, target.detach().to(z.dtype), t, ids)
        with torch.no_grad():
            sim = F.normalize(z, dim=1) @ F.normalize(target.to(z.dtype), dim=1).t()
            top1 = (sim.argmax(dim=1) == torch.arange(len(z), device=z.device)).float().mean()
        return {"loss": loss, "clip": loss.detach(), "top1": top1, "temperature": t.detach()}


class _ResidualMLP(nn.Module):
    """``[B, D] -> [B, E]``: Linear(D, E) + Dropout(GELU(Linear(E, E))), then LayerNorm (the NICE projector)."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, out_dim)
        self.block = nn.Sequential(nn.GELU(), nn.Linear(out_dim, out_dim), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = self.inp(h)
        return self.norm(z + self.block(z))
