"""Saving, loading and exporting models."""

from neurorep.export.hub import from_pretrained, load_strict, save_pretrained

__all__ = ["from_pretrained", "load_strict", "save_pretrained"]
