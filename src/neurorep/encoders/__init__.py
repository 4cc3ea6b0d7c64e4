"""Encoders: one file per architecture, all registered by name."""

from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import ENCODERS, create_encoder, list_encoders, register_encoder

__all__ = ["ENCODERS", "Encoder", "create_encoder", "list_encoders", "register_encoder"]
