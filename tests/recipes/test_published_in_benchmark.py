"""Published-model encoders run in a recipe benchmark beside neurorep's own encoders (random weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurorep.encoders import ENCODERS
from neurorep.recipes.sleep_ssl import benchmark_sleep_ssl

PUBLISHED = ["cbramod", "biot", "labram", "eegpt"]


@pytest.mark.slow
def test_sleep_ssl_grid_has_published_rows(corpus: Path, tmp_path: Path) -> None:
    names = ["cnn", *PUBLISHED]
    kwargs = {n: {k: v for k, v in ENCODERS.get(n).tiny_kwargs(1, 1).items() if k not in ("n_channels", "n_times")}
              for n in names}
    # the quick preset cuts 30-s windows at 50 Hz (1500 samples): patches of 100 samples divide them
    kwargs["cbramod"]["patch_size"] = kwargs["labram"]["patch_size"] = 100
    sets = [f"encoders=[{','.join(names)}]", "paradigms=[crl]", f"encoder_kwargs={json.dumps(kwargs)}",
            f"data.cache={tmp_path / 'cache'}", "data.prepare.trim_wake_min=null",
            "pretrain.epochs=1", "pretrain.max_windows=64", "finetune.epochs=1", "finetune.max_windows=64",
            "finetune.label_fractions=[0.1,1.0]", "probe.max_train=200", "latent.enabled=false"]
    benchmark_sleep_ssl("quick", data=corpus, out=tmp_path / "grid", seeds=1, overrides=sets, progress=False)
    table = (tmp_path / "grid" / "results.md").read_text()
    for name in names:
        for row in ("Random init", "Supervised", "CRL"):
            assert f"| {row} | {name} | 1 |" in table
