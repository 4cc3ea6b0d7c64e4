"""neurorep: self-supervised representation learning for electrophysiology (EEG, MEG, ECG)."""

from neurorep.errors import ConfigError, DataError, NeurorepError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "NeurorepError", "__version__", "create_model"]


def __getattr__(name: str) -> object:
    """Lazy re-exports (``neurorep.create_model``) so that ``import neurorep`` stays light."""
    if name == "create_model":
        from neurorep.models import create_model

        return create_model
    raise AttributeError(f"module 'neurorep' has no attribute {name!r}")
