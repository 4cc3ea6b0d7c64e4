"""Pooled cross-validation tables of the ssl grid: one score per seed over the test predictions of its folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from sklearn.metrics import balanced_accuracy_score

from neurorep.config import validate
from neurorep.errors import ConfigError, DataError
from neurorep.recipes.ssl.grid import GridConfig
from neurorep.recipes.ssl.pooled import difference_table, pooled_rows, pooled_table

CLASSES = ["rest", "left", "right"]


def _run(out: Path, name: str, index: np.ndarray, y: np.ndarray, pred: np.ndarray, classic: bool) -> str:
    folder = out / "runs" / name / "embeddings"
    folder.mkdir(parents=True)
    if classic:  # classic rows store labels beside their predictions
        save_file({"index": index, "y": y, "bandpower_lr_1": pred}, str(folder / "test_predictions.safetensors"))
    else:  # encoder rows keep them with the test embeddings
        save_file({"probe_1": pred, "finetune_1": np.zeros_like(pred)}, str(folder / "test_predictions.safetensors"))
        save_file({"index": index, "y": y}, str(folder / "test.safetensors"))
    return f"runs/{name}"


def _grid_rows(out: Path, index_of_fold: list[np.ndarray], seed: int = 0) -> tuple[list[dict], dict]:
    rng = np.random.default_rng(seed)
    y_all = rng.integers(0, 3, 30)
    rows, preds = [], {"Band power + LR": [], "Random init": []}
    for fold, idx in enumerate(index_of_fold):
        for label, method in (("Band power + LR", "classic"), ("Random init", "random")):
            p = rng.integers(0, 3, len(idx))
            preds[label].append(p)
            run = _run(out, f"{method}_s{seed}_f{fold}", idx, y_all[idx], p, method == "classic")
            rows.append({"row": label, "method": method, "encoder": "-" if method == "classic" else "shallow",
                         "seed": seed, "fold": fold, "run": run,
                         "bal_acc@1": balanced_accuracy_score(y_all[idx], p)})
    y = np.concatenate([y_all[idx] for idx in index_of_fold])
    return rows, {k: balanced_accuracy_score(y, np.concatenate(v)) for k, v in preds.items()}


def test_pooled_score_is_the_balanced_accuracy_of_the_joined_folds(tmp_path: Path) -> None:
    folds = np.array_split(np.random.default_rng(3).permutation(30), 3)
    rows, expected = _grid_rows(tmp_path, folds)
    pooled = pooled_rows(tmp_path, rows, CLASSES)
    assert len(pooled) == 2 and all(r["n_test"] == 30 and r["folds"] == 3 for r in pooled)
    for r in pooled:
        assert r["bal_acc@1"] == pytest.approx(expected[r["row"]])
        assert "bal_acc@finetune" not in r and set(k for k in r if k.startswith("bal_acc")) == {"bal_acc@1"}
        # the mean of the per-fold scores is another number (folds of unequal class mix)
        per_fold = np.mean([x["bal_acc@1"] for x in rows if x["row"] == r["row"]])
        assert r["bal_acc@1"] != pytest.approx(per_fold, abs=1e-9)
    assert "| Band power + LR | - | 1 |" in pooled_table(pooled)


def test_folds_that_test_a_window_twice_are_refused(tmp_path: Path) -> None:
    rows, _ = _grid_rows(tmp_path, [np.arange(0, 15), np.arange(10, 25)])
    with pytest.raises(DataError, match="test some windows twice"):
        pooled_rows(tmp_path, rows, CLASSES)


def test_difference_table_pairs_ssl_with_random_init_of_the_same_encoder_and_seed() -> None:
    rows = [{"row": "Random init", "method": "random", "encoder": "shallow", "seed": s, "bal_acc@1": b}
            for s, b in enumerate([0.40, 0.50, 0.45])]
    rows += [{"row": "Temporal CRL", "method": "ssl", "encoder": "shallow", "seed": s, "bal_acc@1": b}
             for s, b in enumerate([0.60, 0.62, 0.64])]
    rows += [{"row": "RP", "method": "ssl", "encoder": "eegnet", "seed": 0, "bal_acc@1": 0.9}]  # no random row
    table = difference_table(rows)
    diffs = np.array([0.20, 0.12, 0.19])
    sd = max(np.std([0.40, 0.50, 0.45], ddof=1), np.std([0.60, 0.62, 0.64], ddof=1))
    gain = f"{diffs.mean():.3f} ± {diffs.std(ddof=1):.3f}"
    assert f"| Temporal CRL | shallow | 3 | {gain} | 3/3 | {sd:.3f} | yes |" in table
    assert "RP" not in table
    for i, b in zip((3, 4, 5), (0.46, 0.47, 0.48)):  # differences 0.06, -0.03, 0.03: mean 0.02 < sd 0.05
        rows[i]["bal_acc@1"] = b
    assert "| Temporal CRL | shallow | 3 | 0.020 ± 0.046 | 2/3 | 0.050 | no |" in difference_table(rows)


def test_pool_folds_needs_k_fold_splits() -> None:
    with pytest.raises(ConfigError, match="pool_folds: needs k-fold"):
        validate(GridConfig, {"pool_folds": True})
    assert validate(GridConfig, {"pool_folds": True, "folds": 3}).pool_folds
    assert validate(GridConfig, {"pool_folds": True, "base": {"data": {"split": {"folds": 5}}}}).pool_folds


@pytest.mark.slow
@pytest.mark.parametrize("repeats", [1, 2])
def test_benchmark_writes_pooled_tables_with_every_row(tmp_path: Path, repeats: int) -> None:
    import json

    from neurorep.cli import main
    from tests.recipes.ssl_cache import ssvep_cache

    cache = ssvep_cache(tmp_path / "c", n_subjects=1, per_class=10)
    tiny = {"eegnet": {"embed_dim": 8, "n_temporal": 4, "depth": 1, "temporal_kernel": 15, "separable_kernel": 7}}
    out = tmp_path / "bench"
    assert main(["benchmark", "ssl", "--data", str(cache), "--out", str(out), "--preset", "eegmmidb", "--seeds", "2",
                 "--set", "first_seed=3", "--set", "encoders=[eegnet]", "--set", "paradigms=[crl]", "--set", "folds=2", "--set", "pool_folds=true", "--set", f"encoder_kwargs={json.dumps(tiny)}",
                 "--set", "classic=[bandpower_lr]", "--set", "pretrain.epochs=1", "--set", "pretrain.max_windows=32",
                 "--set", "finetune.epochs=1", "--set", "finetune.max_windows=16",
                 "--set", f"data.split.repeats={repeats}"]) == 0
    md = (out / "results.md").read_text()
    per_fold, pooled = md.split("Pooled over folds")
    for row in ("Band power + LR | -", "Random init | eegnet", "Supervised | eegnet", "CRL | eegnet"):
        # 2 seeds x 2 folds x repeats per fold; one pooled score per seed
        assert f"| {row} | {4 * repeats} |" in per_fold and f"| {row} | 2 |" in pooled, md
    assert ("the mean of 2 repeats of the k-fold" in pooled) == (repeats == 2)
    assert "Pooled, SSL minus random init" in md and "| CRL | eegnet | 2 |" in md.split("Pooled, SSL")[1]
    assert "Pooled over folds" in (out / "report.html").read_text()
    assert {r["seed"] for r in json.loads((out / "results.json").read_text())} == {3, 4}  # first_seed=3, 2 seeds


def test_repeated_folds_are_pooled_per_repeat_then_averaged(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    first = np.array_split(rng.permutation(30), 3)
    second = np.array_split(rng.permutation(30), 3)
    rows, expected_first = _grid_rows(tmp_path / "a", first)
    more, expected_second = _grid_rows(tmp_path / "b", second, seed=1)
    for r in more:  # the second repeat of seed 0: folds 3-5
        r.update(seed=0, fold=r["fold"] + 3, run=str(Path("..") / "b" / r["run"]))
    pooled = pooled_rows(tmp_path / "a", rows + more, CLASSES, folds_per_repeat=3)
    assert len(pooled) == 2
    for r in pooled:
        assert r["repeats"] == 2 and r["folds"] == 6 and r["n_test"] == 30
        assert r["bal_acc@1"] == pytest.approx((expected_first[r["row"]] + expected_second[r["row"]]) / 2)
    with pytest.raises(DataError, match="test some windows twice"):  # not told the repeats: 6 folds overlap
        pooled_rows(tmp_path / "a", rows + more, CLASSES)
