from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neurorep.cli import main


def test_list_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "datasets"]) == 0
    assert "sleep-edf" in capsys.readouterr().out


def test_prepare_and_info(sleep_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "prepare", str(sleep_folder), "--out", str(tmp_path / "c"), "--scheme", "3class"]) == 0
    out = capsys.readouterr().out
    assert "wrote cache" in out and "NREM" in out
    assert main(["data", "info", str(sleep_folder)]) == 0
    out = capsys.readouterr().out
    assert "sleep-edf" in out and "SC4001E0-PSG.edf" in out
    assert main(["data", "info", str(tmp_path / "c")]) == 0
    assert "windows" in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [
    (["data", "info", "/no/such/path"], "no such file or folder"),
    (["data", "prepare", "{folder}", "--out", "{tmp}/c", "--scheme", "5class"], "did you mean"),
    (["data", "prepare", "{folder}", "--out", "{tmp}/c", "--channels", "EEG Cz"], "channels are: EEG Fpz-Cz"),
])
def test_user_errors_exit_2_with_one_line(argv: list[str], match: str, sleep_folder: Path, tmp_path: Path) -> None:
    argv = [a.format(folder=sleep_folder, tmp=tmp_path) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "neurorep.cli", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in proc.stderr
    if "--out" in argv:
        assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_run_overrides_may_follow_options(tmp_path: Path) -> None:
    from neurorep.cli import build_parser

    args, rest = build_parser().parse_known_args(["run", "c.yaml", "a.b=1", "--out", "o", "c=2"])
    assert args.overrides == ["a.b=1"] and rest == ["c=2"]
    proc = subprocess.run([sys.executable, "-m", "neurorep.cli", "run", str(tmp_path / "missing.yaml"), "--out",
                           str(tmp_path / "o"), "pretrain.epochs=2"], capture_output=True, text=True)
    assert proc.returncode == 2 and "missing.yaml" in proc.stderr and "unrecognized" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "neurorep.cli", "list", "encoders", "extra"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "unrecognized arguments: extra" in proc.stderr
