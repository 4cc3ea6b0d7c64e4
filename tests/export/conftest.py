"""Saved models written on the fly: a tiny classifier (encoder/ + head/) in a run-like folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neurorep.encoders import create_encoder
from neurorep.export.model_card import Classifier
from neurorep.training import ClassificationHead, export_weights

C, T = 2, 200


def make_classifier(seed: int = 0, n_layers: int = 2) -> Classifier:
    """Tiny transformer + 3-class head; its layers start as copies (shared ONNX initialisers)."""
    torch.manual_seed(seed)
    enc = create_encoder("transformer", n_channels=C, n_times=T, embed_dim=16, patch_size=20, n_layers=n_layers,
                         n_heads=2, dropout=0.0)
    return Classifier(enc, ClassificationHead(16, 3)).eval()


def save_classifier(model: Classifier, folder: Path, class_names: list[str] | None = None) -> Path:
    export_weights(model.encoder, folder / "encoder")
    export_weights(model.head, folder / "head", extra={"class_names": class_names or ["W", "N", "R"]})
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """``run/`` with config.yaml, environment.json, metrics.json and ``export/best`` + ``export/final``."""
    run = tmp_path / "run"
    save_classifier(make_classifier(0), run / "export" / "best")
    save_classifier(make_classifier(1), run / "export" / "final")
    (run / "config.yaml").write_text("recipe: sleep-ssl\ndata:\n  prepare:\n    sfreq: 100.0\n    channels: [Fpz, Pz]\n"
                                     "    window_s: 2.0\n    scaling: robust\n")
    (run / "environment.json").write_text('{"data_fingerprint": "abc123"}')
    (run / "metrics.json").write_text('{"summary": {"balanced_accuracy": 0.75}}')
    return run
