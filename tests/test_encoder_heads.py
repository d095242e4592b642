"""The bake-off's heads on synthetic encoder features whose label lives in one known output."""

from __future__ import annotations

import numpy as np

from detector.metrics import compute_eer
from train.encoder.heads import PooledLinear, TemporalHead, pooled_matrix

SIGNAL_OUTPUT = 2   # the only encoder output whose values depend on the label


def sequences(count: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    seqs = []
    for label in labels:
        seq = rng.standard_normal((int(rng.integers(4, 30)), 4, 64)).astype(np.float32)
        seq[:, SIGNAL_OUTPUT, :8] += 1.5 * label
        seqs.append(seq)
    return seqs, labels


def stats_of(seqs: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.stack([s.mean(axis=0), s.std(axis=0)], axis=1) for s in seqs])


def test_pooled_matrix_keeps_output_then_statistic_order():
    stats = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    assert pooled_matrix(stats, (2, 0)).tolist()[0] == stats[0, 2].ravel().tolist() + stats[0, 0].ravel().tolist()


def test_pooled_linear_separates_and_chooses_c_on_validation():
    train, train_y = sequences(120, 1)
    val, val_y = sequences(60, 2)
    head = PooledLinear((0, SIGNAL_OUTPUT)).fit(stats_of(train), train_y, stats_of(val), val_y)
    assert head.chosen_c is not None
    assert compute_eer(val_y, head.logits(stats_of(val)))[0] < 0.1
    blind = PooledLinear((0, 1)).fit(stats_of(train), train_y, stats_of(val), val_y)   # outputs without the label
    assert compute_eer(val_y, blind.logits(stats_of(val)))[0] > 0.25


def test_temporal_head_learns_one_weight_per_encoder_output():
    train, train_y = sequences(160, 3)
    val, val_y = sequences(60, 4)
    head = TemporalHead(epochs=6, width=16).fit(None, train_y, None, val_y, seqs=train, val_seqs=val)
    assert compute_eer(val_y, head.logits(None, seqs=val))[0] < 0.2
    scores = next(v for v in head.model.weights if "scores" in v.path).numpy()
    assert scores.shape == (4,) and np.ptp(scores) > 0   # not tied: each output has its own learned score


def test_one_regression_per_output_is_their_mean_logit_as_one_linear_map():
    from train.encoder.version import folded_head

    train, train_y = sequences(120, 5)
    val, val_y = sequences(60, 6)
    head = PooledLinear((0, SIGNAL_OUTPUT), per_output=True).fit(stats_of(train), train_y, stats_of(val), val_y)
    assert len(head.chosen_c) == 2
    singles = [PooledLinear((k,), c_grid=(c,)) for k, c in zip((0, SIGNAL_OUTPUT), head.chosen_c)]
    expected = np.mean([s.fit(stats_of(train), train_y, stats_of(val), val_y).logits(stats_of(val))
                        for s in singles], axis=0)
    # The same scaling whether fitted on one output or on both (columns are scaled one by one).
    np.testing.assert_allclose(head.logits(stats_of(val)), expected, rtol=1e-6, atol=1e-6)
    weights, bias = folded_head(head)   # what serving runs: one dense layer on the raw statistics
    np.testing.assert_allclose(pooled_matrix(stats_of(val), head.outputs) @ weights + bias, expected, atol=1e-4)
