"""Fine-tuning: soft-label KL loss, label smoothing, mixup, gradual unfreezing, layer-wise learning rates."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from neurorep.models import create_model
from neurorep.training import build_trainer, fit
from neurorep.training.finetune import (
    FineTuneModule,
    FineTuningConfig,
    GradualUnfreezing,
    kl_soft_loss,
    mixup,
    smooth_targets,
)

TINY = {"n_channels": 2, "n_times": 200, "d_model": 8, "n_heads": 2, "n_layers": 3, "d_ff": 16, "patch_size": 20,
        "overlap": 10, "scale_factors": [1, 2], "dropout": 0.0}


def test_kl_soft_loss_matches_torch_kldiv_and_formula() -> None:
    logits = torch.randn(5, 6)
    target = torch.softmax(torch.randn(5, 6), -1)
    target[0] = torch.tensor([0.5, 0.5, 0, 0, 0, 0])
    ref = torch.nn.KLDivLoss(reduction="batchmean")(torch.log_softmax(logits, -1), target)
    torch.testing.assert_close(kl_soft_loss(logits, target), ref)
    logq = torch.log_softmax(logits, -1)
    manual = torch.where(target > 0, target * (target.clamp_min(1e-30).log() - logq), 0.0).sum(-1).mean()
    torch.testing.assert_close(kl_soft_loss(logits, target), manual)


def test_smoothing_and_mixup() -> None:
    t = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(smooth_targets(t, 0.2), torch.tensor([[0.85, 0.05, 0.05, 0.05]]))
    x = torch.arange(8.0).reshape(4, 2)
    y = torch.eye(4)
    xm, ym, lam = mixup(x, y, 0.4, torch.Generator().manual_seed(0))
    assert 0 <= lam <= 1 and torch.allclose(ym.sum(-1), torch.ones(4))
    partner = ym.argmax(-1) if lam < 0.5 else (ym * (1 - torch.eye(4))).argmax(-1)
    torch.testing.assert_close(xm, lam * x + (1 - lam) * x[partner] if lam < 1 else x)
    assert mixup(x, y, 0.0)[2] == 1.0


def test_unfreezing_schedule_top_down() -> None:
    cb = GradualUnfreezing(freeze_epochs=2, per_epoch=1)
    assert [cb.n_trainable(e, 4) for e in range(7)] == [0, 0, 1, 2, 3, 4, 4]
    assert GradualUnfreezing(0, 2).n_trainable(0, 5) == 2


def _data(n: int = 16) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, 200, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    y_soft = torch.softmax(torch.randn(n, 3, generator=g), -1)
    ds = TensorDataset(x, y, y_soft)
    return DataLoader(ds, batch_size=8, collate_fn=lambda b: {"x": torch.stack([i[0] for i in b]),
                                                              "y": torch.stack([i[1] for i in b]),
                                                              "y_soft": torch.stack([i[2] for i in b])})


def test_layerwise_learning_rates() -> None:
    torch.manual_seed(0)
    enc = create_model("eeg_foundation", **TINY)
    cfg = FineTuningConfig(lr=1e-3, encoder_lr_scale=0.1, layer_decay=0.5)
    groups = {g["name"]: g["lr"] for g in FineTuneModule(enc, 3, cfg).param_groups()}
    # head, then norm (top), block 2, block 1, block 0, embedding
    assert groups == pytest.approx({"head": 1e-3, "encoder_top0": 1e-4, "encoder_top1": 5e-5, "encoder_top2": 2.5e-5,
                                    "encoder_top3": 1.25e-5, "encoder_top4": 6.25e-6})
    scratch = FineTuneModule(enc, 3, cfg, pretrained=False).param_groups()
    assert {g["lr"] for g in scratch} == {1e-3}


def test_frozen_then_unfrozen_top_down(tmp_path) -> None:
    torch.manual_seed(0)
    enc = create_model("eeg_foundation", **TINY)
    cfg = FineTuningConfig(epochs=3, freeze_epochs=1, unfreeze_per_epoch=2, warmup_epochs=0, patience=None, lr=1e-2)
    module = FineTuneModule(enc, 3, cfg, max_epochs=3)
    snapshots = []

    class Snap(GradualUnfreezing):
        def __init__(self) -> None:
            super().__init__(0)

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            snapshots.append({k: v.detach().clone() for k, v in pl_module.encoder.state_dict().items()})

    before = {k: v.clone() for k, v in enc.state_dict().items()}
    trainer = build_trainer(tmp_path, max_epochs=3, monitor="val/kl", patience=None, progress=False,
                            enable_checkpointing=False)
    trainer.callbacks.append(Snap())
    fit(module, _data(), _data(8), trainer, export=False)
    changed = [{k for k in before if not torch.equal(s[k], ref[k])} for s, ref in
               zip(snapshots, [before, *snapshots[:-1]], strict=True)]
    assert changed[0] == set()  # epoch 0: backbone frozen
    assert changed[1] and all(k.startswith(("norm.", "blocks.2.")) for k in changed[1])  # top two groups
    assert any(k.startswith("blocks.0.") for k in changed[2]) and not any(k.startswith("embed.") for k in changed[2])
    rows = trainer.callbacks[0].rows
    assert "val/kl" in rows[-1] and "val/acc" in rows[-1]


def test_probe_init_fits_the_head_on_frozen_embeddings() -> None:
    from neurorep.encoders.foundation_blocks import ClassifierHead
    from neurorep.training.finetune import fit_probe

    g = torch.Generator().manual_seed(0)
    z = torch.randn(200, 5, generator=g) * 3 + 10  # offset and scale the batch standardisation removes
    w = torch.randn(5, 3, generator=g)
    target = torch.softmax((z - 10) / 3 @ w * 2, -1)
    head = ClassifierHead(5, 3)
    prior = kl_soft_loss(torch.zeros(200, 3), target).item()
    kl = fit_probe(head, z, target, weight_decay=0.0)
    assert kl < 0.05 * prior
    head.eval()
    torch.testing.assert_close(kl_soft_loss(head(z), target).item(), kl, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(head[0].running_mean, z.mean(0))
