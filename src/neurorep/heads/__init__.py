"""Heads on top of encoder embeddings: projection (contrastive) and classification (probe, fine-tune)."""

from neurorep.heads.projection import ClassificationHead, ProjectionHead

__all__ = ["ClassificationHead", "ProjectionHead"]
