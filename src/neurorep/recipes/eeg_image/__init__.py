"""Recipe eeg-image: align an EEG encoder to frozen image embeddings (CLIP loss); zero-shot retrieval.

Reproduces the Things-EEG-2 / NICE setting: a ResNet-1D EEG encoder plus a linear projection is
trained so its embeddings match frozen CLIP ViT-B/32 image embeddings under the symmetric InfoNCE
loss (temperature 0.04); only the EEG side trains. Evaluation: 2/4/50/200-way top-1/top-5 zero-shot
retrieval among the unseen test concepts, intra- and inter-subject, with chance levels, per
higher-level category, and against the number of test repetitions averaged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurorep.recipes import Recipe, register_recipe
from neurorep.recipes.eeg_image.config import EEGImageConfig
from neurorep.recipes.eeg_image.pipeline import run_eeg_image


def _benchmark(**kwargs: Any) -> Path:
    from neurorep.recipes.eeg_image.grid import benchmark_eeg_image

    return benchmark_eeg_image(**kwargs)


RECIPE = register_recipe(Recipe(
    name="eeg-image", config_cls=EEGImageConfig, run=run_eeg_image, benchmark=_benchmark,
    description="EEG encoder aligned to frozen image embeddings (CLIP loss); zero-shot 200-way retrieval (Things-EEG-2)"))

__all__ = ["EEGImageConfig", "run_eeg_image"]
