"""Deprecated name of :mod:`neurorep.data.prepared` (a config's data section -> prepared cache and splits)."""

from __future__ import annotations

import sys
import warnings

from neurorep.data import prepared

warnings.warn("neurorep.data.setup is renamed neurorep.data.prepared; import from there", DeprecationWarning,
              stacklevel=2)
sys.modules[__name__] = prepared
