"""Published EEG foundation models (CBraMod, BIOT, ...), weight-compatible with braindecode 1.8.1.

One file per architecture; each registers itself on import like every encoder. See
``docs/published_models.md`` and :func:`neurorep.hub.load_published`.
"""

from neurorep.encoders.published._base import PublishedEncoder, PublishedModel
from neurorep.registry import import_submodules

import_submodules("neurorep.encoders.published")

__all__ = ["PublishedEncoder", "PublishedModel"]
