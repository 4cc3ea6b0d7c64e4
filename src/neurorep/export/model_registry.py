"""Deprecated name of :mod:`neurorep.export.model_store` (the versioned model store); import from there.

``neurorep.registry`` is the name -> factory registry of parts; the store of saved models is
``model_store``. This module is the store itself under its old name, so old imports and patches
keep working.
"""

from __future__ import annotations

import sys
import warnings

from neurorep.export import model_store

warnings.warn("neurorep.export.model_registry is renamed neurorep.export.model_store; import from there",
              DeprecationWarning, stacklevel=2)
sys.modules[__name__] = model_store
