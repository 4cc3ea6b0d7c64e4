"""A new recipe is one short file composing registered parts through the benchmark skeleton.

``toy_recipe.py`` (beside this test) is that file; docs/extending.md shows it as the example of a
new recipe. Here it is measured (lines) and run end to end on a tiny simulated cache.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from neurorep.cli import main
from neurorep.errors import ConfigError
from neurorep.recipes.base import Benchmark

from tests.recipes.ssl_cache import ssvep_cache
from tests.recipes.toy_recipe import ToyBenchmark

TOY = Path(__file__).with_name("toy_recipe.py")
DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
TINY = ("encoder_kwargs={cnn: {n_filters: 8, embed_dim: 16, n_convs: 1, first_kernel: 32, first_stride: 4}, "
        "transformer: {embed_dim: 16, patch_size: 64, n_layers: 1}}")


def recipe_lines() -> int:
    return len(TOY.read_text().splitlines())


def test_the_toy_recipe_is_one_file_under_80_lines() -> None:
    assert recipe_lines() < 80, f"{TOY.name} has {recipe_lines()} lines"
    assert issubclass(ToyBenchmark, Benchmark)


def test_the_guide_shows_the_toy_recipe_and_its_measured_size() -> None:
    text = DOC.read_text()
    block = re.search(r"## A new recipe\n.*?```python\n(.*?)```", text, re.S)
    assert block is not None, "docs/extending.md: no python block under '## A new recipe'"
    assert block.group(1).startswith(TOY.read_text()), "docs/extending.md: the recipe block differs from toy_recipe.py"
    assert f"one file of {recipe_lines()} lines" in text, "docs/extending.md: the recipe's size is not the measured one"


def test_the_toy_recipe_runs_end_to_end(tmp_path: Path) -> None:
    cache = ssvep_cache(tmp_path / "data", n_subjects=5)
    out = tmp_path / "toy"
    report = ToyBenchmark(data=cache, out=out, seeds=2, progress=False,
                          overrides=["encoders=[cnn,transformer]", TINY, "data.split.test=0.4"]).run()
    assert report == out / "report.html" and report.is_file()
    rows = json.loads((out / "results.json").read_text())
    assert [(r["encoder"], r["seed"]) for r in rows] == [("cnn", 0), ("transformer", 0), ("cnn", 1), ("transformer", 1)]
    assert all(0.0 <= r["balanced_accuracy"] <= 1.0 and (out / r["run"] / "metrics.json").is_file() for r in rows)
    table = (out / "results.md").read_text()
    assert "| cnn | 2 |" in table and "| transformer | 2 |" in table, table


def test_the_toy_recipe_refuses_bad_input_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset 'quik'.*did you mean 'quick'"):
        ToyBenchmark(preset="quik", out=tmp_path / "a").run()
    with pytest.raises(ConfigError, match="jobs must be at least 1"):
        ToyBenchmark(out=tmp_path / "b", jobs=0).run()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_still_runs_registered_recipes_through_the_skeleton(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmark", "foundation", "--out", str(tmp_path / "f"), "--set", "rows=[scracth]"]) == 2
    assert "did you mean 'scratch'" in capsys.readouterr().err and not (tmp_path / "f").exists()
