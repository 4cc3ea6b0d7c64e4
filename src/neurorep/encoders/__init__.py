"""Encoders: one file per architecture, all registered by name."""

from neurorep.encoders.base import Encoder
from neurorep.encoders.registry import (
    ENCODERS,
    create_encoder,
    list_encoders,
    register_encoder,
)

# Built-in architectures (importing registers them).
from neurorep.encoders import cnn, cnn_attention, transformer  # noqa: E402,F401  isort: skip
from neurorep.encoders.cnn import CNNEncoder  # noqa: E402
from neurorep.encoders.cnn_attention import CNNAttentionEncoder  # noqa: E402
from neurorep.encoders.transformer import TransformerEncoder  # noqa: E402

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
