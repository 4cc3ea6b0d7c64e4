"""Simulated corpora in the on-disk formats of the real data sets (no download needed).

Sleep (Sleep-EDF Expanded, sleep cassette): :func:`simulate_sleep` writes PSG + hypnogram EDF+
files; :func:`simulate_night` makes one night in memory.
"""

from neurorep.data.simulate.sleep import (
    SIM_CHANNELS,
    SimulatedNight,
    simulate_night,
    simulate_sleep,
)

__all__ = ["SIM_CHANNELS", "SimulatedNight", "simulate_night", "simulate_sleep"]
