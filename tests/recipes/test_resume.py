"""An interrupted run (SIGKILL mid-training) resumes and ends with the metrics of an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.recipes.conftest import make_config, write_config


STEPS_PER_EPOCH = 10  # max_windows 160 / batch_size 16

KILL_MID_EPOCH = """
import os, signal, sys
import lightning as L
from neurorep.recipes.sleep_ssl import pipeline

class Kill(L.Callback):
    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step >= {step}:
            os.kill(os.getpid(), signal.SIGKILL)

build = pipeline.build_trainer

def with_kill(out_dir, **kw):
    if str(out_dir).endswith("pretrain"):
        kw["callbacks"] = (*kw.get("callbacks", ()), Kill())
    return build(out_dir, **kw)

pipeline.build_trainer = with_kill
from neurorep.cli import main
sys.exit(main({argv!r}))
"""


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
    # the child runs the normal CLI, with one extra pretraining callback that SIGKILLs the process
    # in the middle of the second epoch (after the first epoch's checkpoint was written)
    child = KILL_MID_EPOCH.format(argv=["run", str(path), "--out", str(killed)], step=STEPS_PER_EPOCH + 3)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (killed / "pretrain" / "checkpoints" / "last.ckpt").exists()
    assert not (killed / "pretrain" / "export" / "final").exists() and not (killed / "metrics.json").exists()

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
