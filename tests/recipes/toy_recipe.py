"""A toy recipe: a registered encoder at random init embeds each window, a linear probe scores it."""

from pathlib import Path
from typing import Any

import torch
from pydantic import Field

from neurorep.config import Strict, validate
from neurorep.data.dataset import WindowDataset
from neurorep.data.prepared import DataConfig, setup_data
from neurorep.encoders import create_encoder
from neurorep.evaluation.probe import linear_probe
from neurorep.evaluation.report import Section, write_report
from neurorep.fileio import write_json
from neurorep.recipes.base import Benchmark, BenchmarkResults
from neurorep.sweep import Task, grouped_table


class ToyConfig(Strict):
    """One run: the encoder (and its arguments), the seed and the data."""

    encoder: str = "cnn"
    encoder_kwargs: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    progress: bool = False
    data: DataConfig


class ToyGrid(Strict):
    """The preset: seeds, encoders, and the settings of every run."""

    seeds: int = Field(1, ge=1)
    encoders: list[str] = Field(default_factory=lambda: ["cnn"])
    base: dict[str, Any] = Field(default_factory=dict)


def run_toy(name: str, config: dict[str, Any], out: str) -> dict[str, Any]:
    """One run: embed the labelled train and test windows, fit and score the probe, save the metrics."""
    cfg = validate(ToyConfig, config, source=f"toy run {name}")
    prepared = setup_data(cfg.data, progress=False)
    cache, split = prepared.cache, prepared.splits[0]
    torch.manual_seed(cfg.seed)
    encoder = create_encoder(cfg.encoder, n_channels=len(cache.info.ch_names), n_times=cache.info.n_times,
                             **cfg.encoder_kwargs).eval()

    def embed(idx: Any) -> tuple[Any, Any]:
        data = WindowDataset(cache, idx[cache.meta["y"][idx] >= 0])
        with torch.no_grad():
            return encoder(torch.from_numpy(data.load_all())).numpy(), cache.meta["y"][data.indices]

    probe = linear_probe(*embed(split.train), *embed(split.test), cache.classes, seed=cfg.seed)
    row = {"encoder": cfg.encoder, "seed": cfg.seed, "balanced_accuracy": probe.metrics["balanced_accuracy"]}
    write_json(Path(out) / "runs" / name / "metrics.json", row)
    return row


def toy_report(results: BenchmarkResults) -> Path:
    return write_report(results.out / "report.html", "toy benchmark", [Section("Probe", table=results.markdown)])


QUICK = {"base": {"data": {"simulate": {"kind": "sleep", "subjects": 4, "hours": 1.0}}}}


class ToyBenchmark(Benchmark, recipe="toy", presets={"quick": QUICK}, grid_cls=ToyGrid, worker=run_toy,
                   report=toy_report):
    """Every encoder x seed; one table, one report section."""

    def configure_tasks(self) -> list[list[Task]]:
        kwargs = self.base.pop("encoder_kwargs", {})
        return [[Task(f"{e}_s{seed}", {**self.base, "encoder": e, "seed": seed, "encoder_kwargs": kwargs.get(e, {})})
                 for seed in range(self.grid.seeds) for e in self.grid.encoders]]

    def configure_tables(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        return {"probe": grouped_table(rows, [("encoder", "Encoder")], [("balanced_accuracy", "Balanced acc.")])}
