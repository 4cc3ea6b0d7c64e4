"""Failures that are not one bad file: killed commands, full disks, bugs, stale sources, hostile labels.

Each test states a promise of the README's "Errors and recovery" section and checks it.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurorep import fileio, runs
from neurorep.cli import COMMANDS, main
from neurorep.errors import ConfigError, DataError
from tests.reliability.malformed import GOOD_STAGES, HMS_COLUMNS, _night
from tests.reliability.malformed_config import _saved
from tests.reliability.sandbox import LIBRARY_TEMP_NAMES, assert_clean_failure, run_in_sandbox, snapshot

SRC = Path(__file__).resolve().parents[2] / "src" / "neurorep"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie has exited; only its parent's bookkeeping is left


# --- workers die with their parent --------------------------------------------------------------------

def test_every_process_pool_comes_from_worker_pool() -> None:
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "ProcessPoolExecutor(" in p.read_text() and p.name != "processes.py"]
    assert offenders == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_workers_die_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import os, sys, time\n"
        "from neurorep.processes import worker_pool\n"
        "pool = worker_pool(2)\n"
        "pids = {pool.submit(os.getpid).result() for _ in range(8)}\n"
        "pool.submit(time.sleep, 120)\n"
        "print(' '.join(map(str, pids)), flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert workers and all(not _gone(p) for p in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and not all(_gone(p) for p in workers):
        time.sleep(0.1)
    assert all(_gone(p) for p in workers), f"workers {workers} outlived their killed parent"


def test_watchdog_ends_a_worker_where_prctl_is_missing(tmp_path: Path) -> None:
    worker = ("import os, time\n"
              "import neurorep.processes as p\n"
              "p.WATCHDOG_PERIOD_S = 0.1\n"
              "p._set_pdeathsig = lambda: False\n"
              "p.die_with_parent(os.getppid())\n"
              "time.sleep(120)\n")
    script = ("import subprocess, sys, time\n"
              f"w = subprocess.Popen([sys.executable, '-c', {worker!r}])\n"
              "print(w.pid, flush=True)\n"
              "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    time.sleep(1.0)  # let the worker start its watchdog
    assert not _gone(pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and not _gone(pid):
        time.sleep(0.1)
    assert _gone(pid), "the watchdog did not end the orphaned worker"


# --- killed commands leave nothing that a rerun keeps ---------------------------------------------------

def test_rerun_of_register_removes_the_folder_a_killed_one_left(tmp_path: Path) -> None:
    cnn = _saved(tmp_path, "cnn")
    stale = tmp_path / "reg" / "sleep-cnn" / f".1.0.0.tmp-{_dead_pid()}"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half a copy")
    assert main(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(tmp_path / "reg")]) == 0
    assert not stale.exists()
    assert sorted(p.name for p in (tmp_path / "reg" / "sleep-cnn").iterdir()) == ["1.0.0"]


def test_export_stages_beside_its_output_and_a_rerun_cleans_a_killed_one(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    cnn = _saved(tmp_path, "cnn")
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    out = tmp_path / "out" / "m.onnx"
    out.parent.mkdir()
    stale = out.parent / f".m.onnx.tmp-{_dead_pid()}"
    stale.mkdir()
    (stale / "float.onnx").write_bytes(b"left by a SIGKILL")
    assert main(["export", str(cnn), "--out", str(out), "--n-check", "2"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.onnx"]
    assert [p for p in tmpdir.iterdir() if not p.name.startswith(LIBRARY_TEMP_NAMES)] == []


# --- full disk, bugs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", ["full disk", "out of memory"])
def test_environment_failure_is_one_line_and_removes_the_new_cache(failure: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    night = _night(tmp_path / "night", GOOD_STAGES)

    def fail(path: object, *a: object, **k: object) -> None:
        if failure == "full disk":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        raise MemoryError

    monkeypatch.setattr(np, "save", fail)
    o = run_in_sandbox(["data", "prepare", str(night), "--out", str(tmp_path / "cache")], tmp_path, capsys,
                       monkeypatch)
    expect = ["00000.npy", "no space left"] if failure == "full disk" else ["not enough memory"]
    assert_clean_failure(o, failure, expect)


def test_a_bug_names_its_log_and_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object) -> int:
        return {}["missing"]

    monkeypatch.setitem(COMMANDS, "list", broken)
    monkeypatch.setenv("NEUROREP_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("NEUROREP_DEBUG", raising=False)
    assert main(["list", "encoders"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error (KeyError" in err and "NEUROREP_DEBUG=1" in err
    logs = list((tmp_path / "logs").iterdir())
    assert len(logs) == 1 and str(logs[0]) in err
    assert "Traceback" in logs[0].read_text() and "KeyError" in logs[0].read_text()
    monkeypatch.setenv("NEUROREP_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["list", "encoders"])


# --- what the user sees and what the files say --------------------------------------------------------

def test_data_info_escapes_terminal_sequences_from_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neurorep.data.manifest import write_manifest

    night = _night(tmp_path / "night", GOOD_STAGES)
    assert main(["data", "prepare", str(night), "--out", str(tmp_path / "cache")]) == 0
    cache = next(p for p in (tmp_path / "cache").iterdir() if p.is_dir())
    info = json.loads((cache / "info.json").read_text())
    info["ch_names"][0] = "EEG\x1b]0;owned\x07\x1b[2J[red]x"
    (cache / "info.json").write_text(json.dumps(info))
    write_manifest(cache)
    capsys.readouterr()
    assert main(["data", "info", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07" in out and "[red]x" in out


def test_json_writer_never_writes_bare_nan(tmp_path: Path) -> None:
    path = fileio.write_json(tmp_path / "metrics.json", {"a": float("nan"), "b": [np.float32("inf"), 1.5],
                                                         "c": np.array([np.nan, 2.0])})

    def refuse(name: str) -> None:
        raise ValueError(name)

    assert json.loads(path.read_text(), parse_constant=refuse) == {"a": None, "b": [None, 1.5], "c": [None, 2.0]}
    assert runs.write_json is fileio.write_json


def test_cache_key_follows_content_not_mtime(tmp_path: Path) -> None:
    from neurorep.data.cache import prepare

    night = _night(tmp_path / "night", GOOD_STAGES)
    first = prepare(night, tmp_path / "cache", progress=False)
    psg = night / "SC4001E0-PSG.edf"
    st = psg.stat()
    raw = bytearray(psg.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # a different recording of the same size ...
    psg.write_bytes(bytes(raw))
    os.utime(psg, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the same mtime (cp -p, rsync -t)
    second = prepare(night, tmp_path / "cache", progress=False)
    assert not second.reused and second.cache.path != first.cache.path


def test_hms_csv_boolean_column_is_refused(tmp_path: Path) -> None:
    from neurorep.data.readers.hms import read_hms_eeg

    rows = [",".join(HMS_COLUMNS)] + [",".join("True" if c == "O1" else "1.5" for c in HMS_COLUMNS)] * 20
    (tmp_path / "5.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"5.csv: electrode column O1 holds bool"):
        read_hms_eeg(tmp_path / "5.csv")


def test_hms_label_past_the_end_of_its_eeg_is_refused(tmp_path: Path) -> None:
    import pandas as pd

    from neurorep.data.simulate.hms import simulate_hms
    from neurorep.recipes.foundation.config import HMSDataConfig
    from neurorep.recipes.foundation.data import prepare_hms

    src = tmp_path / "hms"
    simulate_hms(src, n_subjects=2, seed=0, eegs_per_patient=1, duration_s=54.0, labels_per_eeg=1, progress=False)
    df = pd.read_csv(src / "train.csv")
    df.loc[0, "eeg_label_offset_seconds"] = 40.0
    df.to_csv(src / "train.csv", index=False)
    cfg = HMSDataConfig(source=str(src), cache=str(tmp_path / "cache"))
    with pytest.raises(DataError, match=r"label offset 40 s .* past the end of the EEG \(54 s\)"):
        prepare_hms(cfg, progress=False)
    assert not (tmp_path / "cache").exists()  # the cache folder it made is removed again


# --- overwrite and out: rules -------------------------------------------------------------------------

def test_overwrite_replaces_a_run_folder_neurorep_made(tmp_path: Path) -> None:
    out = runs.prepare_run_dir(tmp_path / "run")
    assert (out / fileio.RUN_MARKER).is_file()
    (out / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a run"):
        runs.prepare_run_dir(out)
    runs.prepare_run_dir(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [fileio.RUN_MARKER]


def test_config_out_resolves_inside_its_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    cfg = tmp_path / "configs" / "sleep" / "a.yaml"
    cfg.parent.mkdir(parents=True)
    assert runs.resolve_out("runs/a", cfg, from_config=True) == (tmp_path / "runs" / "a").resolve()
    assert runs.resolve_out("../elsewhere", cfg, from_config=False) == Path("../elsewhere")
    for bad in ("../x", "/tmp/x", "runs/../../x", "~/x"):
        with pytest.raises(ConfigError):
            runs.resolve_out(bad, cfg, from_config=True)


def test_snapshot_sees_every_kind_of_change(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    before = snapshot(tmp_path)
    (tmp_path / "a").write_text("2")
    (tmp_path / "b").mkdir()
    assert snapshot(tmp_path) != before and set(snapshot(tmp_path)) == {"a", "b"}


def test_simulate_overwrite_works_in_a_folder_it_made(tmp_path: Path) -> None:
    argv = ["data", "simulate", "sleep", "--out", str(tmp_path / "sim"), "--subjects", "1", "--hours", "0.5"]
    assert main(argv) == 0
    assert (tmp_path / "sim" / fileio.RUN_MARKER).is_file()
    assert main([*argv, "--overwrite"]) == 0


def test_resume_accepts_a_run_folder_written_before_markers(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("recipe: sleep-ssl\n")
    (run / "environment.json").write_text("{}")
    runs.check_run_dir(run, resume=True)
    with pytest.raises(ConfigError, match="not made by neurorep"):
        runs.check_run_dir(run, overwrite=True)
