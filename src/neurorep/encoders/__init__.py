"""Encoders: one file per architecture, all registered by name."""

from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import (
    ENCODERS,
    create_encoder,
    list_encoders,
    register_encoder,
)

# Built-in architectures: every module of this package registers itself on import.
from neurorep.registry import import_submodules

import_submodules("neurorep.encoders", skip=("base", "registry"))
from neurorep.encoders.cnn import CNNEncoder
from neurorep.encoders.cnn_attention import CNNAttentionEncoder
from neurorep.encoders.transformer import TransformerEncoder

__all__ = [
    "ENCODERS",
    "CNNAttentionEncoder",
    "CNNEncoder",
    "Encoder",
    "TransformerEncoder",
    "create_encoder",
    "list_encoders",
    "register_encoder",
]
