"""Stage model of the simulated sleep corpus: physiological states, then a scorer's hypnogram.

The night is wake (sleep-onset latency), then a sequence of NREM-REM cycles of about 90 minutes,
then wake after the final awakening. Each cycle is N1 -> N2 (descending) -> N3 -> N2 (ascending)
-> REM; the N3 share falls and the REM share grows with time since sleep onset. Epoch-level
noise adds brief stage intrusions (N3->N2, N2->N1, REM->N1/N2) and awakenings (WASO), some of
which start with a ``Movement time`` epoch. A slow-wave *depth* in [0, 1] is kept for every epoch;
it wanders slowly and continuously, and an NREM epoch is physiologically N3 when it reaches
:data:`N3_DEPTH`, so light N3 (R&K stage 3) borders deep N2.

This *state* drives the signals. The hypnogram is what a scorer makes of it
(:func:`score_epochs`): N2 vs N3 from the visible slow-wave amount against the night's own
threshold, a lag at stage changes, and confusions between neighbouring stages, so that two
simulated scorers agree on about 85 % of epochs (Cohen's kappa about 0.8), as human scorers do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.signal import lfilter

from neurorep.data.simulate.params import NightParams, SubjectParams

EPOCH_S = 30.0
W, N1, N2, N3, REM = 0, 1, 2, 3, 4
STAGE_NAMES = ("W", "N1", "N2", "N3", "REM")

RK_W, RK_1, RK_2, RK_3, RK_4, RK_R = (
    "Sleep stage W",
    "Sleep stage 1",
    "Sleep stage 2",
    "Sleep stage 3",
    "Sleep stage 4",
    "Sleep stage R",
)
RK_UNKNOWN = "Sleep stage ?"
RK_MOVEMENT = "Movement time"
#: Every description a simulated hypnogram may contain (the Sleep-EDF vocabulary).
RK_LABELS = (RK_W, RK_1, RK_2, RK_3, RK_4, RK_R, RK_UNKNOWN, RK_MOVEMENT)

#: Visible slow-wave amount (depth x the subject's relative slow-wave voltage) from which an N3 epoch
#: is scored R&K stage 4 (> 50 % of the epoch slow waves).
STAGE4_DEPTH = 0.6
#: Depth from which an NREM epoch is physiologically N3 (each night's scorer has its own threshold).
N3_DEPTH = 0.3
#: Typical slow-wave depth outside N3.
BASE_DEPTH = {W: 0.03, N1: 0.06, N2: 0.2, N3: 0.6, REM: 0.05}
#: Scorer confusions ``(true, scored, chance next to a ``scored`` epoch, chance elsewhere)``.
_CONFUSIONS = (
    (W, N1, 0.1, 0.01),
    (N1, W, 0.1, 0.03),
    (N1, N2, 0.1, 0.03),
    (N1, REM, 0.1, 0.01),
    (REM, N1, 0.08, 0.008),
    (REM, W, 0.04, 0.0),
    (REM, N2, 0.06, 0.002),
    (N2, N1, 0.06, 0.004),
    (N2, REM, 0.06, 0.0),
)


@dataclass
class Hypnogram:
    """A simulated night's scoring.

    Attributes:
        stages: ``(n_epochs,)`` int8 scored stage per 30-s epoch, 0=W, 1=N1, 2=N2, 3=N3, 4=REM, as
            in ``rk_stages`` (R&K 3 and 4 are N3; ``Movement time`` and ``Sleep stage ?`` are W).
        rk_stages: R&K description per epoch, as written to the hypnogram file.
        depth: ``(n_epochs,)`` slow-wave depth in [0, 1] (drives slow-wave amplitude).
        sleep_onset: index of the first epoch scored as sleep.
        final_awakening: index of the first epoch of the final wake period.
        state: ``(n_epochs,)`` int8 physiological state that drives the signals; the scoring
            differs from it near transitions and in ambiguous epochs.
    """

    stages: np.ndarray
    rk_stages: list[str]
    depth: np.ndarray
    sleep_onset: int
    final_awakening: int
    state: np.ndarray

    @property
    def n_epochs(self) -> int:
        return int(self.stages.size)


def _split_lengths(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer lengths proportional to ``weights`` that sum exactly to ``total``."""
    edges = np.round(np.cumsum(weights) / weights.sum() * total).astype(int)
    return np.diff(np.concatenate([[0], edges]))


