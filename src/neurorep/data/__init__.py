"""Data layer: recordings, readers, labels, windows, caches, splits and simulated corpora."""

from neurorep.data.recording import Annotations, Recording

__all__ = ["Annotations", "Recording"]
