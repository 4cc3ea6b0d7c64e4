"""Pure tensor augmentation ops for windows ``x[B, C, T]``.

Every op takes an explicit ``generator`` (``torch.Generator`` or ``None`` for the global RNG),
decides per sample with probability ``p`` whether to transform it, and returns a new tensor of the
same shape; the input is never modified in place. Random numbers are drawn on the generator's
device and moved to ``x``'s device, so a CPU generator gives the same draws whatever device the
data lives on. The number of random draws does not depend on ``p``, so changing one op's ``p``
does not shift the random stream seen by the next op.
"""

from __future__ import annotations

import math

import torch

from neurorep.errors import ConfigError

__all__ = [
    "additive_noise",
    "amplitude_scale",
    "band_stop",
    "channel_dropout",
    "sign_flip",
    "span_mask",
    "time_mask",
    "time_shift",
]


# --------------------------------------------------------------------------- helpers


def _device_of(generator: torch.Generator | None, fallback: torch.device) -> torch.device:
    return generator.device if generator is not None else fallback


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` made on the generator's device, returned on ``device``."""
    return torch.rand(shape, generator=generator, device=_device_of(generator, device)).to(device)


def _randint(high: torch.Tensor | int, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Integers in ``[0, high)`` (``high`` may be a per-element tensor, values >= 1)."""
    u = _rand(shape, generator, device)
    high_t = torch.as_tensor(high, device=device, dtype=torch.float64)
    return torch.clamp((u.double() * high_t).floor(), max=high_t - 1).long()


def _check_x(x: torch.Tensor, op: str) -> None:
    if x.dim() != 3:
        raise ConfigError(f"{op}: expected x of shape [B, C, T], got shape {tuple(x.shape)}")


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"{op}: p must be in [0, 1], got {p}")


def _which(x: torch.Tensor, p: float, generator: torch.Generator | None, op: str) -> torch.Tensor:
    """Bool ``[B, 1, 1]``: which samples the op is applied to (each with probability ``p``)."""
    _check_x(x, op)
    _check_p(p, op)
    return (_rand((x.shape[0],), generator, x.device) < p).view(-1, 1, 1)


# --------------------------------------------------------------------------- ops


def amplitude_scale(
    x: torch.Tensor,
    p: float = 0.5,
    low: float = 0.5,
    high: float = 2.0,
    per_channel: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Multiply each selected sample (or each of its channels) by a factor drawn log-uniformly.

    ``x[B, C, T] -> [B, C, T]``. The factor lies in ``[low, high]``; a draw of exactly 1 is
    nudged so that ``p=1`` always changes the input.
    """
    if not 0 < low <= high:
        raise ConfigError(f"amplitude_scale: need 0 < low <= high, got low={low}, high={high}")
    apply = _which(x, p, generator, "amplitude_scale")
    b, c, _ = x.shape
    u = _rand((b, c if per_channel else 1, 1), generator, x.device)
    log_f = math.log(low) + u * (math.log(high) - math.log(low))
    factor = torch.exp(log_f).to(x.dtype)
    factor = torch.where(factor == 1, torch.full_like(factor, high if high != 1 else low), factor)
    return torch.where(apply, x * factor, x)


def additive_noise(
    x: torch.Tensor,
    p: float = 0.5,
    sigma: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add Gaussian noise with std ``sigma`` times each sample-channel's own std.

    ``x[B, C, T] -> [B, C, T]``. A flat channel (std 0) gets noise of std ``sigma`` in absolute
    units so that the op still changes it.
    """
    if sigma < 0:
        raise ConfigError(f"additive_noise: sigma must be >= 0, got {sigma}")
    apply = _which(x, p, generator, "additive_noise")
    noise = torch.randn(x.shape, generator=generator, device=_device_of(generator, x.device)).to(x.device, x.dtype)
    scale = x.std(dim=-1, keepdim=True) if x.shape[-1] > 1 else torch.zeros_like(x[..., :1])
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.where(apply, x + sigma * scale * noise, x)


def time_shift(
    x: torch.Tensor,
    p: float = 0.5,
    max_shift: float = 0.1,
    mode: str = "circular",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Shift each selected sample along time by a random non-zero number of samples.

    ``x[B, C, T] -> [B, C, T]``. ``max_shift`` is a fraction of ``T``; the shift is drawn
    uniformly from ``[-s, -1] U [1, s]`` with ``s = max(1, round(max_shift * T))``. ``mode``
    is ``"circular"`` (samples wrap around) or ``"zero"`` (vacated samples become 0).
    """
    if mode not in ("circular", "zero"):
        raise ConfigError(f"time_shift: mode must be 'circular' or 'zero', got {mode!r}")
    if not 0 < max_shift <= 1:
        raise ConfigError(f"time_shift: max_shift is a fraction of T in (0, 1], got {max_shift}")
    apply = _which(x, p, generator, "time_shift")
    b, c, t = x.shape
    s = max(1, round(max_shift * t))
    mag = _randint(s, (b,), generator, x.device) + 1
    sign = torch.where(_rand((b,), generator, x.device) < 0.5, -1, 1)
    shift = (mag * sign).view(b, 1, 1)
    src = torch.arange(t, device=x.device).view(1, 1, t) - shift  # output[t] = x[t - shift]
    idx = torch.remainder(src, t).expand(b, c, t)
    out = torch.gather(x, -1, idx)
    if mode == "zero":
        out = torch.where((src >= 0) & (src < t), out, torch.zeros_like(out))
    return torch.where(apply, out, x)


def time_mask(
    x: torch.Tensor,
    p: float = 0.5,
    max_len: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero one contiguous span of time (all channels) in each selected sample.

    ``x[B, C, T] -> [B, C, T]``. The span length is uniform in ``[1, max(1, round(max_len * T))]``
    samples (``max_len`` is a fraction of ``T``) and its start is uniform over valid positions.
    """
    if not 0 < max_len <= 1:
        raise ConfigError(f"time_mask: max_len is a fraction of T in (0, 1], got {max_len}")
    apply = _which(x, p, generator, "time_mask")
    b, _, t = x.shape
    longest = max(1, round(max_len * t))
    length = _randint(longest, (b,), generator, x.device) + 1
    start = _randint(t - length + 1, (b,), generator, x.device)
    pos = torch.arange(t, device=x.device).view(1, t)
    span = (pos >= start.view(b, 1)) & (pos < (start + length).view(b, 1))
    return torch.where(apply & span.unsqueeze(1), torch.zeros_like(x), x)


def channel_dropout(
    x: torch.Tensor,
    p: float = 0.5,
    drop_prob: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero whole channels of each selected sample.

    ``x[B, C, T] -> [B, C, T]``. Each channel is dropped with probability ``drop_prob``; at least
    one channel is always dropped and, when ``C > 1``, at least one is always kept.
    """
    if not 0 <= drop_prob <= 1:
        raise ConfigError(f"channel_dropout: drop_prob must be in [0, 1], got {drop_prob}")
    apply = _which(x, p, generator, "channel_dropout")
    b, c, _ = x.shape
    drop = _rand((b, c), generator, x.device) < drop_prob
    forced = _randint(c, (b,), generator, x.device)
    chan = torch.arange(c, device=x.device).view(1, c)
    drop = drop | (chan == forced.view(b, 1))
    if c > 1:
        keep = (forced + 1 + _randint(c - 1, (b,), generator, x.device)) % c
        drop = drop & (chan != keep.view(b, 1))
    return torch.where(apply & drop.unsqueeze(-1), torch.zeros_like(x), x)


def band_stop(
    x: torch.Tensor,
    p: float = 0.5,
    sfreq: float = 100.0,
    min_freq: float = 0.5,
    max_freq: float = 40.0,
    bandwidth: float = 4.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Remove a random frequency band (FFT-domain notch) from each selected sample.

    ``x[B, C, T] -> [B, C, T]``. The band ``[f0 - bandwidth/2, f0 + bandwidth/2]`` has its centre
    ``f0`` uniform in ``[min_freq + bandwidth/2, max_freq - bandwidth/2]`` (Hz, with ``sfreq`` the
    sampling rate); the FFT bins in it are zeroed, the same band for all channels of a sample.
    """
    if sfreq <= 0 or bandwidth <= 0:
        raise ConfigError(f"band_stop: sfreq and bandwidth must be > 0, got sfreq={sfreq}, bandwidth={bandwidth}")
    if not 0 <= min_freq < max_freq <= sfreq / 2 or max_freq - min_freq < bandwidth:
        raise ConfigError(
            f"band_stop: need 0 <= min_freq < max_freq <= sfreq/2 ({sfreq / 2}) and max_freq - min_freq >= "
            f"bandwidth; got min_freq={min_freq}, max_freq={max_freq}, bandwidth={bandwidth}"
        )
    apply = _which(x, p, generator, "band_stop")
    b, _, t = x.shape
    lo_c, hi_c = min_freq + bandwidth / 2, max_freq - bandwidth / 2
    f0 = lo_c + _rand((b,), generator, x.device).double() * (hi_c - lo_c)
    freqs = torch.fft.rfftfreq(t, d=1.0 / sfreq, device=x.device).double().view(1, -1)
    stop = (freqs >= (f0 - bandwidth / 2).view(b, 1)) & (freqs <= (f0 + bandwidth / 2).view(b, 1))
    spec = torch.fft.rfft(x.double(), dim=-1)
    spec = torch.where(stop.unsqueeze(1), torch.zeros_like(spec), spec)
    out = torch.fft.irfft(spec, n=t, dim=-1).to(x.dtype)
    return torch.where(apply, out, x)


def sign_flip(x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Negate each selected sample (all channels). ``x[B, C, T] -> [B, C, T]``."""
    apply = _which(x, p, generator, "sign_flip")
    return torch.where(apply, -x, x)


# --------------------------------------------------------------------------- masking


def span_mask(
    batch_size: int,
    n_channels: int,
    n_times: int,
    mask_ratio: float = 0.5,
    span: int = 50,
    channel_ratio: float = 0.0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Bool mask ``[B, C, T]`` (True = masked) made of contiguous time spans.

    Time is cut into ``K = ceil(T / span) + 1`` blocks of ``span`` samples on a grid with a random
    offset per sample (the edge blocks are partly outside the window), and ``round(mask_ratio * K)``
    blocks are chosen at random per sample (the same times for every channel), so about
    ``mask_ratio`` of the samples are masked, in runs of ``span`` or more (adjacent blocks merge;
    runs at the window edges may be shorter). With ``channel_ratio > 0`` and ``C > 1``, additionally
    ``max(1, round(channel_ratio * C))`` whole channels (at most ``C - 1``) are masked per sample.
    """
    if not 0.0 <= mask_ratio <= 1.0:
        raise ConfigError(f"span_mask: mask_ratio must be in [0, 1], got {mask_ratio}")
    if not 0.0 <= channel_ratio < 1.0:
        raise ConfigError(f"span_mask: channel_ratio must be in [0, 1), got {channel_ratio}")
    if int(span) < 1:
        raise ConfigError(f"span_mask: span must be a positive number of samples, got {span}")
    if min(batch_size, n_channels, n_times) < 1:
        raise ConfigError(f"span_mask: sizes must be >= 1, got B={batch_size}, C={n_channels}, T={n_times}")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    b, c, t, span = int(batch_size), int(n_channels), int(n_times), int(span)
    span = min(span, t)
    n_blocks = math.ceil(t / span) + 1  # grid covering [0, T) after an offset in [0, span)
    n_masked = round(mask_ratio * n_blocks)  # each time point is hidden with probability ~mask_ratio
    offset = _randint(span, (b,), generator, dev)
    block_of = (torch.arange(t, device=dev).view(1, t) + offset.view(b, 1)) // span  # [B, T]
    order = torch.argsort(_rand((b, n_blocks), generator, dev), dim=1)
    chosen = torch.zeros(b, n_blocks, dtype=torch.bool, device=dev)
    chosen.scatter_(1, order[:, :n_masked], True)
    if mask_ratio >= 1.0:
        chosen[:] = True
    time_mask_ = torch.gather(chosen, 1, block_of)  # [B, T]
    mask = time_mask_.unsqueeze(1).expand(b, c, t).clone()
    if channel_ratio > 0 and c > 1:
        n_ch = min(c - 1, max(1, round(channel_ratio * c)))
        ch_order = torch.argsort(_rand((b, c), generator, dev), dim=1)
        whole = torch.zeros(b, c, dtype=torch.bool, device=dev)
        whole.scatter_(1, ch_order[:, :n_ch], True)
        mask |= whole.unsqueeze(-1)
    return mask
