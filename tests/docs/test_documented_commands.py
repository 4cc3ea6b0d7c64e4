"""Every command and snippet of the README and docs/*.md runs, so a broken example fails the build.

Each document is run top to bottom in a fresh folder (with ``configs/``, ``benchmarks/`` and
``.venv`` linked in, ``neurorep`` and ``python`` from the test's environment first on PATH, the
model registry and HOME inside the folder), as a new user would type it. Shell commands must exit
0; ``console`` blocks must exit 2 and print the line the docs show.

Shrinking rule: a documented command that takes long runs with the replacement listed for it in
:data:`SHRINK` (same command, smaller: one seed, one epoch, a tiny corpus, a quick preset);
a Python snippet gets the text replacements of :data:`PY_SHRINK`; placeholders (``RUN``) are
filled from :data:`PLACEHOLDERS`. A command that cannot run here (real data that is not
shipped, a GPU cluster, the internet, the test suite itself) is listed in :data:`NOT_RUN` with the
reason, and is still checked: its ``neurorep`` command line must parse, a ``run CONFIG`` must
validate its config with its overrides (``--help-keys``), and a ``pytest`` or script path must
exist. Python fragments that use names from the surrounding text are in :data:`FRAGMENTS` and
must compile and import. Every key of these tables must still be in the docs (no stale entries).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.doc_blocks import DOC_FILES, ROOT, Item, items

TINY_SLEEP_RUN = ("data.simulate.subjects=4 data.simulate.hours=1.5 pretrain.epochs=1 pretrain.max_windows=128 "
                  "probe.max_train=300")
TINY_SLEEP_GRID = ("--seeds 1 --set encoders=[cnn] --set paradigms=[crl] --set 'encoder_kwargs={cnn: {n_filters: 8}}' "
                   "--set pretrain.epochs=1 --set pretrain.max_windows=128 --set finetune.epochs=1 "
                   "--set finetune.max_windows=128 --set probe.max_train=300")
TINY_KD = ("data.simulate.subjects=5 data.simulate.hours=1 train.epochs=1 teacher_train.epochs=1 "
           "'data.eeg.encoder.kwargs={filters: [4, 8], pools: [10, 6], embed_dim: 8}' "
           "'data.ecg.encoder.kwargs={filters: [4, 8], pools: [4, 3], embed_dim: 8}'")
TINY_KD_GRID = ("--seeds 1 --set 'schemes=[3class]' --set base.data.simulate.subjects=5 --set base.data.simulate.hours=1 "
                "--set base.train.epochs=1 --set base.teacher_train.epochs=1")
TINY_EEG_IMAGE = ("data.simulate.subjects=2 data.simulate.n_train_concepts=40 data.simulate.n_test_concepts=20 "
                  "train.epochs=1 'eval.ways=[2,4]' 'eval.repetitions=[1,5]'")
TINY_EEG_IMAGE_GRID = ("--set 'subjects=[1,2]' --set target_subject=2 --set 'ratios=[1.0]' "
                       "--set base.data.simulate.subjects=2 --set base.data.simulate.n_train_concepts=40 "
                       "--set base.data.simulate.n_test_concepts=20 --set base.train.epochs=1 "
                       "--set 'base.eval.ways=[2,4]' --set 'base.eval.repetitions=[1,5]' --set base.eval.n_draws=2")
TINY_MEG_GRID = ("--seeds 1 --set \"rows=['000','111']\" --set base.data.simulate.subjects=5 "
                 "--set base.data.simulate.seconds=3 --set base.pretrain.epochs=1 --set base.finetune.epochs=1")
TINY_FOUNDATION = ("data.simulate.subjects=8 data.simulate.duration_s=60 pretrain.epochs=1 pretrain.crops_per_epoch=32 "
                   "finetune.epochs=1")
TINY_FOUNDATION_GRID = ("--seeds 1 --set base.data.simulate.subjects=8 --set base.data.simulate.duration_s=60 "
                        "--set base.pretrain.epochs=1 --set base.pretrain.crops_per_epoch=32 --set base.finetune.epochs=1")

#: documented command -> the command run instead (the same command, smaller).
SHRINK: dict[str, str] = {
    "neurorep data simulate sleep --out data/sim --subjects 10 --seed 0 --jobs 2":
        "neurorep data simulate sleep --out data/sim --subjects 4 --hours 1.5 --seed 0 --jobs 2",
    "neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml pretrain.epochs=2 --out runs/crl_cnn":
        f"neurorep run configs/sleep-ssl/quick_sim_cnn_crl.yaml pretrain.epochs=2 --out runs/crl_cnn {TINY_SLEEP_RUN}",
    "neurorep benchmark sleep-ssl --preset quick --data data/sim --out runs/grid --jobs 2":
        f"neurorep benchmark sleep-ssl --preset quick --data data/sim --out runs/grid --jobs 2 {TINY_SLEEP_GRID}",
    "neurorep run configs/kd-sleep/feat_temp.yaml --out runs/kd-sleep/feat_temp":
        f"neurorep run configs/kd-sleep/feat_temp.yaml --out runs/kd-sleep/feat_temp {TINY_KD}",
    "neurorep benchmark kd-sleep --out runs/kd-bench --jobs 2":
        f"neurorep benchmark kd-sleep --out runs/kd-bench --jobs 2 {TINY_KD_GRID} --set 'modes=[eeg_base,ecg_base,kd_temp]'",
    "neurorep benchmark eeg-image --out runs/eeg-image":
        f"neurorep benchmark eeg-image --out runs/eeg-image {TINY_EEG_IMAGE_GRID}",
    "neurorep run configs/eeg-image/quick_sim.yaml --out runs/eeg-image-one":
        f"neurorep run configs/eeg-image/quick_sim.yaml --out runs/eeg-image-one {TINY_EEG_IMAGE}",
    "neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 2":
        f"neurorep benchmark meg-ablation --out runs/meg-ablation --jobs 2 {TINY_MEG_GRID}",
    "neurorep benchmark foundation --out runs/foundation --jobs 2":
        f"neurorep benchmark foundation --out runs/foundation --jobs 2 {TINY_FOUNDATION_GRID}",
    "neurorep run configs/foundation/transfer.yaml --out runs/foundation-transfer":
        f"neurorep run configs/foundation/transfer.yaml --out runs/foundation-transfer {TINY_FOUNDATION}",
}

#: snippet text -> replacement, applied to every Python snippet.
PY_SHRINK: dict[str, str] = {
    '["pretrain.epochs=2"]': repr(["pretrain.epochs=2", *TINY_SLEEP_RUN.split()]),
    'preset="small", n_channels=19, n_times=10000': 'preset="tiny", n_channels=19, n_times=1000',
    "torch.randn(2, 19, 10000)": "torch.randn(2, 19, 1000)",
}

#: placeholders of a document -> what they stand for in its session.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "README.md": {"RUN/": "runs/grid/runs/supervised_cnn_s0_f0/", " RUN ": " runs/grid/runs/supervised_cnn_s0_f0 "},
}

#: documented command -> why it is not run here (it is still parsed and its paths checked).
NOT_RUN: dict[str, str] = {
    "make demo": "the sleep-ssl grid, run below shrunk as `neurorep benchmark sleep-ssl`",
    "make test": "the test suite itself",
    "neurorep run configs/kd-sleep/slpdb_ihr.yaml --out runs/kd-sleep/slpdb": "real slpdb listings (see test below)",
    "python -m neurorep.data.things_eeg2_download --out data/things-eeg2": "downloads the real data (internet)",
    "neurorep benchmark meg-ablation --data /path/to/meg-data --out runs/meg-real --preset full": "real HCP MEG data",
    "neurorep run configs/foundation/full_real.yaml --out runs/hms --set data.source=/path/to/hms":
        "real HMS data on a GPU",
}


def _session(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder to run a document in, as the current folder, with its environment set."""
    folder = tmp / "session"
    folder.mkdir()
    for name in ("configs", "benchmarks", ".venv"):
        if (ROOT / name).exists():
            (folder / name).symlink_to(ROOT / name)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    monkeypatch.setenv("NEUROREP_REGISTRY", str(folder / "registry"))
    monkeypatch.setenv("HOME", str(folder / "home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("NEUROREP_DEBUG", raising=False)
    return folder


def _fill(text: str, file: str) -> str:
    for key, value in PLACEHOLDERS.get(file, {}).items():
        text = text.replace(key, value)
    return text


def _call(command: str, folder: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run one shell command; returns (exit code, stderr).

    ``neurorep ...`` (also as ``.venv/bin/neurorep``) runs in this process through
    :func:`neurorep.cli.main`, which saves a Python start-up per command; ``export VAR=VALUE``
    sets the variable for the rest of the document; anything else runs in bash.
    """
    words = shlex.split(command)
    if words[0] == "export" and len(words) == 2 and "=" in words[1]:
        key, value = words[1].split("=", 1)
        monkeypatch.setenv(key, value.replace("$PWD", str(folder)))
        return 0, ""
    if words[0] in ("neurorep", ".venv/bin/neurorep") and not set("|&;<>$`") & set(command):
        from neurorep.cli import main

        capsys.readouterr()
        try:
            code = main(words[1:])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        return code, capsys.readouterr().err
    proc = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stderr


def _run_item(item: Item, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if item.kind == "python":
        code = item.text
        for old, new in PY_SHRINK.items():
            code = code.replace(old, new)
        exec(compile(_fill(code, item.file), item.where, "exec"), {"__name__": "__doc_snippet__"})  # noqa: S102
        return
    command = _fill(SHRINK.get(item.text, item.text), item.file)
    code, err = _call(command, folder, monkeypatch, capsys)
    if item.kind == "console":
        last = err.strip().splitlines()[-1] if err.strip() else ""
        assert code == 2 and last == item.expect, (
            f"{item.where}: `{command}` should exit 2 with the documented line\n  {item.expect}\n"
            f"got exit {code} and\n  {last}")
        return
    assert code == 0, f"{item.where}: `{command}` exited {code}:\n{err[-3000:]}"


def _run_document(items_: list[Item], folder: Path, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    assert items_, "no documented commands found"
    for item in items_:
        if item.text not in NOT_RUN and item.kind != "inline":
            _run_item(item, folder, monkeypatch, capsys)


#: README sections that run in the default test run (the newcomer's path); the recipe sections
#: after them each run in a fresh folder in the `slow` run (`make test-all`).
README_MAIN = ("Quickstart", "Command-line tour", "Python API",
               "Shipping a model: export, registry, distributed training, ensembles", "Errors and recovery")


def test_tables_name_documented_commands_only() -> None:
    """Every shrink, placeholder and not-run entry still matches a documented command (no stale entries)."""
    documented = {i.text for i in items()}
    stale = [k for k in [*SHRINK, *NOT_RUN] if k not in documented]
    assert not stale, f"entries for commands no longer in the docs: {stale}"
    snippets = "\n".join(i.text for i in items() if i.kind == "python")
    assert all(k in snippets for k in PY_SHRINK), [k for k in PY_SHRINK if k not in snippets]
    sections = {i.section for i in items(["README.md"])}
    assert set(README_MAIN) <= sections, set(README_MAIN) - sections


def test_inline_commands_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """`neurorep ...` commands quoted in the text name real subcommands and options, and their configs validate."""
    from neurorep.cli import build_parser

    folder = _session(tmp_path, monkeypatch)
    inline = [i for i in items() if i.kind == "inline"]
    assert len(inline) > 10
    for item in inline:
        words = shlex.split(item.text)
        capsys.readouterr()
        try:
            args, rest = build_parser().parse_known_args(words[1:])
        except SystemExit:  # a mention of a command without its required arguments is fine; a wrong name is not
            err = capsys.readouterr().err
            assert "the following arguments are required" in err, f"{item.where}: `{item.text}`: {err}"
            continue
        assert all("=" in r for r in rest), f"{item.where}: `{item.text}`: unknown arguments {rest}"
        if args.cmd == "run" and args.config is not None and (folder / args.config).is_file():
            code, err = _call(shlex.join([*words, "--help-keys"]), folder, monkeypatch, capsys)
            assert code == 0, f"{item.where}: {err}"


def test_not_run_commands_still_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Commands that cannot run here still name real options, configs and keys."""
    from neurorep.cli import build_parser

    folder = _session(tmp_path, monkeypatch)
    for item in items():
        if item.text not in NOT_RUN or item.kind == "inline":
            continue
        words = shlex.split(_fill(item.text, item.file))
        if words[0] == "neurorep":
            build_parser().parse_known_args(words[1:])
            if words[1] == "run":
                code, err = _call(shlex.join([*words, "--help-keys"]), folder, monkeypatch, capsys)
                assert code == 0, f"{item.where}: {err}"


def test_readme_main_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's quickstart, tour, Python API, shipping and error examples, top to bottom."""
    import time

    folder = _session(tmp_path, monkeypatch)
    main = [i for i in items(["README.md"]) if i.kind != "inline" and (i.section in README_MAIN or i.kind == "python")]  # snippets are quick
    _run_document(main, folder, monkeypatch, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("section", ["kd-sleep", "eeg-image", "meg-ablation", "foundation"])
def test_readme_recipe_section(section: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """Each recipe section of the README in a fresh folder."""
    folder = _session(tmp_path, monkeypatch)
    _run_document([i for i in items(["README.md"]) if i.section.startswith(section + ":") and i.kind != "python"],
                  folder, monkeypatch, capsys)


def test_doc_files_are_found() -> None:
    assert "README.md" in DOC_FILES and len(DOC_FILES) > 1
    kinds = {i.kind for i in items(["README.md"])}
    assert kinds == {"shell", "console", "python", "inline"}
