"""neurorep: self-supervised representation learning for electrophysiology (EEG, MEG, ECG)."""

from neurorep.errors import ConfigError, DataError, NeurorepError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "NeurorepError", "__version__"]
