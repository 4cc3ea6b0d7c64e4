"""``masked_band_power``: hide parts of the window and predict the log band power of what is hidden.

The window ``x[B, C, T]`` is cut into ``P = T // patch`` patches of ``patch`` samples. With ``mask:
time`` (the default) ``k = max(1, round(mask_ratio * P))`` patches per window (at most ``P - 1``) are
drawn at random and set to zero on every channel; with ``mask: channels``, ``max(1, round(mask_ratio *
C))`` channels (at most ``C - 1``) are set to zero for the whole window. The encoder turns the masked
window into tokens ``[B, N, D]``; a light decoder (:class:`BandPowerDecoder`) interpolates them to one
point per patch and predicts, per channel, patch and band, the log power of that cell. The target is
computed on the window standardised per channel (so it does not depend on signal units):

    target[b, c, p, k] = log(eps + mean_{f in band k} S[b, c, p, f])

with ``S`` the one-sided Hann-windowed periodogram of patch ``p`` (density scaling, as
``scipy.signal.periodogram(..., window="hann", detrend=False)``). With ``target_norm: batch`` (the
default) the target is then standardised per channel and band over the batch's windows and patches,
so predicting the batch mean scores 1 whatever the bands' absolute power. The loss is the mean
squared error over the hidden cells only (a hidden patch: every channel and band of it; a hidden
channel: every patch and band of it).

Unlike sample reconstruction (``masked_prediction``), whose target decorrelates within a few tens of
milliseconds and leaves predicting zero as the best guess, band power varies slowly in time and
smoothly over the scalp, so what is visible carries information about what is hidden, and the
encoder is pushed to represent the power of the bands it is asked about.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurorep.checks import check_fraction, check_int, check_option, check_positive
from neurorep.encoders.base import Encoder
from neurorep.errors import ConfigError
from neurorep.objectives.base import Objective
from neurorep.objectives.masked import batch_input, make_generator, standardize
from neurorep.objectives.masked_sensor import sensor_mask
from neurorep.objectives.registry import register_objective

__all__ = ["BandPowerDecoder", "MaskedBandPower", "log_band_power", "masked_band_power_loss", "patch_mask",
           "standardize_bands"]

#: theta, mu (alpha), beta: the rhythms of motor tasks
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((4.0, 8.0), (8.0, 13.0), (13.0, 30.0))


def _check_bands(owner: str, bands: Any, sfreq: float, patch: int) -> list[tuple[float, float]]:
    """Bands as ``[(low, high), ...]`` with ``0 <= low < high <= sfreq / 2``, each holding a frequency bin."""
    if not isinstance(bands, (list, tuple)) or not bands:
        raise ConfigError(f"{owner}: bands must be a non-empty list of [low, high] pairs in Hz, got {bands!r}")
    out = []
    resolution = sfreq / patch
    for band in bands:
        if (not isinstance(band, (list, tuple)) or len(band) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in band)):
            raise ConfigError(f"{owner}: bands: each must be a [low, high] pair in Hz, got {band!r}")
        low, high = float(band[0]), float(band[1])
        if not 0 <= low < high <= sfreq / 2:
            raise ConfigError(f"{owner}: bands: {band!r} must satisfy 0 <= low < high <= sfreq/2 = {sfreq / 2:g} Hz")
        if math.floor(high / resolution) < math.ceil(low / resolution):
            raise ConfigError(f"{owner}: bands: {band!r} holds no frequency bin of a {patch}-sample patch at "
                              f"{sfreq:g} Hz (bin spacing {resolution:g} Hz); use longer patches or wider bands")
        out.append((low, high))
    return out


def log_band_power(x: torch.Tensor, sfreq: float, bands: Sequence[tuple[float, float]], patch: int,
                   eps: float = 1e-6) -> torch.Tensor:
    """Log band power of consecutive patches: ``x[B, C, T] -> [B, C, P, K]`` with ``P = T // patch``.

    Each patch is multiplied by a periodic Hann window; ``S = |rfft|^2 / (sfreq * sum(w^2))``, doubled
    except at 0 Hz and (for an even patch) the Nyquist bin, is the one-sided density periodogram; the
    value is ``log(eps + mean of S over the bins with low <= f <= high)``. Samples after the last
    whole patch are not used.
    """
    if x.dim() != 3:
        raise ValueError(f"log_band_power: expected x of shape [B, C, T], got {tuple(x.shape)}")
    n_patches = x.shape[-1] // patch
    if n_patches < 1:
        raise ValueError(f"log_band_power: a window of {x.shape[-1]} samples holds no {patch}-sample patch")
    patches = x[..., : n_patches * patch].reshape(*x.shape[:2], n_patches, patch)
    window = torch.hann_window(patch, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.fft.rfft(patches * window, dim=-1).abs() ** 2 / (sfreq * (window**2).sum())
    scale = torch.full((spec.shape[-1],), 2.0, dtype=x.dtype, device=x.device)
    scale[0] = 1.0
    if patch % 2 == 0:
        scale[-1] = 1.0
    spec = spec * scale
    freqs = torch.fft.rfftfreq(patch, d=1.0 / sfreq).to(x.device)
    powers = []
    for low, high in bands:
        sel = (freqs >= low) & (freqs <= high)
        powers.append(spec[..., sel].mean(dim=-1))
    return torch.log(torch.stack(powers, dim=-1) + eps)


def standardize_bands(power: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``power[B, C, P, K]`` standardised per channel and band over the batch and its patches (zero mean,
    unit std over ``B`` and ``P``), so every channel and band weighs alike in the loss and predicting the
    mean scores 1."""
    mean = power.mean(dim=(0, 2), keepdim=True)
    std = power.std(dim=(0, 2), keepdim=True, unbiased=False)
    return (power - mean) / std.clamp(min=eps)


