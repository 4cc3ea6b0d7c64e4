"""An interrupted run (SIGKILL mid-training) resumes and ends with the metrics of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.recipes.conftest import make_config, write_config


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "neurorep.cli", *args]


def test_sigkill_then_resume_equals_straight_run(corpus: Path, tmp_path: Path) -> None:
    cfg = make_config(corpus, tmp_path, plots=False, latent={"enabled": False},
                      pretrain={"epochs": 3, "batch_size": 16, "max_windows": 160, "max_val_windows": 32,
                                "patience": None})
    path = write_config(tmp_path, cfg)
    straight = tmp_path / "straight"
    subprocess.run(_cli("run", str(path), "--out", str(straight)), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli("run", str(path), "--out", str(killed)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = killed / "pretrain" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the next epoch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert last.exists() and not (killed / "metrics.json").exists()

    refused = subprocess.run(_cli("run", str(path), "--out", str(killed)), capture_output=True, text=True)
    assert refused.returncode == 2 and "--resume" in refused.stderr

    subprocess.run(_cli("run", "--from", str(killed), "--resume"), check=True, capture_output=True)
    a = json.loads((straight / "metrics.json").read_text())["summary"]
    b = json.loads((killed / "metrics.json").read_text())["summary"]
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_run_from_repeats_a_run(corpus: Path, tmp_path: Path) -> None:
    path = write_config(tmp_path, make_config(corpus, tmp_path, plots=False, latent={"enabled": False}))
    subprocess.run(_cli("run", str(path), "--out", str(tmp_path / "a")), check=True, capture_output=True)
    subprocess.run(_cli("run", "--from", str(tmp_path / "a"), "--out", str(tmp_path / "b")), check=True,
                   capture_output=True)
    env = json.loads((tmp_path / "b" / "environment.json").read_text())
    assert env["packages"]["torch"].startswith("2.13") and env["data_fingerprint"]
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["summary"]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["summary"]
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
