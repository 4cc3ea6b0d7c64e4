"""Augmentations for windows ``x[B, C, T]``: pure ops (``functional``) and module wrappers."""

from neurorep.transforms import functional
from neurorep.transforms.augment import (
    AUGMENT_PRESETS,
    AUGMENTATIONS,
    DEFAULT_VIEW_SPEC,
    Augment,
    Compose,
    build_augment,
    default_views,
    resolve_augmentations,
)
from neurorep.transforms.functional import span_mask

__all__ = [
    "AUGMENT_PRESETS",
    "AUGMENTATIONS",
    "DEFAULT_VIEW_SPEC",
    "Augment",
    "Compose",
    "build_augment",
    "default_views",
    "resolve_augmentations",
    "functional",
    "span_mask",
]