def patch_mask(batch: int, n_patches: int, ratio: float, generator: torch.Generator | None = None,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """Bool ``[B, P]``: exactly ``max(1, round(ratio * P))`` (at most ``P - 1``) hidden patches per row."""
    if n_patches < 2:
        raise ConfigError(f"masked_band_power: a window must hold at least 2 patches to hide one, got {n_patches}")
    return sensor_mask(batch, n_patches, ratio, generator, device)  # the same draw: k of n entries per row


def masked_band_power_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred - target)^2`` over the hidden cells: ``pred, target [B, C, P, K]``; ``mask`` bool, True
    = hidden, ``[B, C, P]`` or broadcastable to it (``[B, 1, P]``: hidden patches, ``[B, C, 1]``: hidden
    channels); every band of a hidden cell counts."""
    if pred.shape != target.shape or pred.dim() != 4 or mask.dim() != 3:
        raise ValueError(f"masked_band_power_loss: expected pred, target [B, C, P, K] and mask [B, C, P], got "
                         f"{tuple(pred.shape)}, {tuple(target.shape)}, {tuple(mask.shape)}")
    try:
        full = mask.bool()[..., None].expand_as(pred)
    except RuntimeError:
        raise ValueError(f"masked_band_power_loss: mask {tuple(mask.shape)} does not broadcast to "
                         f"{tuple(pred.shape[:3])}") from None
    diff = torch.where(full, pred - target, torch.zeros_like(pred))
    return (diff**2).sum() / full.sum().clamp(min=1)


class BandPowerDecoder(nn.Module):
    """Tokens ``[B, N, D]`` (any ``N``) -> log band power ``[B, C, P, K]``: the tokens are linearly
    interpolated along time to ``P`` points (one per patch), then a convolution (kernel 3) and a
    pointwise one map ``D -> hidden -> C * K``."""

    def __init__(self, embed_dim: int, n_channels: int, n_patches: int, n_bands: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_channels, self.n_patches, self.n_bands = n_channels, n_patches, n_bands
        self.net = nn.Sequential(nn.Conv1d(embed_dim, hidden, 3, padding=1), nn.GELU(),
                                 nn.Conv1d(hidden, n_channels * n_bands, 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(tokens.transpose(1, 2), size=self.n_patches, mode="linear", align_corners=False)
        out = self.net(h)  # [B, C * K, P]
        return out.view(tokens.shape[0], self.n_channels, self.n_bands, self.n_patches).transpose(2, 3)


@register_objective("masked_band_power")
class MaskedBandPower(Objective):
    """``objective(encoder, {"x": x[B, C, T]}) -> {"loss", "masked_band_power", "explained"}``.

    ``explained`` is ``1 - loss / floor`` with ``floor`` the same loss for a prediction of each channel
    and band's mean target over the batch: 0 is no better than predicting that mean.

    Args:
        sfreq: sampling rate in Hz (the ssl recipe passes the cache's).
        patch_seconds: patch length in seconds (rounded to samples).
        mask: ``time``: hide whole patches on every channel; ``channels``: hide whole channels for the
            whole window (the encoder must infer a channel's band power from the others).
        mask_ratio: fraction of a window's patches (``time``) or channels (``channels``) hidden.
        bands: ``[[low, high], ...]`` in Hz whose log power is predicted (default theta, mu, beta).
        target_norm: ``batch``: standardise the target per channel and band over the batch's windows and
            patches (:func:`standardize_bands`); ``spatial``: first subtract, per window, patch and band,
            the mean log power over channels (the target is then the band power's topography: which
            channels are above or below the others, e.g. a one-sided mu drop), then standardise as
            ``batch``; ``none``: the raw log power.
        decoder_hidden: decoder width.
        seed: seed of this objective's generator; ``None`` uses the global RNG.
    """

    def __init__(self, sfreq: float = 100.0, patch_seconds: float = 0.5, mask: str = "time", mask_ratio: float = 0.5,
                 bands: Sequence[Sequence[float]] = DEFAULT_BANDS, target_norm: str = "batch", decoder_hidden: int = 64,
                 seed: int | None = None) -> None:
        owner = "masked_band_power"
        sfreq = check_positive(owner, "sfreq", sfreq)
        patch_seconds = check_positive(owner, "patch_seconds", patch_seconds)
        patch = int(round(patch_seconds * sfreq))
        if patch < 4:
            raise ConfigError(f"{owner}: patch_seconds={patch_seconds:g} is {patch} samples at {sfreq:g} Hz; "
                              "a patch needs at least 4 samples")
        band_list = _check_bands(owner, bands, sfreq, patch)
        super().__init__(sfreq=sfreq, patch_seconds=patch_seconds, mask=mask, mask_ratio=mask_ratio,
                         bands=[list(b) for b in band_list], target_norm=target_norm, decoder_hidden=decoder_hidden,
                         seed=seed)
        self.target_norm = check_option(owner, "target_norm", target_norm, ("batch", "spatial", "none"))
        self.mask = check_option(owner, "mask", mask, ("time", "channels"))
        self.sfreq, self.patch, self.bands = sfreq, patch, band_list
        self.mask_ratio = check_fraction(owner, "mask_ratio", mask_ratio)
        self.decoder_hidden = check_int(owner, "decoder_hidden", decoder_hidden)
        self.generator = make_generator(seed)
        self.decoder: BandPowerDecoder | None = None

    def build(self, embed_dim: int, n_channels: int, n_times: int) -> None:
        n_patches = n_times // self.patch
        need = 2 if self.mask == "time" else 1
        if n_patches < need:
            raise ConfigError(f"masked_band_power: windows of {n_times} samples hold {n_patches} patch(es) of "
                              f"{self.patch} samples; at least {need} needed with mask: {self.mask} "
                              "(shorten patch_seconds)")
        if self.mask == "channels" and n_channels < 2:
            raise ConfigError(f"masked_band_power: mask: channels needs at least 2 channels, got {n_channels}")
        self.decoder = BandPowerDecoder(embed_dim, n_channels, n_patches, len(self.bands), self.decoder_hidden)

    def forward(self, encoder: Encoder, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x = batch_input(batch, "masked_band_power")
        if self.decoder is None:
            raise ConfigError("masked_band_power: call build(embed_dim, n_channels, n_times) before training")
        n_patches = x.shape[-1] // self.patch
        if (x.shape[1], n_patches) != (self.decoder.n_channels, self.decoder.n_patches):
            raise ConfigError(f"masked_band_power: built for {self.decoder.n_channels} channels and "
                              f"{self.decoder.n_patches} patches, got batch['x'] of shape {tuple(x.shape)}")
        if self.mask == "time":
            hidden_patches = patch_mask(x.shape[0], n_patches, self.mask_ratio, self.generator, x.device)
            sample_mask = hidden_patches.repeat_interleave(self.patch, dim=1)
            if sample_mask.shape[1] < x.shape[-1]:  # the tail after the last whole patch stays visible
                sample_mask = F.pad(sample_mask, (0, x.shape[-1] - sample_mask.shape[1]), value=False)
            hidden = torch.where(sample_mask[:, None, :], torch.zeros_like(x), x)
            mask = hidden_patches[:, None, :]  # [B, 1, P]
        else:
            hidden_channels = sensor_mask(x.shape[0], x.shape[1], self.mask_ratio, self.generator, x.device)
            hidden = torch.where(hidden_channels[:, :, None], torch.zeros_like(x), x)
            mask = hidden_channels[:, :, None]  # [B, C, 1]
        pred = self.decoder(encoder.forward_features(hidden))
        with torch.no_grad():
            target = log_band_power(standardize(x), self.sfreq, self.bands, self.patch)
            if self.target_norm == "spatial":
                target = target - target.mean(dim=1, keepdim=True)
            if self.target_norm in ("batch", "spatial"):
                target = standardize_bands(target)
        loss = masked_band_power_loss(pred, target, mask)
        with torch.no_grad():  # the same loss for a prediction of each channel and band's batch mean
            floor = masked_band_power_loss(target.mean(dim=(0, 2), keepdim=True).expand_as(target), target, mask)
            explained = 1 - loss.detach() / floor.clamp_min(1e-12)
        return {"loss": loss, "masked_band_power": loss.detach(), "explained": explained}
