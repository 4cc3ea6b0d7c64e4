"""Malformed configs, output folders and weight files (the rest of the corpus in ``malformed.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from neurorep.fileio import RUN_MARKER
from tests.recipes.conftest import make_config
from tests.reliability.malformed import Case, case


def _run(tmp: Path, cfg: object, *extra: str, name: str = "cfg.yaml") -> Case:
    path = tmp / name
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    overrides = [e for e in extra if not e.startswith("--")]
    flags = [e for e in extra if e.startswith("--")]
    return Case(["run", str(path), *overrides, "--out", str(tmp / "run"), *flags], [], tmp / "run")


def _cfg(tmp: Path, **extra: object) -> dict:
    return make_config(tmp / "corpus", tmp, **extra)


@case("config-unknown-key")
def _(tmp: Path) -> Case:
    cfg = _cfg(tmp)
    cfg["pretrain"]["epoch"] = 3
    c = _run(tmp, cfg)
    c.expect = ["cfg.yaml", "pretrain.epoch", "did you mean 'epochs'"]
    return c


@case("config-wrong-type")
def _(tmp: Path) -> Case:
    cfg = _cfg(tmp)
    cfg["pretrain"]["batch_size"] = "large"
    c = _run(tmp, cfg)
    c.expect = ["cfg.yaml", "pretrain.batch_size", "integer"]
    return c


@case("config-negative-learning-rate")
def _(tmp: Path) -> Case:
    cfg = _cfg(tmp)
    cfg["pretrain"]["lr"] = -0.001
    c = _run(tmp, cfg)
    c.expect = ["cfg.yaml", "pretrain.lr", "greater than 0"]
    return c


@case("config-unknown-encoder")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp, encoder={"name": "cnn_atention"}))
    c.expect = ["unknown encoder 'cnn_atention'", "did you mean 'cnn_attention'"]
    return c


@case("config-unknown-objective")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp, objective={"name": "contrastiv"}))
    c.expect = ["unknown objective 'contrastiv'", "did you mean 'contrastive'"]
    return c


@case("config-unknown-recipe")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp, recipe="sleep_ssl"))
    c.expect = ["unknown recipe 'sleep_ssl'", "did you mean 'sleep-ssl'"]
    return c


@case("config-yaml-syntax")
def _(tmp: Path) -> Case:
    c = _run(tmp, "recipe: sleep-ssl\npretrain: {epochs: 2\n")
    c.expect = ["cfg.yaml", "YAML"]
    return c


@case("config-not-a-mapping")
def _(tmp: Path) -> Case:
    c = _run(tmp, "- recipe\n- sleep-ssl\n")
    c.expect = ["cfg.yaml", "mapping"]
    return c


@case("config-missing-file")
def _(tmp: Path) -> Case:
    return Case(["run", str(tmp / "nope.yaml"), "--out", str(tmp / "run")], ["nope.yaml"], tmp / "run")


@case("override-without-equals")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "pretrain.epochs")
    c.expect = ["pretrain.epochs", "key.sub=value"]
    return c


@case("override-unknown-key")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "pretrain.learning_rate=0.1")
    c.expect = ["pretrain.learning_rate", "valid keys here are", "lr"]
    return c


@case("output-folder-holds-a-run")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp))
    assert c.out is not None
    c.out.mkdir()
    (c.out / "config.yaml").write_text("recipe: sleep-ssl\n")
    (c.out / RUN_MARKER).write_text("made by neurorep\n")
    c.expect = [str(c.out), "already holds a run", "--overwrite"]
    return c


@case("output-folder-read-only")
def _(tmp: Path) -> Case:
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    c = _run(tmp, _cfg(tmp))
    c.argv[-1] = str(locked / "run")
    c.out = locked
    c.expect = [str(locked / "run"), "not writable", "read-only"]
    c.env = {"READ_ONLY": str(locked)}
    return c


@case("resume-without-a-run")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp), "--resume")
    c.expect = [str(tmp / "run"), "no run to resume"]
    return c


@case("from-folder-without-config")
def _(tmp: Path) -> Case:
    (tmp / "old").mkdir()
    return Case(["run", "--from", str(tmp / "old"), "--out", str(tmp / "run")], ["old", "config.yaml"], tmp / "run")


@case("corrupt-embeddings-file")
def _(tmp: Path) -> Case:
    (tmp / "emb.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    return Case(["evaluate", str(tmp / "emb.safetensors"), "--out", str(tmp / "ev")],
                ["emb.safetensors"], tmp / "ev")


@case("embeddings-wrong-contents")
def _(tmp: Path) -> Case:
    from safetensors.numpy import save_file

    save_file({"weights": np.zeros((3, 3), np.float32)}, str(tmp / "w.safetensors"))
    return Case(["evaluate", str(tmp / "w.safetensors"), "--out", str(tmp / "ev")], ["w.safetensors"], tmp / "ev")


def _saved(tmp: Path, name: str, **kw: object) -> Path:
    import torch

    from neurorep.encoders import ENCODERS, create_encoder
    from neurorep.export.hub import save_pretrained

    torch.manual_seed(0)
    enc = create_encoder(name, **{**ENCODERS.get(name).tiny_kwargs(2, 3000), **kw})
    return save_pretrained(enc, tmp / name)


@case("checkpoint-from-another-architecture")
def _(tmp: Path) -> Case:
    cnn, other = _saved(tmp, "cnn"), _saved(tmp, "transformer")
    (cnn / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    return Case(["export", str(cnn), "--format", "onnx", "--out", str(tmp / "m.onnx")],
                [str(cnn / "model.safetensors"), "missing"], tmp / "m.onnx")


@case("corrupt-safetensors-weights")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    raw = (cnn / "model.safetensors").read_bytes()
    (cnn / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    return Case(["export", str(cnn), "--format", "onnx", "--out", str(tmp / "m.onnx")],
                [str(cnn / "model.safetensors")], tmp / "m.onnx")


@case("export-would-overwrite")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    (tmp / "m.onnx").write_bytes(b"precious")
    return Case(["export", str(cnn), "--format", "onnx", "--out", str(tmp / "m.onnx")],
                [str(tmp / "m.onnx"), "--overwrite"], tmp / "m.onnx")


@case("registry-unknown-model")
def _(tmp: Path) -> Case:
    cnn = _saved(tmp, "cnn")
    reg = tmp / "registry"
    from neurorep.cli import main

    assert main(["registry", "register", str(cnn), "--name", "sleep-cnn", "--registry", str(reg)]) == 0
    return Case(["registry", "show", "sleep-cn", "--registry", str(reg)], ["sleep-cn", "did you mean 'sleep-cnn'"],
                reg)


@case("override-option-wrong-type")
def _(tmp: Path) -> Case:
    c = _run(tmp, _cfg(tmp))
    c.argv += ["--set", "pretrain.epochs=many"]
    c.expect = ["pretrain.epochs", "integer"]
    return c
