"""The round-3 table (train.encoder.round3) reads bake-off records into the figures docs/frontends.md quotes."""

from __future__ import annotations

import json

from detector.heldout_report import ChannelRates, FoldResult, HeldOutReport
from detector.model_report import to_dict
from train.encoder import round3


def _record(name: str, shift: float, epochs: int | None = None) -> dict:
    folds = {}
    for k, fold in enumerate(round3.COMPARED_FOLDS):
        eer = 0.10 + 0.02 * k + shift
        folds[fold] = FoldResult(n_genuine=40, n_synthetic=40, eer=eer, train_s=120.0, epochs_run=epochs,
                                 at_shipped_by_channel={"wideband": ChannelRates(30, 30, eer=eer - 0.05),
                                                        "narrowband": ChannelRates(10, 10, eer=eer + 0.10)})
    report = HeldOutReport(folds=folds, mean_eer=0.2, worst_fold=round3.COMPARED_FOLDS[-1])
    return {"candidate": name, "val_eer": 0.12, "test_eer": 0.13, "heldout": to_dict(report)}


def test_the_table_compares_candidates_on_the_same_folds_with_their_seed_spread(tmp_path):
    (tmp_path / "tuned1-01234.json").write_text(json.dumps(_record("tuned1-01234", 0.0, epochs=1)))
    (tmp_path / "tuned1-01234-seed2.json").write_text(json.dumps(_record("tuned1-01234", 0.01, epochs=0)))
    (tmp_path / "linear-01234.json").write_text(json.dumps(_record("linear-01234", 0.02)))
    runs = round3.read_runs(tmp_path)
    assert list(runs) == ["linear-01234", "tuned1-01234"] and len(runs["tuned1-01234"]) == 2
    assert runs["tuned1-01234"][0].get("seed") is None   # the default seed's record first
    serving = {"4": {"p50_ms_10s": 150.0}}
    table = round3.summary_table(runs, serving)
    tuned = next(line for line in table.splitlines() if line.startswith("| `tuned1-01234`"))
    # Folds' EERs 10 % + 2 k % for k = 0..7: mean 17.0 %, worst 24.0 % (the last fold); narrowband cells 10 points up.
    assert "| 17.0 |" in tuned and "24.0 (source:sky)" in tuned and "34.0 (source:sky × narrowband)" in tuned
    assert "1.0 (2 seeds)" in tuned and "2.0 |" in tuned and "150 ms (4 blocks)" in tuned
    linear = next(line for line in table.splitlines() if line.startswith("| `linear-01234`"))
    assert "| 19.0 |" in linear and "1 run" in linear
    folds = round3.fold_table(runs)
    assert "| family:vocoder | 12.0 | 10.0 (epoch 1) |" in folds
    classes = round3.class_table(runs)
    assert classes.startswith("| fold (wideband / narrowband) |") and "| family:vocoder | 7.0 / 22.0 | 5.0 / 20.0 |" in classes
