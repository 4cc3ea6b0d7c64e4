"""Zero-phase Butterworth filtering of the data path without importing ``scipy.signal``.

Importing ``scipy.signal`` takes 1.2-2.6 s on the development machine (it pulls in ``scipy.stats``,
``scipy.interpolate`` and ``scipy.optimize``): more than preparing four nights of two EEG channels.
Preparation only needs two things from it, and gets them without that import:

* **The design** (:func:`butter_sos`): even-order digital Butterworth low-, high- and band-pass
  filters as second-order sections, computed from the analog prototype's poles with the
  bilinear transform and paired into sections the way ``scipy.signal.butter(..., output="sos")``
  pairs them (poles nearest the unit circle last), so the coefficients equal SciPy's to rounding
  (``tests/data/test_filtering.py`` compares them over orders, bands and rates). Designs are
  memoised per ``(order, band, rate)``. Other orders fall back to ``scipy.signal.butter``.
* **The recursion** (:func:`sosfiltfilt`): SciPy's compiled second-order-section kernel (the one
  ``scipy.signal.sosfilt`` calls), loaded from SciPy's installation without running the
  ``scipy.signal`` package's import. Should that ever fail (another SciPy layout), the public
  ``scipy.signal.sosfilt`` is used instead: slower to import, same result. The zero-phase
  wrapper around it (odd extension of ``3 * (2 * n_sections + 1)`` samples at each end, steady-state
  initial conditions scaled by the first sample, forward then backward) is that of
  ``scipy.signal.sosfiltfilt``; it works one row at a time in the filter's dtype with one padded
  buffer and one reversed copy per row.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

_KERNEL = "scipy.signal._sosfilt"


def _load_kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    """SciPy's in-place kernel ``_sosfilt(sos, x, zi)`` (``x (n, T)`` C-contiguous, ``zi (n, sections, 2)``),
    loaded from its file when ``scipy.signal`` is not imported yet; None when it cannot be found."""
    mod = sys.modules.get(_KERNEL)
    if mod is None:
        import scipy

        folder = Path(scipy.__file__).parent / "signal"
        files = sorted(folder.glob("_sosfilt.*"))
        files = [f for f in files if f.suffix in (".so", ".pyd")]
        if not files:
            return None
        try:
            loader = importlib.machinery.ExtensionFileLoader(_KERNEL, str(files[0]))
            spec = importlib.util.spec_from_file_location(_KERNEL, files[0], loader=loader)
            if spec is None:
                return None
            mod = importlib.util.module_from_spec(spec)
            loader.exec_module(mod)
        except (ImportError, OSError):
            return None
        sys.modules[_KERNEL] = mod  # a later ``import scipy.signal`` reuses this module
    fn = getattr(mod, "_sosfilt", None)
    return fn if callable(fn) else None


def _works(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], None]) -> bool:
    """Whether ``fn`` filters as the kernel should (``y[n] = x[n] + y[n-1] / 2`` on an impulse)."""
    x = np.array([[1.0, 0.0, 0.0]])
    try:
        fn(np.array([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0]]), x, np.zeros((1, 1, 2)))
    except (TypeError, ValueError):
        return False
    return bool(np.array_equal(x, [[1.0, 0.5, 0.25]]))


@lru_cache(maxsize=1)
def _kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    fn = _load_kernel()
    if fn is not None and _works(fn):
        return fn
    from scipy.signal import sosfilt  # the public function: same recursion, heavier import

    def public(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
        y, zf = sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
        x[...] = y
        zi[...] = zf.transpose(1, 0, 2)

    return public


def _pair_sections(p: np.ndarray, z: np.ndarray, k: float) -> np.ndarray:
    """Second-order sections of complex-conjugate poles ``p`` (one of each pair) and real zeros ``z``,
    paired as ``scipy.signal.zpk2sos(pairing="nearest")``: the pole nearest the unit circle takes the
    nearest zeros and goes last; the gain sits in the first section."""
    p, z = list(p), list(z)
    rows = []
    while p:
        i = int(np.argmin(np.abs(1 - np.abs(np.asarray(p)))))
        p1 = p.pop(i)
        zs = np.asarray(z)
        j = int(np.argmin(np.abs(p1 - zs)))
        z1 = z.pop(j)
        zs = np.asarray(z)
        j = int(np.argmin(np.abs(p1 - zs)))
        z2 = z.pop(j)
        rows.append((p1, z1, z2))
    sos = np.zeros((len(rows), 6))
    for s, (p1, z1, z2) in enumerate(reversed(rows)):
        g = k if s == 0 else 1.0
        sos[s, :3] = [g, -g * (z1 + z2), g * z1 * z2]
        sos[s, 3:] = [1.0, -2.0 * p1.real, (p1 * p1.conjugate()).real]
    return sos


def _conjugate_half(p: np.ndarray) -> np.ndarray | None:
    """One pole of each conjugate pair (the mean of the pair, as SciPy takes it), ordered by real part;
    None if any pole is real."""
    p = p[np.lexsort((np.abs(p.imag), p.real))]
    if np.any(np.abs(p.imag) <= 100 * np.finfo(float).eps * np.abs(p)):
        return None
    pos, neg = p[p.imag > 0], p[p.imag < 0]
    if len(pos) != len(neg):
        return None
    return (pos + neg.conj()) / 2


@lru_cache(maxsize=64)
def butter_sos(order: int, low: float | None, high: float | None, sfreq: float) -> np.ndarray:
    """Digital Butterworth filter ``(n_sections, 6)`` float64 of ``order`` with band edges in Hz at
    ``sfreq``: band-pass (both edges), high-pass (``low`` only) or low-pass (``high`` only).

    Equal to ``scipy.signal.butter(order, band, btype, fs=sfreq, output="sos")`` (to rounding);
    computed here for even orders, by SciPy otherwise. Memoised; do not write into the result.
    """
    if low is None and high is None:
        raise ValueError("butter_sos needs at least one band edge")
    edges = [e for e in (low, high) if e is not None]
    if any(not 0 < e < sfreq / 2 for e in edges):
        raise ValueError(f"band edges {edges} Hz must lie strictly between 0 and {sfreq / 2:g} Hz")
    sos = _butter_even(order, low, high, sfreq) if order > 0 and order % 2 == 0 else None
    if sos is None:
        from scipy import signal

        btype = "bandpass" if len(edges) == 2 else ("highpass" if low is not None else "lowpass")
        sos = signal.butter(order, edges if len(edges) == 2 else edges[0], btype=btype, fs=sfreq, output="sos")
    sos.setflags(write=False)
    return sos


def _butter_even(order: int, low: float | None, high: float | None, sfreq: float) -> np.ndarray | None:
    """The design of :func:`butter_sos` for an even order; None where it would need real poles."""
    proto = -np.exp(1j * np.pi * np.arange(-order + 1, order, 2) / (2 * order))  # analog prototype poles
    fs2 = 4.0  # bilinear transform at a normalised rate of 2, as SciPy does
    warp = [4.0 * np.tan(np.pi * (2 * e / sfreq) / 2.0) for e in (low, high) if e is not None]
    if low is not None and high is not None:
        bw, wo = warp[1] - warp[0], np.sqrt(warp[0] * warp[1])
        p_lp = proto * bw / 2
        root = np.sqrt(p_lp**2 - wo**2)
        p = np.concatenate((p_lp + root, p_lp - root))
        z = np.zeros(order)
        k = bw**order
    elif low is not None:  # high-pass
        p = warp[0] / proto
        z = np.zeros(order)
        k = float(np.real(1.0 / np.prod(-proto)))
    else:
        p = proto * warp[0]
        z = np.zeros(0)
        k = warp[0] ** order
    degree = len(p) - len(z)
    z_d = np.concatenate(((fs2 + z) / (fs2 - z), -np.ones(degree)))
    p_d = (fs2 + p) / (fs2 - p)
    k_d = k * float(np.real(np.prod(fs2 - z) / np.prod(fs2 - p)))
    half = _conjugate_half(p_d)
    if half is None:
        return None
    return _pair_sections(half, np.sort(z_d.real), k_d)


def _steady_state(sos: np.ndarray) -> np.ndarray:
    """Initial states ``(n_sections, 2)`` of a step response's steady state, computed in ``sos``'s dtype
    as ``scipy.signal.sosfilt_zi`` does."""
    zi = np.empty((len(sos), 2), sos.dtype)
    scale = 1.0
    for s, row in enumerate(sos):
        b, a = row[:3] / row[3], row[3:] / row[3]
        # (I - A) zi = B, A the transposed companion matrix of a
        m = np.array([[1.0 + a[1], -1.0], [a[2], 1.0]], sos.dtype)
        zi[s] = scale * np.linalg.solve(m, b[1:] - a[1:] * b[0])
        scale *= np.sum(b) / np.sum(a)
    return zi


def sosfiltfilt(sos: np.ndarray, data: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Forward-backward filtering of ``data (..., T)`` with ``sos``, computed in ``dtype``, returned
    as float32; the same result as ``scipy.signal.sosfiltfilt(sos.astype(dtype), data.astype(dtype))``
    (default odd padding) to rounding."""
    sos = np.asarray(sos, np.float64)
    rows = np.asarray(data).reshape(-1, data.shape[-1])
    n = rows.shape[1]
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = 3 * ntaps
    if n <= edge:
        raise ValueError(f"the signal ({n} samples) must be longer than the filter's padding ({edge} samples)")
    coef = np.array(sos, dtype, order="C")  # a writable copy: the kernel takes no read-only buffer
    zi = _steady_state(coef)
    kernel = _kernel()
    out = np.empty(rows.shape, np.float32)
    ext = np.empty((1, n + 2 * edge), dtype)  # the padded row, filtered forward in place
    back = np.empty_like(ext)  # the same reversed, filtered again in place
    state = np.empty((1, len(sos), 2), dtype)
    for i, row in enumerate(rows):
        e = ext[0]
        e[edge: edge + n] = row
        first, last = e[edge], e[edge + n - 1]
        np.subtract(2 * first, e[2 * edge: edge: -1], out=e[:edge])  # odd extension, as SciPy's
        np.subtract(2 * last, e[edge + n - 2: n - 2: -1], out=e[edge + n:])
        np.multiply(zi, e[0], out=state[0])
        kernel(coef, ext, state)
        np.copyto(back, ext[:, ::-1])
        np.multiply(zi, back[0, 0], out=state[0])
        kernel(coef, back, state)
        out[i] = back[0, n + edge - 1: edge - 1: -1]
    return out.reshape(data.shape)
