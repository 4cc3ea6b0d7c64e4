"""Heads on top of encoder embeddings: projection (contrastive) and classification (probe, fine-tune)."""

from neurorep.heads.classification import ClassificationHead, load_head
from neurorep.heads.projection import ProjectionHead

__all__ = ["ClassificationHead", "ProjectionHead", "load_head"]
