"""Silencing Lightning's advice-only chatter, importable without importing Lightning (the command line
calls it before any command, and most commands never load the training stack)."""

from __future__ import annotations

import logging
import warnings

# Lightning warnings that are advice about its own settings, not about the user's experiment.
NOISE = (
    r".*does not have many workers.*",
    r".*isinstance\(treespec, LeafSpec\).*",
    r".*is smaller than the logging interval.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*module\(s\) in eval mode at the start of training.*",  # frozen teachers and backbones are meant so
)
LOGGERS = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning")


def quiet_lightning() -> None:
    """Set Lightning's loggers to warnings only and drop its advice-only warnings.

    Called when a trainer is built (after Lightning configured its loggers at import, which would
    undo an earlier call) and by the command line before any work starts.
    """
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in NOISE:
        warnings.filterwarnings("ignore", message=pattern)
