"""Training, objectives and recipes use the declared encoder/objective contract, not attribute probes.

An encoder's optional capabilities are asked with ``Encoder.supports(...)`` and its identity read
from the declared ``registry_name``/``config``; this test fails on a ``hasattr``/``getattr`` that
probes an encoder or objective (by the variable's name or by the capability's name).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import neurorep

PACKAGE = Path(neurorep.__file__).parent
FOLDERS = ("training", "objectives", "recipes")
SUBJECTS = r"(?:self\.)?(?:encoder|enc|objective|obj|student|teacher|cls|model\.encoder|module\.encoder)"
CAPABILITY_NAMES = ("features", "forward_intermediates", "spatial_features", "sequence_features", "encode_tokens",
                    "layer_groups", "group_matcher", "tiny", "tiny_kwargs", "n_tokens", "embed_dim", "supports")
PROBE = re.compile(rf"\b(?:hasattr|getattr)\(\s*(?:{SUBJECTS}\s*,|[^,()]+,\s*[\"'](?:{'|'.join(CAPABILITY_NAMES)})[\"'])")


def probes(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if PROBE.search(line)]


def test_the_pattern_catches_the_probes_it_is_meant_to() -> None:
    caught = ['if hasattr(encoder, "spatial_features"):', 'getattr(objective, "config", {})',
              'groups = getattr(self.encoder, "layer_groups", None)', 'if not hasattr(m, "encode_tokens"):',
              'n = getattr(net, "n_tokens", 0)']
    assert all(probes(line) for line in caught)
    assert not probes('rows = getattr(data.split, part)') and not probes('getattr(trainer, "max_epochs", None)')


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_capability_probes(folder: str) -> None:
    found = {str(p.relative_to(PACKAGE)): hits for p in sorted((PACKAGE / folder).rglob("*.py"))
             if (hits := probes(p.read_text()))}
    assert not found, f"attribute probes of encoders/objectives (use Encoder.supports / declared attributes): {found}"