def _cycle_template(
    sleep_epochs: int, params: SubjectParams, nparams: NightParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Stages and depth of the sleep period (onset to final awakening), plus REM-end indices.

    N3 here is the template's slow-wave bout; :func:`_depth_states` later re-derives N2 vs N3
    from the depth, which rises and falls continuously through the bout.
    """
    cyc = nparams.cycle_min * 2.0  # epochs per cycle
    n_cyc = max(1, int(round(sleep_epochs / cyc)))
    lens = np.clip(rng.normal(cyc, 20.0, n_cyc), 0.65 * cyc, 1.35 * cyc)
    lens = _split_lengths(sleep_epochs, lens)
    stages = np.empty(sleep_epochs, dtype=np.int8)
    depth = np.empty(sleep_epochs)
    rem_ends: list[int] = []
    start = 0
    for k, length in enumerate(lens):
        t_h = start / 120.0  # hours since sleep onset
        rem_frac = np.clip((0.11 + 0.052 * t_h) * params.rem_scale + rng.normal(0.0, 0.03), 0.04, 0.5)
        rem = max(2, int(round(length * rem_frac))) if length >= 12 else 0
        nrem = length - rem
        n1_len = rng.uniform(3.0, 10.0) if k == 0 else rng.uniform(2.0, 7.0)
        n1 = min(int(n1_len * params.n1_scale), max(nrem - 1, 0))
        n3_frac = np.clip(params.n3_scale * 0.45 * np.exp(-t_h / 2.0) + rng.normal(0.0, 0.04), 0.0, 0.65)
        n3 = int(round((nrem - n1) * n3_frac))
        n2 = nrem - n1 - n3
        desc = int(round(n2 * rng.uniform(0.35, 0.6))) if n3 > 0 else n2
        asc = n2 - desc
        seq = [(N1, n1), (N2, desc), (N3, n3), (N2, asc), (REM, rem)]
        pos = start
        base = rng.uniform(0.1, 0.24)  # slow-wave depth of this cycle's light N2
        for i, (stage, n) in enumerate(seq):
            stages[pos : pos + n] = stage
            depth[pos : pos + n] = base if stage == N2 else BASE_DEPTH[stage]
            if stage == N3 and n > 0:
                x = (np.arange(n) + 0.5) / n
                hi = np.clip(0.5 + 0.5 * np.exp(-t_h / 2.5) * params.n3_scale + rng.normal(0.0, 0.06), 0.38, 1.0)
                depth[pos : pos + n] = 0.26 + (hi - 0.26) * np.sin(np.pi * x) ** 0.7
            if i == 1 and n > 0 and n3 > 0:
                depth[pos : pos + n] = np.linspace(base, 0.3, n)  # deepening towards N3
            if i == 3 and n > 0 and n3 > 0:
                depth[pos : pos + n] = np.linspace(0.24, base, n)  # lightening after N3
            pos += n
        if rem > 0:
            rem_ends.append(start + length)
        start += length
    return stages, depth, rem_ends


def _fragment(stages: np.ndarray, depth: np.ndarray, rng: np.random.Generator) -> None:
    """Brief intrusions of lighter stages (in place)."""
    u = rng.random(stages.size)
    n3_to_n2 = (stages == N3) & (u < 0.04)
    n2_to_n1 = (stages == N2) & (u < 0.012)
    rem_to_n1 = (stages == REM) & (u < 0.012)
    rem_to_n2 = (stages == REM) & (u >= 0.012) & (u < 0.02)
    for _ in range(2):  # N1 intrusions last 1-3 epochs
        n2_to_n1[1:] |= n2_to_n1[:-1] & (stages[1:] == N2) & (rng.random(stages.size - 1) < 0.6)
    stages[n3_to_n2] = N2
    depth[n3_to_n2] = np.maximum(depth[n3_to_n2] - 0.2, 0.15)
    stages[n2_to_n1 | rem_to_n1] = N1
    depth[n2_to_n1 | rem_to_n1] = BASE_DEPTH[N1]
    stages[rem_to_n2] = N2
    depth[rem_to_n2] = BASE_DEPTH[N2]


def _awakenings(
    stages: np.ndarray,
    depth: np.ndarray,
    rem_ends: list[int],
    rate_per_hour: float,
    n1_scale: float,
    rng: np.random.Generator,
) -> list[int]:
    """Insert brief awakenings (in place); returns the epochs to score ``Movement time``."""
    n = stages.size
    count = int(rng.poisson(rate_per_hour * n / 120.0))
    weight = 0.5 + np.arange(n) / max(n, 1)  # more awakenings later in the night
    weight[stages == N3] = 0.0  # rarely woken from slow-wave sleep
    if weight.sum() <= 0 or n < 10:
        return []
    picks = list(rng.choice(n, size=count, p=weight / weight.sum()))
    picks += [e - int(rng.integers(0, 2)) for e in rem_ends if e < n - 4 and rng.random() < 0.5]
    movement: list[int] = []
    for p in picks:
        dur = int(rng.integers(5, 30)) if rng.random() < 0.2 else int(rng.integers(1, 5))
        end = min(p + dur, n)
        stages[p:end] = W
        depth[p:end] = BASE_DEPTH[W]
        n1 = int(rng.integers(1, 5) * n1_scale + 0.5)
        stages[end : end + n1] = N1
        depth[end : end + n1] = BASE_DEPTH[N1]
        if rng.random() < 0.25:
            movement.append(int(p))
    return movement


def _depth_states(stages: np.ndarray, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add slow epoch-to-epoch wander to the NREM depth and re-derive N2 vs N3 from it (in place).

    The physiological state of an NREM epoch is N3 when its depth reaches :data:`N3_DEPTH`; the
    depth moves continuously, so light N3 (R&K stage 3) borders deep N2.
    """
    nrem = (stages == N2) | (stages == N3)
    wander = lfilter([1.0], [1.0, -0.9], rng.normal(0.0, 0.05 * np.sqrt(1 - 0.9**2), stages.size))
    depth[nrem] = np.clip(depth[nrem] + wander[nrem], 0.05, 1.0)
    stages[nrem] = np.where(depth[nrem] >= N3_DEPTH, N3, N2)
    return depth


def _near(state: np.ndarray, stage: int, reach: int = 2) -> np.ndarray:
    """True where ``stage`` occurs within ``reach`` epochs."""
    return maximum_filter1d((state == stage).astype(np.int8), 2 * reach + 1, mode="nearest") > 0


def score_epochs(
    state: np.ndarray,
    depth: np.ndarray,
    lo: int,
    hi: int,
    nparams: NightParams,
    rng: np.random.Generator,
    amplitude: float = 1.0,
) -> np.ndarray:
    """A scorer's stage per epoch for the physiological ``state`` (only epochs ``lo:hi`` are touched).

    * N2 vs N3 by the slow-wave amount the scorer sees: ``depth`` times ``amplitude`` (the subject's
      slow-wave voltage relative to a typical one, since the criterion is in microvolts) plus
      per-epoch noise, against this night's threshold (R&K: > 75 uV waves in 20 % of the epoch);
    * the first epoch of a new stage keeps the previous stage with chance ``lag_p`` (a scorer
      waits for clear evidence);
    * confusions between neighbouring stages, much more likely next to an epoch of the other stage
      (drowsy wake / N1, N1 / N2, N1 / REM, REM / N2), scaled by this night's ``confusion``.
    """
    scored = state.copy()
    seg = np.zeros(state.size, dtype=bool)
    seg[lo:hi] = True
    nrem = seg & ((state == N2) | (state == N3))
    seen = depth * amplitude + rng.normal(0.0, 0.03, state.size)
    scored[nrem] = np.where(seen[nrem] >= nparams.n3_threshold, N3, N2)
    first = np.flatnonzero(state[1:] != state[:-1]) + 1
    both_nrem = np.isin(state[first], (N2, N3)) & np.isin(state[first - 1], (N2, N3))
    first = first[seg[first] & ~both_nrem]  # N2 <-> N3 is already decided by the depth
    lag = first[rng.random(first.size) < nparams.lag_p]
    scored[lag] = scored[lag - 1]
    u = rng.random(state.size)
    for a, b, p_near, p_far in _CONFUSIONS:
        p = np.where(_near(state, b), p_near, p_far) * nparams.confusion * (seg & (state == a) & (scored == a))
        hit = u < p
        scored[hit] = b
        u = np.where(hit, 2.0, u - p)  # each epoch is confused at most once
    return scored


def simulate_hypnogram(
    n_epochs: int,
    params: SubjectParams,
    nparams: NightParams,
    rng: np.random.Generator,
    scorer_rng: np.random.Generator | None = None,
) -> Hypnogram:
    """Simulate the physiological states of one night of ``n_epochs`` 30-s epochs and their scoring.

    ``scorer_rng`` draws the scorer's decisions (default: continue with ``rng``).
    """
    if n_epochs < 20:
        raise ValueError(f"a simulated night needs at least 20 epochs (10 min); got {n_epochs}")
    lat = max(1, int(round(nparams.latency_min * 2)))
    fin = max(1, int(round(nparams.final_wake_min * 2)))
    if lat + fin > 0.4 * n_epochs:  # short nights: keep at least 60 % for sleep
        scale = 0.4 * n_epochs / (lat + fin)
        lat, fin = max(1, int(lat * scale)), max(1, int(fin * scale))
    sleep = n_epochs - lat - fin
    stages = np.full(n_epochs, W, dtype=np.int8)
    depth = np.full(n_epochs, BASE_DEPTH[W])
    sl_stages, sl_depth, rem_ends = _cycle_template(sleep, params, nparams, rng)
    _fragment(sl_stages, sl_depth, rng)
    rate = params.waso_per_hour * nparams.waso_scale
    movement = _awakenings(sl_stages, sl_depth, rem_ends, rate, params.n1_scale, rng)
    stages[lat : lat + sleep] = sl_stages
    depth[lat : lat + sleep] = sl_depth
    # drowsy N1 flickers while trying to fall asleep
    if lat >= 6 and rng.random() < 0.6:
        for e in rng.integers(lat * 2 // 3, lat - 1, size=int(rng.integers(1, 3))):
            stages[e] = N1
            depth[e] = BASE_DEPTH[N1]
    depth = _depth_states(stages, depth, rng)
    volts = float(np.clip(np.sqrt(params.slow_wave_amp * params.eeg_gain[0] / 50.0), 0.75, 1.3))
    scored = score_epochs(stages, depth, lat * 2 // 3, lat + sleep, nparams, scorer_rng or rng, volts)
    rk = rk_labels(scored, depth * volts)
    for m in movement:
        if scored[lat + m] == W:
            rk[lat + m] = RK_MOVEMENT
    if nparams.unscored_epochs:
        last = n_epochs - nparams.unscored_epochs
        stages[last:] = W
        scored[last:] = W
        depth[last:] = BASE_DEPTH[W]
        rk[last:] = [RK_UNKNOWN] * nparams.unscored_epochs
    onset = lat + int(np.argmax(scored[lat:] != W))
    return Hypnogram(
        stages=scored, rk_stages=rk, depth=depth, sleep_onset=onset, final_awakening=lat + sleep, state=stages
    )


def rk_labels(stages: np.ndarray, depth: np.ndarray) -> list[str]:
    """R&K descriptions for states ``stages``; N3 splits into stage 3/4 by ``depth``."""
    names = {W: RK_W, N1: RK_1, N2: RK_2, REM: RK_R}
    return [
        (RK_4 if d >= STAGE4_DEPTH else RK_3) if s == N3 else names[int(s)]
        for s, d in zip(stages.tolist(), depth.tolist(), strict=True)
    ]


def merge_annotations(rk_stages: list[str], epoch_s: float = EPOCH_S) -> list[tuple[float, float, str]]:
    """``(onset, duration, description)`` triples with consecutive equal labels merged."""
    out: list[tuple[float, float, str]] = []
    start = 0
    for i in range(1, len(rk_stages) + 1):
        if i == len(rk_stages) or rk_stages[i] != rk_stages[start]:
            out.append((start * epoch_s, (i - start) * epoch_s, rk_stages[start]))
            start = i
    return out


def stage_fractions(stages: np.ndarray) -> dict[str, float]:
    """Fraction of epochs in each stage (keys ``W``, ``N1``, ``N2``, ``N3``, ``REM``)."""
    counts = np.bincount(np.asarray(stages, dtype=int), minlength=5)[:5]
    return {name: float(c) / max(int(stages.size), 1) for name, c in zip(STAGE_NAMES, counts, strict=True)}
