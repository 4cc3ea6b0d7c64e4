"""benchmarks/gpu.py runs end to end on CPU with --smoke (tiny shapes), writing its JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


@pytest.mark.slow
def test_gpu_script_smoke_runs_every_model(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--repeats", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["device"] == "cpu"
    assert [r["model"] for r in report["rows"]] == ["eeg_foundation-base", "eeg_foundation-small", "transformer",
                                                    "cbramod", "biot", "labram", "eegpt"]
    for row in report["rows"]:
        assert row["gflop_per_window"] > 0 and row["largest_train_batch"] == ">= 4 (--max-batch)", row
        for mode in ("fp32", "bf16"):
            assert row[mode]["forward_windows_s"] > 0 and row[mode]["train_windows_s"] > 0, (row["model"], row[mode])


@pytest.mark.slow
def test_gpu_script_refuses_unknown_model_and_missing_gpu() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--models", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown model(s) nope" in proc.stderr
    import torch

    if not torch.cuda.is_available():
        proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
        assert proc.returncode == 2 and "no CUDA device" in proc.stderr
