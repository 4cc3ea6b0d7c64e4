"""Corpus cases for the user's data: overwrite and resume safety, tampered caches, values that are
not numbers and unusable output paths (see ``malformed.py`` for the format; resource bombs are in
``malformed_bombs.py``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import yaml

from neurorep.cli import main
from neurorep.config import dump_yaml, load_config
from neurorep.fileio import RUN_MARKER
from tests.reliability.malformed import GOOD_STAGES, HMS_COLUMNS, Case, _h5, _night, case
from tests.reliability.malformed_config import _cfg, _run, _saved

# --- user data deleted -----------------------------------------------------------------------------

@case("overwrite-folder-of-user-files")
def _(tmp: Path) -> Case:
    mine = tmp / "documents"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    c = _run(tmp, _cfg(tmp), "--overwrite")
    c.argv[c.argv.index("--out") + 1] = str(mine)
    c.expect = [str(mine), "not made by neurorep", RUN_MARKER]
    return c


@case("config-out-escapes-its-project")
def _(tmp: Path) -> Case:
    (tmp / "documents").mkdir()
    (tmp / "documents" / "thesis.txt").write_text("years of work")
    proj = tmp / "shared" / "project"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    cfg = _cfg(tmp)
    cfg["out"] = "../../documents"
    (proj / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    return Case(["run", str(proj / "cfg.yaml"), "--overwrite"], ["cfg.yaml", "out", "../../documents", "leaves"])


@case("config-out-absolute")
def _(tmp: Path) -> Case:
    cfg = _cfg(tmp)
    cfg["out"] = str(tmp / "elsewhere")
    (tmp / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    return Case(["run", str(tmp / "cfg.yaml")], ["cfg.yaml", "out", "absolute", "--out"])


@case("benchmark-overwrite-folder-of-user-files")
def _(tmp: Path) -> Case:
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.md").write_text("mine")
    return Case(["benchmark", "sleep-ssl", "--out", str(tmp / "mine"), "--overwrite"],
                [str(tmp / "mine"), "not made by neurorep"])


@case("simulate-overwrite-folder-of-user-files")
def _(tmp: Path) -> Case:
    (tmp / "mine").mkdir()
    (tmp / "mine" / "SC4001E0-PSG.edf").write_bytes(b"the user's own recording")
    return Case(["data", "simulate", "sleep", "--out", str(tmp / "mine"), "--subjects", "1", "--hours", "0.5",
                 "--overwrite"], [str(tmp / "mine"), "not made by neurorep"])


@case("simulate-out-under-a-file")
def _(tmp: Path) -> Case:
    (tmp / "file").write_text("x")
    return Case(["data", "simulate", "sleep", "--out", str(tmp / "file" / "sim"), "--subjects", "1"],
                ["file", "is a file"])


# --- a failed --resume ------------------------------------------------------------------------------

def _fake_run(tmp: Path, cfg: dict) -> Path:
    """A run folder as a run leaves it: marker, resolved config.yaml, a checkpoint folder."""
    (tmp / "orig.yaml").write_text(yaml.safe_dump(cfg))
    run = tmp / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / RUN_MARKER).write_text("made by neurorep\n")
    dump_yaml(load_config(tmp / "orig.yaml"), run / "config.yaml")
    (run / "metrics.csv").write_text("epoch,loss\n0,1.0\n")
    return run


@case("resume-with-another-config")
def _(tmp: Path) -> Case:
    cfg = _cfg(tmp)
    _fake_run(tmp, cfg)
    c = _run(tmp, cfg, "pretrain.lr=0.5", "--resume")
    c.expect = [str(tmp / "run"), "cannot resume", "pretrain.lr"]
    return c


@case("resume-checkpoint-is-a-code-pickle")
def _(tmp: Path) -> Case:
    import os

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {tmp / 'pwned'}",))

    cfg = _cfg(tmp)
    run = _fake_run(tmp, cfg)
    (run / "checkpoints" / "last.ckpt").write_bytes(pickle.dumps({"state_dict": Evil()}))
    c = _run(tmp, cfg, "--resume")
    c.expect = ["last.ckpt", "cannot be loaded safely"]
    return c


@case("resume-folder-not-made-by-neurorep")
def _(tmp: Path) -> Case:
    (tmp / "run").mkdir()
    (tmp / "run" / "config.yaml").write_text("recipe: sleep-ssl\n")
    c = _run(tmp, _cfg(tmp), "--resume")
    c.expect = [str(tmp / "run"), "not made by neurorep"]
    return c


# --- values that are not what they claim ------------------------------------------------------------

@case("config-label-fractions-empty")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "probe.label_fractions=[]")
    c.expect = ["probe.label_fractions", "at least one"]
    return c


@case("config-finetune-label-fractions-empty")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "finetune.label_fractions=[]")
    c.expect = ["finetune.label_fractions", "at least one"]
    return c


@case("config-lr-infinite")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "pretrain.lr=.inf")
    c.expect = ["pretrain.lr", "finite"]
    return c


@case("config-nan-in-file")
def _(tmp: Path) -> Case:
    cfg = _cfg(tmp)
    cfg["probe"]["C"] = float("nan")
    c = _run(tmp, cfg)
    c.expect = ["cfg.yaml", "probe.C", "finite"]
    return c


@case("config-encoder-kwarg-infinite")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "encoder.kwargs.dropout=-.inf")
    c.expect = ["encoder.kwargs", "finite"]
    return c


@case("config-encoder-kwarg-typo")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "encoder.kwargs.n_filtrs=8")
    c.expect = ["encoder 'cnn'", "n_filtrs", "did you mean 'n_filters'"]
    return c


@case("config-objective-kwarg-typo")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "objective.kwargs.temprature=0.1")
    c.expect = ["objective 'contrastive'", "temprature"]
    return c


@case("prepare-sfreq-infinite")
def _(tmp: Path) -> Case:
    return Case(["data", "prepare", str(tmp), "--out", str(tmp / "cache"), "--sfreq", "inf"], ["--sfreq", "inf"])


@case("prepare-window-infinite")
def _(tmp: Path) -> Case:
    return Case(["data", "prepare", str(tmp), "--out", str(tmp / "cache"), "--window", "inf"], ["--window", "inf"])


@case("prepare-window-nan")
def _(tmp: Path) -> Case:
    return Case(["data", "prepare", str(tmp), "--out", str(tmp / "cache"), "--window", "nan"], ["--window", "nan"])


@case("prepare-jobs-zero")
def _(tmp: Path) -> Case:
    return Case(["data", "prepare", str(tmp), "--out", str(tmp / "cache"), "--jobs", "0"], ["--jobs", ">= 1"])


@case("simulate-hours-negative")
def _(tmp: Path) -> Case:
    return Case(["data", "simulate", "sleep", "--out", str(tmp / "s"), "--hours", "-1"], ["--hours", "> 0"])


@case("export-n-check-zero")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    return Case(["export", str(cnn), "--out", str(tmp / "m.onnx"), "--n-check", "0"], ["--n-check", ">= 1"])


@case("evaluate-k-zero")
def _(tmp: Path) -> Case:
    return Case(["evaluate", str(tmp), "--k", "0"], ["--k", ">= 1"])


@case("benchmark-seeds-zero")
def _(tmp: Path) -> Case:
    return Case(["benchmark", "sleep-ssl", "--out", str(tmp / "b"), "--seeds", "0"], ["--seeds", ">= 1"])


@case("unknown-option")
def _(tmp: Path) -> Case:
    return Case(["data", "info", str(tmp), "--jsn"], ["--jsn"])


@case("registry-card-overrides-name")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    return Case(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(tmp / "reg"),
                 "--set", "name=someone-else"], ["name", "set by the registry"])


@case("registry-card-file-overrides-version")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    (tmp / "card.yaml").write_text("version: 9.9.9\n")
    return Case(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(tmp / "reg"),
                 "--card", str(tmp / "card.yaml")], ["version", "set by the registry"])


@case("registry-version-trailing-newline")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    return Case(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(tmp / "reg"),
                 "--version", "1.0.0\n"], ["version", "semantic version"])


@case("registry-version-with-space")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    return Case(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(tmp / "reg"),
                 "--version", "1.0.0 "], ["version", "semantic version"])


@case("registry-name-trailing-newline")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    return Case(["registry", "register", str(cnn), "--name", "sleep-cnn\n", "--registry", str(tmp / "reg")],
                ["model name"])


@case("hms-boolean-electrode-column")
def _(tmp: Path) -> Case:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {c: np.random.default_rng(0).normal(0, 30, 200).astype(np.float32) for c in HMS_COLUMNS}
    data["Cz"] = np.zeros(200, bool)
    pq.write_table(pa.table(data), tmp / "1003.parquet")
    return Case(["data", "info", str(tmp / "1003.parquet")], ["1003.parquet", "Cz", "bool"])


@case("meg-complex-samples")
def _(tmp: Path) -> Case:
    x = (np.ones((248, 64)) + 1j).astype(np.complex64)
    p = _h5(tmp / "rest_105923_1.h5", "rest_105923", x)
    return Case(["data", "info", str(p)], ["rest_105923_1.h5", "complex"])


@case("meg-boolean-samples")
def _(tmp: Path) -> Case:
    p = _h5(tmp / "rest_105923_1.h5", "rest_105923", np.ones((248, 64), bool))
    return Case(["data", "info", str(p)], ["rest_105923_1.h5", "booleans"])


# --- tampered caches -----------------------------------------------------------------------------

def _cache(tmp: Path) -> Path:
    night = _night(tmp / "night", GOOD_STAGES)
    assert main(["data", "prepare", str(night), "--out", str(tmp / "cache")]) == 0
    return next(p for p in (tmp / "cache").iterdir() if (p / "COMPLETE").is_file())


@case("cache-labels-edited")
def _(tmp: Path) -> Case:
    import pyarrow.parquet as pq

    cache = _cache(tmp)
    table = pq.read_table(cache / "meta.parquet")
    y = table.column("y").to_numpy().copy()
    y[:] = 0
    pq.write_table(table.set_column(table.column_names.index("y"), "y", [y]), cache / "meta.parquet")
    return Case(["data", "info", str(cache)], ["meta.parquet", "delete the cache"])


@case("cache-window-file-truncated")
def _(tmp: Path) -> Case:
    cache = _cache(tmp)
    x = cache / "x" / "00000.npy"
    x.write_bytes(x.read_bytes()[:-4096])
    return Case(["data", "info", str(cache)], ["00000.npy", "delete the cache"])


@case("cache-window-bytes-flipped")
def _(tmp: Path) -> Case:
    cache = _cache(tmp)
    x = cache / "x" / "00000.npy"
    raw = bytearray(x.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    x.write_bytes(bytes(raw))
    return Case(["data", "info", str(cache), "--verify"], ["00000.npy", "differs", "delete the cache"])


@case("cache-info-empty-object")
def _(tmp: Path) -> Case:
    cache = _cache(tmp)
    (cache / "info.json").write_text("{}")
    return Case(["data", "info", str(cache)], ["info.json", "delete the cache"])


@case("cache-without-manifest")
def _(tmp: Path) -> Case:
    cache = _cache(tmp)
    (cache / "manifest.json").unlink()
    return Case(["data", "info", str(cache)], ["manifest.json", "delete the cache"])


@case("verify-a-folder-without-cache")
def _(tmp: Path) -> Case:
    return Case(["data", "info", str(tmp), "--verify"], [str(tmp), "no neurorep cache"])


# --- output paths that cannot be used ---------------------------------------------------------------

@case("export-out-is-a-folder")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    (tmp / "out").mkdir()
    return Case(["export", str(cnn), "--out", str(tmp / "out")], [str(tmp / "out"), "is a folder"])


@case("export-out-under-a-file")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    (tmp / "file").write_text("x")
    return Case(["export", str(cnn), "--out", str(tmp / "file" / "m.onnx")], ["file", "is a file"])


@case("run-out-under-a-file")
def _(tmp: Path) -> Case:
    (tmp / "file").write_text("x")
    c = _run(tmp, _cfg(tmp))
    c.argv[c.argv.index("--out") + 1] = str(tmp / "file" / "run")
    c.expect = ["file", "is a file"]
    return c


@case("registry-show-card-missing")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    reg = tmp / "reg"
    assert main(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(reg)]) == 0
    (reg / "sleep-cnn" / "1.0.0" / "card.md").unlink()
    return Case(["registry", "show", "sleep-cnn", "--registry", str(reg)], ["card.md", "missing"])


@case("registry-show-card-truncated")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    reg = tmp / "reg"
    assert main(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(reg)]) == 0
    card = reg / "sleep-cnn" / "1.0.0" / "card.json"
    card.write_text(card.read_text()[:40])
    return Case(["registry", "show", "sleep-cnn", "--registry", str(reg), "--json"], ["card.json", "unreadable"])


@case("evaluate-metrics-json-truncated")
def _(tmp: Path) -> Case:
    from safetensors.numpy import save_file

    run = tmp / "run"
    (run / "embeddings").mkdir(parents=True)
    rng = np.random.default_rng(0)
    save_file({"embedding": rng.normal(size=(40, 4)).astype(np.float32), "y": rng.integers(0, 2, 40),
               "subject": rng.integers(0, 4, 40)}, str(run / "embeddings" / "test.safetensors"))
    (run / "metrics.json").write_text('{"classes": ["W", "N')
    return Case(["evaluate", str(run), "--out", str(tmp / "ev")], ["metrics.json", "unreadable"])


@case("evaluate-mismatched-arrays")
def _(tmp: Path) -> Case:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    save_file({"embedding": rng.normal(size=(40, 4)).astype(np.float32), "y": rng.integers(0, 2, 30),
               "subject": rng.integers(0, 4, 40)}, str(tmp / "e.safetensors"))
    return Case(["evaluate", str(tmp / "e.safetensors"), "--out", str(tmp / "ev")], ["e.safetensors", "shapes"])


@case("data-info-symlink-loop")
def _(tmp: Path) -> Case:
    (tmp / "a.edf").symlink_to(tmp / "b.edf")
    (tmp / "b.edf").symlink_to(tmp / "a.edf")
    return Case(["data", "info", str(tmp / "a.edf")], ["a.edf"])
