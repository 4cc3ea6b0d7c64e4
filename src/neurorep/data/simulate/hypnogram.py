"""Stage model of the simulated sleep corpus: a cycle template with noise.

The night is wake (sleep-onset latency), then a sequence of NREM-REM cycles of about 90 minutes,
then wake after the final awakening. Each cycle is N1 -> N2 (descending) -> N3 -> N2 (ascending)
-> REM; the N3 share falls and the REM share grows with time since sleep onset. Epoch-level
noise adds brief stage intrusions (N3->N2, N2->N1, REM->N1/N2/W) and awakenings (WASO), some of
which start with a ``Movement time`` epoch. A slow-wave *depth* in [0, 1] is kept for every epoch:
it splits N3 into Rechtschaffen & Kales stages 3 and 4 and scales the slow waves of the EEG, so
labels and signals agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

#: Depth at and above which an N3 epoch is scored R&K stage 4 (> 50 % of the epoch slow waves).
STAGE4_DEPTH = 0.75
#: Typical slow-wave depth outside N3.
BASE_DEPTH = {W: 0.03, N1: 0.06, N2: 0.2, N3: 0.6, REM: 0.05}


@dataclass
class Hypnogram:
    """A simulated night's scoring.

    Attributes:
        stages: ``(n_epochs,)`` int8 physiological state per 30-s epoch, 0=W, 1=N1, 2=N2, 3=N3,
            4=REM. Epochs scored ``Movement time`` or ``Sleep stage ?`` have state W.
        rk_stages: R&K description per epoch, as written to the hypnogram file.
        depth: ``(n_epochs,)`` slow-wave depth in [0, 1] (drives slow-wave amplitude).
        sleep_onset: index of the first sleep epoch.
        final_awakening: index of the first epoch of the final wake period.
    """

    stages: np.ndarray
    rk_stages: list[str]
    depth: np.ndarray
    sleep_onset: int
    final_awakening: int

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
    """Stages and depth of the sleep period (onset to final awakening), plus REM-end indices."""
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
        n1 = min(int(rng.integers(2, 8) if k == 0 else rng.integers(1, 5)), max(nrem - 1, 0))
        n3_frac = np.clip(params.n3_scale * 0.7 * np.exp(-t_h / 2.0) + rng.normal(0.0, 0.04), 0.0, 0.7)
        n3 = int(round((nrem - n1) * n3_frac))
        n2 = nrem - n1 - n3
        desc = int(round(n2 * rng.uniform(0.35, 0.6))) if n3 > 0 else n2
        asc = n2 - desc
        seq = [(N1, n1), (N2, desc), (N3, n3), (N2, asc), (REM, rem)]
        pos = start
        for i, (stage, n) in enumerate(seq):
            stages[pos : pos + n] = stage
            depth[pos : pos + n] = BASE_DEPTH[stage]
            if stage == N3 and n > 0:
                x = (np.arange(n) + 0.5) / n
                hi = np.clip(0.55 + 0.5 * np.exp(-t_h / 2.5) * params.n3_scale + rng.normal(0.0, 0.05), 0.5, 1.0)
                depth[pos : pos + n] = 0.45 + (hi - 0.45) * np.sin(np.pi * x) ** 0.6
            if i == 1 and n > 0 and n3 > 0:
                depth[pos : pos + n] = np.linspace(0.15, 0.33, n)  # deepening towards N3
            pos += n
        if rem > 0:
            rem_ends.append(start + length)
        start += length
    return stages, depth, rem_ends


def _fragment(stages: np.ndarray, depth: np.ndarray, rng: np.random.Generator) -> None:
    """Brief intrusions of lighter stages (in place)."""
    u = rng.random(stages.size)
    n3_to_n2 = (stages == N3) & (u < 0.04)
    n2_to_n1 = (stages == N2) & (u < 0.018)
    rem_to_n1 = (stages == REM) & (u < 0.03)
    rem_to_n2 = (stages == REM) & (u >= 0.03) & (u < 0.045)
    stages[n3_to_n2] = N2
    depth[n3_to_n2] = 0.32
    stages[n2_to_n1 | rem_to_n1] = N1
    depth[n2_to_n1 | rem_to_n1] = BASE_DEPTH[N1]
    stages[rem_to_n2] = N2
    depth[rem_to_n2] = BASE_DEPTH[N2]


def _awakenings(
    stages: np.ndarray,
    depth: np.ndarray,
    rem_ends: list[int],
    rate_per_hour: float,
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
        dur = int(rng.integers(6, 25)) if rng.random() < 0.12 else int(rng.integers(1, 5))
        end = min(p + dur, n)
        stages[p:end] = W
        depth[p:end] = BASE_DEPTH[W]
        n1 = int(rng.integers(1, 3))
        stages[end : end + n1] = N1
        depth[end : end + n1] = BASE_DEPTH[N1]
        if rng.random() < 0.15:
            movement.append(int(p))
    return movement


def simulate_hypnogram(
    n_epochs: int, params: SubjectParams, nparams: NightParams, rng: np.random.Generator
) -> Hypnogram:
    """Simulate the scoring of one night of ``n_epochs`` 30-s epochs (from lights off)."""
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
    movement = _awakenings(sl_stages, sl_depth, rem_ends, params.waso_per_hour * nparams.waso_scale, rng)
    stages[lat : lat + sleep] = sl_stages
    depth[lat : lat + sleep] = sl_depth
    # drowsy N1 flickers while trying to fall asleep
    if lat >= 6 and rng.random() < 0.6:
        for e in rng.integers(lat * 2 // 3, lat - 1, size=int(rng.integers(1, 3))):
            stages[e] = N1
            depth[e] = BASE_DEPTH[N1]
    depth = np.clip(depth + rng.normal(0.0, 0.04, n_epochs) * (stages == N3), 0.0, 1.0)
    depth[(stages == N3) & (depth < 0.4)] = 0.4
    rk = rk_labels(stages, depth)
    for m in movement:
        if stages[lat + m] == W:
            rk[lat + m] = RK_MOVEMENT
    if nparams.unscored_epochs:
        last = n_epochs - nparams.unscored_epochs
        stages[last:] = W
        depth[last:] = BASE_DEPTH[W]
        rk[last:] = [RK_UNKNOWN] * nparams.unscored_epochs
    return Hypnogram(stages=stages, rk_stages=rk, depth=depth, sleep_onset=lat, final_awakening=lat + sleep)


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
