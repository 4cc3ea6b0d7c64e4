"""Progress of long work: a rich bar on a terminal, periodic plain lines in a log.

Under ``nohup``, SLURM or a pipe (stderr not a terminal) a bar would print nothing useful, so
:func:`progress_bar` prints one line per tenth of the work (and at least every
:data:`LOG_INTERVAL_S` seconds) with the count, the elapsed time and an estimate of the rest.
Work that ends within :data:`QUIET_S` seconds prints nothing (so a quick command that fails on
bad input still leaves just its one error line).
:class:`GridProgress` counts the finished rows of a benchmark grid over all its stages.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LOG_INTERVAL_S = 30.0
QUIET_S = 5.0


def is_terminal() -> bool:
    """Whether stderr is a terminal (bars) rather than a log file or pipe (plain lines)."""
    return sys.stderr.isatty()


def log_line(text: str) -> None:
    """Print one progress line on stderr, flushed at once so that a log shows it immediately."""
    print(text, file=sys.stderr, flush=True)


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 04 min``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def eta(elapsed: float, done: int, total: int) -> str:
    """Time left at the average pace so far (``?`` before anything is done)."""
    if done <= 0:
        return "?"
    return format_duration(elapsed / done * max(total - done, 0))


class PlainProgress:
    """Count ``done`` of ``total`` and print a line at each tenth of the work or every ``interval`` seconds.

    Nothing is printed before ``quiet`` seconds have passed: short work stays silent.
    """

    def __init__(self, description: str, total: int, interval: float = LOG_INTERVAL_S, quiet: float = QUIET_S,
                 clock: Callable[[], float] = time.monotonic, emit: Callable[[str], None] = log_line) -> None:
        self.description, self.total, self.interval, self.clock = description, max(int(total), 0), interval, clock
        self.quiet, self.emit = quiet, emit
        self.done = 0
        self.start = self.last = clock()
        self._tenth = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        tenth = self.done * 10 // self.total if self.total else 10
        due = tenth > self._tenth or now - self.last >= self.interval or self.done >= self.total
        if due and now - self.start >= self.quiet:
            self._tenth, self.last = tenth, now
            self.emit(self.line(now))

    def line(self, now: float) -> str:
        elapsed = now - self.start
        pct = f" ({100 * self.done // self.total}%)" if self.total else ""
        return (f"{self.description}: {self.done}/{self.total}{pct}, elapsed {format_duration(elapsed)}, "
                f"ETA {eta(elapsed, self.done, self.total)}")


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Context manager yielding ``advance(n=1)``.

    Enabled, it shows a bar on a terminal and prints plain lines (:class:`PlainProgress`) when
    stderr is not one; disabled, it prints nothing.
    """
    if not enabled:
        yield lambda n=1: None
        return
    if not is_terminal():
        plain = PlainProgress(description, total)
        yield plain.advance
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    from rich.console import Console

    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


class GridProgress:
    """Finished rows of a benchmark grid out of all of them, over every stage the grid runs.

    A recipe that runs its rows in stages makes one with the total of all stages and passes it to
    every :func:`neurorep.sweep.run_tasks` call, so the count and the ETA are overall.
    """

    def __init__(self, total: int, enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.enabled, self.clock = int(total), enabled, clock
        self.done = 0
        self.start = clock()

    def finished(self, name: str, detail: str, seconds: float) -> str:
        """Count one finished row and print (when enabled) its line; returns the line."""
        self.done += 1
        elapsed = self.clock() - self.start
        text = (f"[{self.done}/{self.total}] {name}{': ' + detail if detail else ''} ({format_duration(seconds)}); "
                f"elapsed {format_duration(elapsed)}, ETA {eta(elapsed, self.done, self.total)}")
        if self.enabled:
            print(text, flush=True)
        return text
