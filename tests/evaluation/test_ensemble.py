"""Weighted probability ensembles: losses against references, fitted weights, reports; and the
STFT-as-convolution of the ``spectrogram_cnn`` member against ``torch.stft``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import rel_entr, softmax
from sklearn.metrics import log_loss as sk_log_loss

from neurorep.errors import ConfigError, DataError
from neurorep.evaluation.ensemble import (
    ensemble_probabilities,
    evaluate_ensemble,
    fit_ensemble_weights,
    kl_divergence,
    log_loss,
    predict_proba,
)


def _probs(n: int, k: int, seed: int, scale: float = 1.0) -> np.ndarray:
    return softmax(np.random.default_rng(seed).normal(scale=scale, size=(n, k)), axis=1)


def _noisy_truth(y: np.ndarray, k: int, seed: int, noise: float) -> np.ndarray:
    """Probabilities peaked on ``y`` with Gaussian logit noise of scale ``noise``."""
    logits = 2.0 * np.eye(k)[y] + np.random.default_rng(seed).normal(scale=noise, size=(len(y), k))
    return softmax(logits, axis=1)


def test_losses_match_references() -> None:
    p, y = _probs(50, 4, 0), np.random.default_rng(1).integers(0, 4, 50)
    assert log_loss(p, y) == pytest.approx(sk_log_loss(y, p, labels=range(4)), rel=1e-10)
    t = _probs(50, 4, 2)
    assert kl_divergence(p, t) == pytest.approx(rel_entr(t, p).sum(axis=1).mean(), rel=1e-10)
    t[:, 0] = 0.0
    t /= t.sum(1, keepdims=True)
    assert kl_divergence(p, t) == pytest.approx(rel_entr(t, p).sum(axis=1).mean(), rel=1e-10)  # 0 log 0 = 0
    assert kl_divergence(t, t) == pytest.approx(0.0, abs=1e-12)


def test_weights_go_to_the_informative_member() -> None:
    y = np.random.default_rng(0).integers(0, 3, 300)
    good, noise = _noisy_truth(y, 3, 1, 0.5), _probs(300, 3, 2, scale=2.0)
    w = fit_ensemble_weights([noise, good], y)
    assert w.shape == (2,) and np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert w[1] > 0.9


def test_two_member_weights_match_grid_search() -> None:
    y = np.random.default_rng(3).integers(0, 4, 400)
    a, b = _noisy_truth(y, 4, 4, 1.5), _noisy_truth(y, 4, 5, 2.0)
    w = fit_ensemble_weights([a, b], y, loss="log_loss")
    grid = np.linspace(0, 1, 2001)
    best = grid[np.argmin([log_loss(g * a + (1 - g) * b, y) for g in grid])]
    assert w[0] == pytest.approx(best, abs=2e-3)
    assert log_loss(ensemble_probabilities([a, b], w), y) <= min(log_loss(a, y), log_loss(b, y)) + 1e-12


def test_kl_recovers_mixture_weights_of_soft_targets() -> None:
    members = [_probs(200, 5, s, scale=2.0) for s in (10, 11, 12)]
    true_w = np.array([0.2, 0.0, 0.8])
    targets = ensemble_probabilities(members, true_w)
    w = fit_ensemble_weights(members, targets)  # auto: kl for 2-D targets
    np.testing.assert_allclose(w, true_w, atol=5e-3)


def test_custom_loss_callable() -> None:
    y = np.random.default_rng(6).integers(0, 3, 200)
    good, bad = _noisy_truth(y, 3, 7, 0.5), _probs(200, 3, 8, scale=2.0)

    def brier(p: np.ndarray, yy: np.ndarray) -> float:
        return float(np.mean(np.sum((p - np.eye(3)[yy]) ** 2, axis=1)))

    w = fit_ensemble_weights([bad, good], y, loss=brier)
    assert w[1] > 0.9 and w.sum() == pytest.approx(1.0)


def test_evaluate_ensemble_reports_members_and_ensemble() -> None:
    y_val, y_test = np.random.default_rng(9).integers(0, 3, 200), np.random.default_rng(10).integers(0, 3, 150)
    val = [_noisy_truth(y_val, 3, 11, 1.5), _noisy_truth(y_val, 3, 12, 1.5), _probs(200, 3, 13)]
    test = [_noisy_truth(y_test, 3, 14, 1.5), _noisy_truth(y_test, 3, 15, 1.5), _probs(150, 3, 16)]
    res = evaluate_ensemble(val, y_val, test, y_test, names=["foundation", "resnet_gru", "spectrogram_cnn"])
    assert [r["model"] for r in res.rows] == ["foundation", "resnet_gru", "spectrogram_cnn", "ensemble"]
    assert res.loss == "log_loss" and res.rows[-1]["weight"] == 1.0
    member = res.rows[0]
    assert member["test_loss"] == pytest.approx(log_loss(test[0], y_test))
    assert member["test_accuracy"] == pytest.approx(np.mean(test[0].argmax(1) == y_test))
    ens = ensemble_probabilities(test, res.weights)
    assert res.rows[-1]["test_loss"] == pytest.approx(log_loss(ens, y_test))
    assert res.rows[-1]["val_loss"] <= min(r["val_loss"] for r in res.rows[:-1]) + 1e-12
    assert res.to_dict()["weights"]["spectrogram_cnn"] < 0.2


def test_bad_inputs_are_reported() -> None:
    p = _probs(10, 3, 0)
    with pytest.raises(DataError, match="sum to 1"):
        fit_ensemble_weights([p, p * 2], np.zeros(10, int))
    with pytest.raises(DataError, match="one shape"):
        fit_ensemble_weights([p, p[:5]], np.zeros(10, int))
    with pytest.raises(DataError, match=r"labels must be integers in \[0, 2\]"):
        fit_ensemble_weights([p, p], np.full(10, 3))
    with pytest.raises(DataError, match="soft targets must have shape"):
        fit_ensemble_weights([p, p], np.ones((10, 4)) / 4)
    with pytest.raises(ConfigError, match="ensemble loss"):
        fit_ensemble_weights([p, p], np.zeros(10, int), loss="hinge")
    with pytest.raises(ConfigError, match="needs hard labels"):
        fit_ensemble_weights([p, p], p, loss="log_loss")


def test_predict_proba_is_softmax_of_logits() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3)).train()
    x = np.random.default_rng(0).normal(size=(5, 2, 8)).astype(np.float32)
    p = predict_proba(model, x, batch_size=2)
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(x)), 1).numpy()
    np.testing.assert_allclose(p, expected, atol=1e-6)
    assert model.training  # mode restored


def test_spectrogram_cnn_stft_matches_torch_stft() -> None:
    from neurorep.encoders import create_encoder

    enc = create_encoder("spectrogram_cnn", n_channels=2, n_times=512, n_fft=64, hop=16, widths=[4, 8])
    x = torch.randn(3, 2, 512, generator=torch.Generator().manual_seed(0))
    spec = torch.stft(x.reshape(6, 512), 64, hop_length=16, window=torch.hann_window(64), center=False,
                      return_complex=True)
    expected = torch.log(spec.abs() ** 2 + 1e-6).reshape(3, 2, 33, -1)
    torch.testing.assert_close(enc.spectrogram(x), expected, atol=1e-3, rtol=1e-4)
    assert enc.forward_features(x).shape[1] == enc.n_tokens == ((512 - 64) // 16 + 1) // 4
