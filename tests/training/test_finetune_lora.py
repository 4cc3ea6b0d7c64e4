"""Fine-tuning published encoders: layer groups for gradual unfreezing, and LoRA adapters through peft."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neurorep.encoders import ENCODERS, create_encoder
from neurorep.errors import ConfigError
from neurorep.export.hub import from_pretrained
from neurorep.training.finetune import FineTuneModule, FineTuningConfig, GradualUnfreezing, encoder_layer_groups

pytest.importorskip("peft")
PUBLISHED = ["labram", "eegpt", "cbramod", "biot"]


def tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_encoder(name, **ENCODERS.get(name).tiny_kwargs(3, 400))


@pytest.mark.parametrize("name", PUBLISHED)
def test_layer_groups_cover_every_parameter_once_and_unfreeze_top_down(name: str) -> None:
    enc = tiny(name)
    groups = encoder_layer_groups(enc)
    ids = [id(p) for g in groups for p in g.parameters()]
    assert len(groups) >= 2 and len(ids) == len(set(ids)) and set(ids) == {id(p) for p in enc.parameters()}
    cb = GradualUnfreezing(freeze_epochs=1, per_epoch=1)
    for epoch in range(len(groups) + 1):
        k = cb.n_trainable(epoch, len(groups))
        for i, g in enumerate(groups):
            g.requires_grad_(i >= len(groups) - k)
        trainable = {id(p) for p in enc.parameters() if p.requires_grad}
        top = {id(p) for g in groups[len(groups) - k:] for p in g.parameters()}
        assert trainable == top
    module = FineTuneModule(tiny(name), 3, FineTuningConfig(lr=1e-3, layer_decay=0.5))
    lrs = [g["lr"] for g in module.param_groups()]
    assert lrs[0] == 1e-3 and lrs[1] == pytest.approx(1e-4) and lrs[2] == pytest.approx(5e-5)


def test_lora_trains_adapters_only_and_exports_merged_weights(tmp_path: Path) -> None:
    enc = tiny("labram")
    x = torch.randn(4, 3, 400)
    with torch.no_grad():
        before = enc.eval()(x).clone()
    base = {k: v.clone() for k, v in enc.state_dict().items()}
    module = FineTuneModule(enc, 3, FineTuningConfig(lr=1e-2, lora={"rank": 2}))
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable and all(".lora_" in n for n in trainable)
    assert not any("attn.qkv" in n for n in trainable)  # LaBraM uses qkv's weight directly: no adapter there
    assert module.configure_callbacks() == []
    with torch.no_grad():
        torch.testing.assert_close(enc.eval()(x), before)  # B starts at zero: the encoder is unchanged
    opt = torch.optim.AdamW([{"params": g["params"], "lr": g["lr"]} for g in module.param_groups()])
    module.train()
    y = torch.tensor([0, 1, 2, 0])
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(x), y)
        loss.backward()
        opt.step()
    state = enc.state_dict()
    for key, value in base.items():  # frozen base weights (peft keeps them under base_layer)
        now = state.get(key, state.get(key.replace(".weight", ".base_layer.weight").replace(
            ".bias", ".base_layer.bias")))
        torch.testing.assert_close(now, value)
    module.eval()
    with torch.no_grad():
        adapted = module.encoder(x)
    assert float((adapted - before).abs().max()) > 1e-4
    module.export(tmp_path / "out")
    loaded = from_pretrained(tmp_path / "out" / "encoder")
    assert set(loaded.state_dict()) == set(base)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), adapted, atol=1e-5, rtol=1e-4)


def test_lora_targets_are_checked() -> None:
    with pytest.raises(ConfigError, match="blocks.0.attn.qkv are linear layers whose weights the encoder uses"):
        FineTuneModule(tiny("labram"), 3, FineTuningConfig(lora={"targets": [r"blocks\.\d+\.attn\.qkv"]}))
    with pytest.raises(ConfigError, match="no linear layer"):
        FineTuneModule(tiny("labram"), 3, FineTuningConfig(lora={"targets": ["nothing"]}))
    module = FineTuneModule(tiny("biot"), 3, FineTuningConfig(lora={"targets": [r".*\.fn\.w[12]"]}))
    assert {g["name"] for g in module.param_groups()} == {"head", "lora"}


def test_lora_fine_tuning_runs_in_the_trainer_with_checkpoints(tmp_path: Path) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    from neurorep.training import build_trainer, fit

    def data(n: int) -> DataLoader:
        g = torch.Generator().manual_seed(n)
        x, y = torch.randn(n, 3, 400, generator=g), torch.randint(0, 3, (n,), generator=g)
        return DataLoader(TensorDataset(x, y), batch_size=8, collate_fn=lambda b: {
            "x": torch.stack([i[0] for i in b]), "y": torch.stack([i[1] for i in b])})

    enc = tiny("cbramod")
    module = FineTuneModule(enc, 3, FineTuningConfig(epochs=2, warmup_epochs=0, patience=None, lr=1e-2,
                                                     lora={"rank": 2}), max_epochs=2)
    trainer = build_trainer(tmp_path, max_epochs=2, monitor="val/kl", patience=None, progress=False)
    fit(module, data(16), data(8), trainer, export=False)
    module.export(tmp_path / "export")
    x = torch.randn(2, 3, 400)
    module.eval()
    with torch.no_grad():
        torch.testing.assert_close(from_pretrained(tmp_path / "export" / "encoder")(x), module.encoder(x),
                                   atol=1e-5, rtol=1e-4)
