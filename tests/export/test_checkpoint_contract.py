"""The checkpoint contract: channel and rate checks, explicit mappings, and models adapted to the data."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from scipy.signal import resample_poly

from neurorep.encoders import create_encoder
from neurorep.errors import ConfigError
from neurorep.export.contract import (
    ChannelMapping,
    CheckpointContract,
    interpolation_matrix,
    plan_input,
    resample_matrix,
)
from neurorep.export.hub import from_pretrained, save_pretrained
from neurorep.hub import encoder_with_weights, load_published

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published"
MODEL = ["C3", "Cz", "C4", "Pz"]


def exact(names: list[str] = MODEL, sfreq: float = 100.0, n_times: int | None = 200) -> CheckpointContract:
    return CheckpointContract(architecture="cnn", sfreq=sfreq, n_times=n_times, n_channels=len(names),
                              channel_rule="exact", ch_names=list(names), licence="CC-BY-4.0", units="V")


def state_of(ref: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")}


def test_matching_channels_give_the_identity_and_names_compare_case_insensitively() -> None:
    plan = plan_input(exact(), 4, 200, 100.0, ["c3", "CZ", "C4.", "Pz"])
    assert plan.identity and plan.model_ch_names == MODEL


def test_mismatched_channels_are_refused_with_missing_and_extra_names() -> None:
    with pytest.raises(ConfigError, match=r"missing Pz; extra EOG, ECG; interpolate the missing ones .*drop the"):
        plan_input(exact(), 5, 200, 100.0, ["C3", "Cz", "C4", "EOG", "ECG"])
    with pytest.raises(ConfigError, match="another order .* ask for channel_mapping.reorder"):
        plan_input(exact(), 4, 200, 100.0, ["Cz", "C3", "C4", "Pz"])
    with pytest.raises(ConfigError, match="drop names channels not in the data: O9"):
        plan_input(exact(), 4, 200, 100.0, MODEL, {"drop": ["O9"]})


def test_rename_reorder_and_drop_build_a_selection_matrix() -> None:
    data = ["T3", "EOG", "Cz", "C3", "Pz"]  # T3 is the old name of T7
    plan = plan_input(exact(["C3", "Cz", "T7", "Pz"]), 5, 200, 100.0, data,
                      {"rename": {"T3": "T7"}, "reorder": True, "drop": "extra"})
    x = np.random.default_rng(0).normal(size=(5, 200))
    np.testing.assert_array_equal(plan.channel_matrix @ x, x[[3, 2, 0, 4]])
    assert any("dropped EOG" in n for n in plan.notes) and any("renamed T3->T7" in n for n in plan.notes)


def test_interpolation_matrix_is_mnes_spherical_spline_interpolation() -> None:
    good, bad = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "Fz", "Pz"], ["Cz", "T7"]
    weights = interpolation_matrix(good, bad)
    assert weights.shape == (2, len(good))
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)  # a constant potential stays constant
    # the same interpolation done by MNE on a recording
    data = np.random.default_rng(1).normal(size=(len(good) + len(bad), 300)) * 1e-5
    raw = mne.io.RawArray(data.copy(), mne.create_info(good + bad, 100.0, "eeg"), verbose="error")
    raw.set_montage("colin27_1005", verbose="error")
    raw.info["bads"] = bad
    raw.interpolate_bads(reset_bads=True, mode="accurate", origin=(0.0, 0.0, 0.04), verbose="error")
    np.testing.assert_allclose(weights @ data[: len(good)], raw.get_data()[len(good):], rtol=1e-6, atol=1e-12)


def test_missing_channels_are_interpolated_only_when_asked() -> None:
    data = ["Fp1", "Fp2", "C3", "C4", "O1", "O2", "Pz"]
    contract = exact(["C3", "Cz", "C4", "Pz"])
    with pytest.raises(ConfigError, match="missing Cz"):
        plan_input(contract, 7, 200, 100.0, data, {"drop": ["Fp1", "Fp2", "O1", "O2"]})
    plan = plan_input(contract, 7, 200, 100.0, data, {"drop": ["Fp1", "Fp2", "O1", "O2"], "interpolate": True})
    weights = interpolation_matrix(["C3", "C4", "Pz"], ["Cz"])
    row = plan.channel_matrix[1]
    np.testing.assert_allclose(row[[2, 3, 6]], weights[0]) and np.testing.assert_array_equal(row[[0, 1, 4, 5]], 0)
    with pytest.raises(ConfigError, match="Xyz not in the colin27_1005 montage"):
        plan_input(exact(["C3", "Xyz"]), 1, 200, 100.0, ["C3"], {"interpolate": True})


def test_another_rate_is_refused_unless_resampling_is_asked_for() -> None:
    with pytest.raises(ConfigError, match="expect 100 Hz, the data are at 250 Hz"):
        plan_input(exact(), 4, 500, 250.0, MODEL)
    plan = plan_input(exact(), 4, 500, 250.0, MODEL, resample=True)
    x = np.random.default_rng(2).normal(size=(4, 500))
    np.testing.assert_allclose(x @ plan.time_matrix, resample_poly(x, 2, 5, axis=1), atol=1e-10)
    with pytest.raises(ConfigError, match="windows of 200 samples"):
        plan_input(exact(), 4, 600, 250.0, MODEL, resample=True)
    with pytest.raises(ConfigError, match="not a whole number of samples"):
        resample_matrix(501, 250.0, 100.0)


def test_position_and_table_rules() -> None:
    pos = CheckpointContract(architecture="biot", sfreq=200.0, n_times=None, n_channels=3)
    with pytest.raises(ConfigError, match="take 3 channels, the data have 4"):
        plan_input(pos, 4, 400, 200.0)
    assert plan_input(pos, 4, 400, 200.0, ["a", "b", "c", "EOG"], {"drop": ["EOG"]}).channel_matrix.shape == (3, 4)
    table = CheckpointContract(architecture="labram", sfreq=200.0, n_times=None, n_channels=None,
                               channel_rule="table", ch_names=["C3", "CZ", "C4", "PZ"])
    with pytest.raises(ConfigError, match="not in the model's electrode table: EKG"):
        plan_input(table, 2, 400, 200.0, ["Cz", "EKG"])
    plan = plan_input(table, 3, 400, 200.0, ["Cz", "EKG", "C3"], {"drop": "extra"})
    assert plan.model_ch_names == ["Cz", "C3"]


def test_contract_round_trips_and_rejects_unknown_fields() -> None:
    c = exact()
    assert CheckpointContract.from_dict(c.as_dict()) == c and c.as_dict()["window_s"] == 2.0
    with pytest.raises(ConfigError, match="unknown contract field"):
        CheckpointContract.from_dict({**c.as_dict(), "colour": 1})
    with pytest.raises(ConfigError, match="unknown key"):
        ChannelMapping.parse({"renmae": {}})


def test_published_weights_through_a_mapping_give_the_model_on_the_mapped_input(tmp_path: Path) -> None:
    ref = load_file(str(FIXTURES / "labram.safetensors"))
    save_file(state_of(ref), str(tmp_path / "labram.safetensors"))
    arch = {"patch_size": 64, "conv_channels": 4, "n_layers": 2, "n_heads": 4, "qkv_bias": True}
    x = torch.randn(2, 4, 256)
    data = ["C4", "EKG", "C3", "Cz"]
    with pytest.raises(ConfigError, match="EKG"):
        encoder_with_weights("labram", tmp_path / "labram.safetensors", 4, 256, 200, data, model_kwargs=arch)
    enc = encoder_with_weights("labram", tmp_path / "labram.safetensors", 4, 256, 200, data,
                               channel_mapping={"drop": "extra"}, model_kwargs=arch)
    direct = load_published("labram", tmp_path / "labram.safetensors", 3, 256, 200, ch_names=["C4", "C3", "Cz"],
                            model_kwargs=arch).encoder
    with torch.no_grad():
        torch.testing.assert_close(enc(x), direct(x[:, [0, 2, 3]]))
    contract = enc.checkpoint_contract
    assert contract.ch_names == data and contract.sfreq == 200 and contract.licence.startswith("MIT")
    weights_contract = contract.extra["weights_contract"]
    assert weights_contract["sha256"] and weights_contract["channel_rule"] == "table"


def test_resampled_published_model_saves_loads_and_exports(tmp_path: Path) -> None:
    ref = load_file(str(FIXTURES / "biot.safetensors"))
    save_file(state_of(ref), str(tmp_path / "biot.safetensors"))
    arch = {"embed_dim": 32, "n_heads": 4, "n_layers": 2}
    with pytest.raises(ConfigError, match="expect 200 Hz, the data are at 250 Hz"):
        encoder_with_weights("biot", tmp_path / "biot.safetensors", 3, 750, 250, model_kwargs=arch)
    enc = encoder_with_weights("biot", tmp_path / "biot.safetensors", 3, 750, 250, model_kwargs=arch, resample=True)
    x = torch.randn(2, 3, 750)
    xr = torch.from_numpy(resample_poly(x.numpy().astype(np.float64), 4, 5, axis=-1)).float()
    direct = load_published("biot", tmp_path / "biot.safetensors", 3, 600, 200, model_kwargs=arch).encoder
    with torch.no_grad():
        torch.testing.assert_close(enc(x), direct(xr), atol=1e-5, rtol=1e-4)
    save_pretrained(enc, tmp_path / "saved")
    back = from_pretrained(tmp_path / "saved")
    with torch.no_grad():
        torch.testing.assert_close(back(x), enc(x))
    # the saved model carries the data-side contract: it is checked again when loaded for new data
    again = encoder_with_weights("adapted", tmp_path / "saved", 3, 750, 250)
    with torch.no_grad():
        torch.testing.assert_close(again(x), enc(x))
    with pytest.raises(ConfigError, match="expect 250 Hz"):
        encoder_with_weights("adapted", tmp_path / "saved", 3, 600, 200)
    from neurorep.export.onnx import check_onnx_parity, export_onnx

    export_onnx(enc, tmp_path / "enc.onnx", x)
    assert check_onnx_parity(enc, tmp_path / "enc.onnx", x) < 1e-4


def test_neurorep_saved_model_contract_is_checked(tmp_path: Path) -> None:
    enc = create_encoder("cnn", n_channels=4, n_times=200, embed_dim=16, n_filters=8, n_convs=1)
    enc.checkpoint_contract = exact()
    save_pretrained(enc, tmp_path / "m")
    x = torch.randn(2, 5, 200)
    data = ["Pz", "C4", "EOG", "C3", "Cz"]
    with pytest.raises(ConfigError, match="extra EOG"):
        encoder_with_weights("cnn", tmp_path / "m", 5, 200, 100.0, data)
    mapped = encoder_with_weights("cnn", tmp_path / "m", 5, 200, 100.0, data,
                                  channel_mapping={"drop": ["EOG"], "reorder": True})
    with torch.no_grad():
        torch.testing.assert_close(mapped(x), enc.eval()(x[:, [3, 4, 1, 0]]))
    save_pretrained(create_encoder("cnn", n_channels=4, n_times=200), tmp_path / "bare")
    with pytest.raises(ConfigError, match="no checkpoint contract recorded"):
        encoder_with_weights("cnn", tmp_path / "bare", 4, 200, 100.0, MODEL)


def test_attached_contract_survives_save_load_and_resave(tmp_path: Path) -> None:
    from neurorep.export.contract import attach_contract

    enc = create_encoder("cnn", n_channels=2, n_times=300, embed_dim=8, n_filters=4, n_convs=1)
    with pytest.raises(ConfigError, match="3 channel names for an encoder of 2 channels"):
        attach_contract(enc, 100.0, ["Fpz", "Pz", "Oz"])
    attach_contract(enc, 100.0, ["Fpz", "Pz"], units="V", normalisation="robust", licence="CC-BY-4.0",
                    source="sleep-ssl run 7")
    save_pretrained(enc, tmp_path / "a")
    back = from_pretrained(tmp_path / "a")
    assert back.checkpoint_contract == enc.checkpoint_contract and back.checkpoint_contract.window_s == 3.0
    save_pretrained(back, tmp_path / "b")
    assert from_pretrained(tmp_path / "b").checkpoint_contract.licence == "CC-BY-4.0"


def test_saved_encoder_of_another_window_length_is_refused(tmp_path: Path) -> None:
    enc = create_encoder("cnn", n_channels=4, n_times=200, embed_dim=16, n_filters=8, n_convs=1)
    enc.checkpoint_contract = exact(n_times=None)  # weights for any length, but this encoder was built for 200
    save_pretrained(enc, tmp_path / "m")
    with pytest.raises(ConfigError, match="built for 4 channels x 200 samples, the data give 4 x 300"):
        encoder_with_weights("cnn", tmp_path / "m", 4, 300, 100.0, MODEL)


def test_a_checkpoint_that_fixes_the_channel_count_is_checked_before_loading(tmp_path: Path) -> None:
    ref = load_file(str(FIXTURES / "biot.safetensors"))  # 3 channels
    save_file(state_of(ref), str(tmp_path / "biot.safetensors"))
    arch = {"embed_dim": 32, "n_heads": 4, "n_layers": 2}
    with pytest.raises(ConfigError, match="the weights take 3 channels, the data have 4"):
        encoder_with_weights("biot", tmp_path / "biot.safetensors", 4, 600, 200, ["a", "b", "c", "d"],
                             model_kwargs=arch)
    enc = encoder_with_weights("biot", tmp_path / "biot.safetensors", 4, 600, 200, ["a", "EOG", "b", "c"],
                               channel_mapping={"drop": ["EOG"]}, model_kwargs=arch)
    direct = load_published("biot", tmp_path / "biot.safetensors", 3, 600, 200, model_kwargs=arch).encoder
    x = torch.randn(2, 4, 600)
    with torch.no_grad():
        torch.testing.assert_close(enc(x), direct(x[:, [0, 2, 3]]))
