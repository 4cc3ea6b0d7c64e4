"""Augmentations for windows ``x[B, C, T]``: pure ops (``functional``) and module wrappers."""

from neurorep.transforms import functional
from neurorep.transforms.augment import (
    AUGMENTATIONS,
    DEFAULT_VIEW_SPEC,
    Augment,
    Compose,
    build_augment,
    default_views,
)
from neurorep.transforms.functional import span_mask

__all__ = [
    "AUGMENTATIONS",
    "DEFAULT_VIEW_SPEC",
    "Augment",
    "Compose",
    "build_augment",
    "default_views",
    "functional",
    "span_mask",
]
