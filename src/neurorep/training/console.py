"""What training prints: one plain line per epoch in a log, and no library chatter.

On a terminal the trainer shows Lightning's rich progress bar; when stderr is a log file or a
pipe (``nohup``, SLURM) :class:`EpochLog` prints one line per epoch with the epoch-level metrics,
the time per epoch and the time left. :func:`quiet_lightning` silences, where they are raised,
Lightning's messages that tell a user nothing (hardware banner, data-loader worker advice,
logging-interval notes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from neurorep.progress import format_duration, log_line

from neurorep.quiet import LOGGERS, NOISE, quiet_lightning  # noqa: F401  (re-exported)


def _number(value: Any) -> float | None:
    try:
        number = float(value.detach().cpu().item() if hasattr(value, "detach") else value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if math.isfinite(number) else None


class EpochLog(Callback):
    """Print ``<label> epoch e/E: loss 0.51, val/loss 0.60 (12 s/epoch, ETA 1 min 24 s)`` per epoch."""

    def __init__(self, label: str, emit: Callable[[str], None] = log_line,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.emit, self.clock = label, emit, clock
        self._start: float | None = None
        self._first_epoch = 0

    @staticmethod
    def label_for(out_dir: str | Path) -> str:
        """``run/stage`` from the stage folder the trainer writes into."""
        p = Path(out_dir)
        return f"{p.parent.name}/{p.name}" if p.parent.name else p.name

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start, self._first_epoch = self.clock(), trainer.current_epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        self.emit(self.line(trainer))

    def line(self, trainer: L.Trainer) -> str:
        metrics = {k: _number(v) for k, v in trainer.callback_metrics.items() if not k.endswith("_step")}
        shown = ", ".join(f"{k.removesuffix('_epoch')} {v:.4g}" for k, v in sorted(metrics.items()) if v is not None)
        epoch, total = trainer.current_epoch + 1, trainer.max_epochs
        done = epoch - self._first_epoch
        per_epoch = (self.clock() - (self._start if self._start is not None else self.clock())) / max(done, 1)
        timing = f"{format_duration(per_epoch)}/epoch"
        if total is not None and total > 0:
            timing += f", ETA {format_duration(per_epoch * max(total - epoch, 0))}"
        of = f"/{total}" if total is not None and total > 0 else ""
        return f"{self.label} epoch {epoch}{of}: {shown or 'no metrics logged'} ({timing})"
