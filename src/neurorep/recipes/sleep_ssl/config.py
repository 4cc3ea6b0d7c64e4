"""Config of one sleep-ssl run: the ssl config under the recipe name ``sleep-ssl``."""

from __future__ import annotations

from typing import Literal

from neurorep.recipes.ssl.config import PARADIGMS, SSLConfig


class SleepSSLConfig(SSLConfig):
    """One sleep-ssl configuration (the fields of :class:`~neurorep.recipes.ssl.config.SSLConfig`)."""

    recipe: Literal["sleep-ssl"] = "sleep-ssl"  # type: ignore[assignment]


__all__ = ["PARADIGMS", "SleepSSLConfig"]
