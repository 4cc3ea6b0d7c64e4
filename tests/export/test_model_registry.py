"""Local model registry: versions, cards, loading, errors, atomicity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from neurorep.errors import ConfigError, DataError
from neurorep.export import model_store as mr
from neurorep.export.model_card import Classifier, load_saved_model
from tests.export.conftest import C, T


def test_register_auto_increments_and_loads_same_outputs(run_dir: Path, tmp_path: Path) -> None:
    reg = tmp_path / "reg"
    card = mr.register_model(run_dir, "sleep-tf", registry=reg, description="tiny test model")
    assert card["version"] == "1.0.0" and card["kind"] == "classifier" and card["architecture"] == "transformer"
    assert mr.register_model(run_dir / "export" / "final", "sleep-tf", registry=reg)["version"] == "1.1.0"
    assert mr.register_model(run_dir, "sleep-tf", version="2.0.0", registry=reg)["version"] == "2.0.0"
    assert mr.register_model(run_dir, "sleep-tf", registry=reg)["version"] == "2.1.0"
    rows = mr.list_models(reg)
    assert [(r["name"], r["version"]) for r in rows] == [("sleep-tf", v) for v in ("1.0.0", "1.1.0", "2.0.0", "2.1.0")]
    x = torch.randn(3, C, T, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        best, final = load_saved_model(run_dir)(x), load_saved_model(run_dir / "export" / "final")(x)
        loaded = mr.load_model("sleep-tf", "1.0.0", registry=reg)
        assert isinstance(loaded, Classifier) and not loaded.training
        torch.testing.assert_close(loaded(x), best, rtol=0, atol=0)
        torch.testing.assert_close(mr.load_model("sleep-tf", "1.1.0", registry=reg)(x), final, rtol=0, atol=0)
    assert mr.show_model("sleep-tf", registry=reg)["version"] == "2.1.0"  # latest by semver, not by name order


def test_card_records_preprocessing_data_and_metrics(run_dir: Path, tmp_path: Path) -> None:
    card = mr.register_model(run_dir, "m", registry=tmp_path, card={"preprocessing": {"units": "uV"},
                                                                     "metrics": {"kappa": 0.6}})
    prep = card["preprocessing"]
    assert prep["sfreq"] == 100.0 and prep["channels"] == ["Fpz", "Pz"] and prep["window_s"] == 2.0
    assert prep["scaling"] == "robust" and prep["units"] == "uV" and (prep["n_channels"], prep["n_times"]) == (C, T)
    assert card["training_data"]["fingerprint"] == "abc123"
    assert card["metrics"] == {"balanced_accuracy": 0.75, "kappa": 0.6}
    assert card["class_names"] == ["W", "N", "R"] and card["config"]["patch_size"] == 20
    folder = tmp_path / "m" / "1.0.0"
    assert json.loads((folder / "card.json").read_text())["files"].keys() == {
        "config.json", "model.safetensors", "head/model.safetensors"}
    md = (folder / "card.md").read_text()
    assert "# m 1.0.0" in md and "## Preprocessing needed" in md and "| sfreq | 100.0 |" in md


def test_errors_for_unknown_names_versions_and_duplicates(run_dir: Path, tmp_path: Path) -> None:
    mr.register_model(run_dir, "sleep-cnn", registry=tmp_path)
    with pytest.raises(ConfigError, match="unknown model 'sleep-cn'.*did you mean 'sleep-cnn'"):
        mr.load_model("sleep-cn", registry=tmp_path)
    with pytest.raises(ConfigError, match="no version '9.0.0'; registered versions are: 1.0.0"):
        mr.show_model("sleep-cnn", "9.0.0", registry=tmp_path)
    with pytest.raises(ConfigError, match="already registered"):
        mr.register_model(run_dir, "sleep-cnn", version="1.0.0", registry=tmp_path)
    with pytest.raises(ConfigError, match="semantic version"):
        mr.register_model(run_dir, "sleep-cnn", version="v2", registry=tmp_path)
    with pytest.raises(ConfigError, match="model name"):
        mr.register_model(run_dir, "Bad Name", registry=tmp_path)
    with pytest.raises(DataError, match="no saved model"):
        mr.register_model(tmp_path / "sleep-cnn", "other", registry=tmp_path / "r2")  # the registry holds no run
    assert [p.name for p in (tmp_path / "sleep-cnn").iterdir()] == ["1.0.0"]  # no temporary folders left


def test_tampered_weights_are_refused(run_dir: Path, tmp_path: Path) -> None:
    mr.register_model(run_dir, "m", registry=tmp_path)
    weights = tmp_path / "m" / "1.0.0" / "model.safetensors"
    shutil.copyfile(run_dir / "export" / "final" / "encoder" / "model.safetensors", weights)
    with pytest.raises(DataError, match="differs from the SHA-256"):
        mr.load_model("m", registry=tmp_path)
    assert isinstance(mr.load_model("m", registry=tmp_path, verify=False), Classifier)


def test_registry_root_from_env(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mr.ENV_VAR, str(tmp_path / "env-reg"))
    assert mr.registry_root() == tmp_path / "env-reg"
    assert mr.registry_root(tmp_path / "explicit") == tmp_path / "explicit"
    mr.register_model(run_dir, "m")
    assert (tmp_path / "env-reg" / "m" / "1.0.0" / "card.json").is_file()
    monkeypatch.delenv(mr.ENV_VAR)
    assert mr.registry_root() == Path("~/.neurorep/registry").expanduser()


def test_failed_registration_leaves_nothing(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mr, "card_markdown", boom)
    with pytest.raises(OSError, match="disk full"):
        mr.register_model(run_dir, "m", registry=tmp_path)
    assert not (tmp_path / "m").exists()  # the name folder this registration created is removed too
    assert mr.list_models(tmp_path) == []


def test_card_shows_the_checkpoint_contract(run_dir: Path, tmp_path: Path) -> None:
    card = mr.register_model(run_dir, "m", registry=tmp_path, card={"contract": {"licence": "CC-BY-NC-4.0"}})
    contract = card["contract"]
    assert contract["ch_names"] == ["Fpz", "Pz"] and contract["sfreq"] == 100.0 and contract["n_times"] == T
    assert contract["channel_rule"] == "exact" and contract["licence"] == "CC-BY-NC-4.0"
    assert contract["normalisation"] == "robust" and len(contract["sha256"]) == 64
    md = (tmp_path / "m" / "1.0.0" / "card.md").read_text()
    assert "## Checkpoint contract" in md and "| ch_names | Fpz, Pz |" in md and "| licence | CC-BY-NC-4.0 |" in md


def test_published_model_card_carries_its_licence_and_source(tmp_path: Path) -> None:
    from tests.export.test_published_export import saved_published

    folder, _ = saved_published("labram", tmp_path)
    card = mr.register_model(folder, "labram-tiny", registry=tmp_path / "reg")
    contract = card["contract"]
    assert contract["architecture"] == "labram" and contract["licence"].startswith("MIT")
    assert contract["channel_rule"] == "table" and "C3" in contract["ch_names"] and contract["sfreq"] == 200.0
    assert contract["source"].endswith("labram.safetensors") and len(contract["sha256"]) == 64
    assert "licence | MIT" in mr.card_text("labram-tiny", registry=tmp_path / "reg")
