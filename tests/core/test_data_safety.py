"""A data path the user names is theirs: a missing one is an error, never created and filled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurorep.cli import main

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ["sleep-ssl", "kd-sleep", "eeg-image", "meg-ablation", "foundation"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_benchmark_with_a_missing_data_folder_writes_nothing(recipe: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "meg-dtaa"
    out = tmp_path / "bench"
    assert main(["benchmark", recipe, "--data", str(typo), "--out", str(out), "--preset", "full"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{typo}: data folder does not exist" in err[0]
    assert "neurorep data simulate" in err[0]
    assert not typo.exists() and not out.exists() and list(tmp_path.iterdir()) == []


def test_the_typo_case_from_a_shell_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "neurorep.cli", "benchmark", "meg-ablation", "--data",
                           str(tmp_path / "nope"), "--preset", "full", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_data_path_that_is_missing_is_not_simulated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = ROOT / "configs/sleep-ssl/quick_sim_cnn_crl.yaml"
    missing = tmp_path / "recordings"
    code = main(["run", str(config), f"data.source={missing}", "data.simulate=null", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"{missing}: data folder does not exist" in err[0]
    assert "simulate" not in err[0] and not missing.exists() and not (tmp_path / "run").exists()


def test_slpdb_config_names_its_data_without_suggesting_simulation(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a fresh clone: no data/slpdb, no development folders around it
    code = main(["run", str(ROOT / "configs/kd-sleep/slpdb_ihr.yaml"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("neurorep: error: data/slpdb: data folder does not exist") and "data.simulate" not in err[0]
    assert "docs/kd_sleep.md" in err[0] and "shared" not in (ROOT / "configs/kd-sleep/slpdb_ihr.yaml").read_text()


def test_evaluate_prints_where_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    emb = tmp_path / "emb.safetensors"
    save_file({"embedding": rng.normal(size=(60, 4)).astype(np.float32), "y": np.repeat(np.arange(3), 20),
               "subject": np.tile(np.arange(4), 15)}, str(emb))
    assert main(["evaluate", str(emb), "--out", str(tmp_path / "ev"), "--no-plots"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"wrote {tmp_path / 'ev' / 'latent.json'}" and (tmp_path / "ev" / "latent.json").is_file()
