"""Progress of long work: plain lines with counts and ETA when output goes to a log, counted over a whole grid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neurorep.progress import GridProgress, PlainProgress, eta, format_duration


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_durations_and_eta() -> None:
    assert [format_duration(s) for s in (4.4, 65, 7260)] == ["4 s", "1 min 05 s", "2 h 01 min"]
    assert eta(10.0, 2, 6) == "20 s" and eta(0.0, 0, 6) == "?"


def test_plain_progress_prints_tenths_with_eta_and_stays_quiet_for_short_work() -> None:
    clock, lines = Clock(), []
    bar = PlainProgress("simulating", 20, interval=1e9, quiet=5.0, clock=clock, emit=lines.append)
    for _ in range(20):
        clock.t += 1.0
        bar.advance()
    # silent for the first 5 s, then one line per tenth (every 2 items) up to 20/20
    assert lines[0] == "simulating: 5/20 (25%), elapsed 5 s, ETA 15 s"
    assert lines[1].startswith("simulating: 6/20 (30%)")
    assert lines[-1] == "simulating: 20/20 (100%), elapsed 20 s, ETA 0 s" and len(lines) == 9
    quick = []
    short = PlainProgress("preparing", 3, quiet=5.0, clock=Clock(), emit=quick.append)
    for _ in range(3):
        short.advance()
    assert quick == []


def test_grid_progress_counts_over_stages(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    counter = GridProgress(4, clock=clock)
    for name in ("a", "b", "c", "d"):  # e.g. two stages of two rows, one counter
        clock.t += 30.0
        counter.finished(name, "F1 0.5", 30.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[1/4] a: F1 0.5 (30 s); elapsed 30 s, ETA 1 min 30 s"
    assert out[-1].startswith("[4/4] d") and out[-1].endswith("ETA 0 s")


def test_run_tasks_shares_one_counter_between_calls(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from neurorep.sweep import Task, run_tasks

    counter = GridProgress(3)
    run_tasks([Task("one", {}), Task("two", {})], _worker, tmp_path, counter=counter)
    run_tasks([Task("three", {})], _worker, tmp_path, counter=counter)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split("]")[0] for ln in lines] == ["[1/3", "[2/3", "[3/3"] and all("ETA" in ln for ln in lines)


def _worker(name: str, config: dict, out: str) -> dict:
    return {"name": name}


SCRIPT = """
import sys
from pathlib import Path
import torch
from torch.utils.data import DataLoader, TensorDataset
from tests.training.helpers import TinyEncoder, C, T
from neurorep.training import SupervisedModule, build_trainer, fit

x = torch.randn(32, C, T); y = torch.randint(0, 3, (32,))
data = [{"x": a, "y": b} for a, b in zip(x, y)]
loader = DataLoader(data, batch_size=8)
trainer = build_trainer(Path(sys.argv[1]) / "stage", max_epochs=2, monitor="val/loss", patience=None)
fit(SupervisedModule(TinyEncoder(), n_classes=3), loader, loader, trainer)
"""


def test_training_prints_one_line_per_epoch_in_a_log(tmp_path: Path) -> None:
    """Under nohup (output to a file) each epoch prints its metrics and the time left; no Lightning chatter."""
    root = Path(__file__).resolve().parents[2]
    log = tmp_path / "nohup.out"
    with log.open("w") as fh:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "run")], stdout=fh, stderr=subprocess.STDOUT,
                              cwd=root, env={**__import__("os").environ, "PYTHONPATH": f"{root / 'src'}:{root}"},
                              timeout=300)
    text = log.read_text()
    assert proc.returncode == 0, text
    epochs = [ln for ln in text.splitlines() if " epoch " in ln]
    assert [ln.split(":")[0] for ln in epochs] == ["run/stage epoch 1/2", "run/stage epoch 2/2"], text
    assert all("train/loss" in ln and "val/loss" in ln and "ETA" in ln for ln in epochs)
    assert "GPU available" not in text and "LOCAL_RANK" not in text and "Trainer.fit" not in text
    from neurorep.training.trainer import resume_message

    last = tmp_path / "run" / "stage" / "checkpoints" / "last.ckpt"
    assert resume_message(last, 2, "run/stage") == (
        f"run/stage: resuming from {last} (saved after epoch 2); its training had finished, so only the evaluation "
        "is recomputed")
    assert resume_message(last, 5, "run/stage").endswith("training continues with epoch 3 of 5")
