"""How the ``neurorep`` command line parses: one-line usage errors, bounded number options, help
that shows every default and ends with examples."""

from __future__ import annotations

import argparse
import math
from typing import Any


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"neurorep: error: {' '.join(message.split())} (see `{self.prog} --help`)\n")


def _bounded(cast: type, low: float, strict: bool, expected: str) -> Any:
    """An argparse type: ``cast(text)``, finite, at least ``low`` (above it when ``strict``)."""

    def parse(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


#: Option types: a whole number >= 1, a finite number > 0, a band-pass edge in Hz (0 for none).
_count = _bounded(int, 1, False, "a whole number >= 1")
_positive = _bounded(float, 0, True, "a finite number > 0")
_band_edge = _bounded(float, 0, False, "a finite number >= 0 (0 for none)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default and keeps the examples of an epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "%(default)" in text or "default" in text:
            return text
        return text + " (default: %(default)s)"


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _parser(sub: argparse._SubParsersAction, name: str, help: str, examples: tuple[str, ...],  # type: ignore[type-arg]
            **kwargs: Any) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=help, epilog=_examples(*examples),
                          formatter_class=HelpFormatter, **kwargs)
