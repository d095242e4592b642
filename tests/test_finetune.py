"""Fine-tuning the top encoder block on cached streams (train.encoder.finetune) and storing it (tuned_export).

The data are made up: the stream below block 4 is seeded noise, and the pooled statistics
of outputs 0-3 are noise too; output 4's statistics are computed from the stream by the
pretrained block exactly as the cache would hold them. The synthetic class carries a
small offset on 16 channels of the stream, so a model can learn it and the warm start
already sees some of it.
"""

from __future__ import annotations

import numpy as np
import pytest

from detector.encoder.runtime import pooled_stats

N_CLIPS, OFFSET_CHANNELS = 64, slice(0, 16)


@pytest.fixture(scope="module")
def made_up():
    from train.encoder.keras_whisper import pretrained_encoder

    rng = np.random.default_rng(20261206)
    encoder = pretrained_encoder(4)
    block, norm = encoder.get_layer("block_3"), encoder.get_layer("final_norm")
    labels = np.tile([0, 1], N_CLIPS // 2)
    frames, stats = [], []
    for label in labels:
        raw = rng.standard_normal((int(rng.integers(30, 60)), 512)).astype(np.float32)
        raw[:, OFFSET_CHANNELS] += 0.6 * label
        out4 = np.asarray(norm(block(raw[None])))[0]
        lower = rng.standard_normal((4, 2, 512)).astype(np.float32)
        stats.append(np.concatenate([lower, pooled_stats(out4[:, None])]))
        frames.append(raw.astype(np.float16))
    return np.stack(stats), labels, frames


def _split(made_up):
    stats, labels, frames = made_up
    train, val = np.arange(0, 40), np.arange(40, N_CLIPS)
    return (stats[train], labels[train], stats[val], labels[val],
            [frames[i] for i in train], [frames[i] for i in val], np.array(["clean", "telephone"] * (N_CLIPS // 2))[train])


def _fit(made_up, **settings):
    from train.encoder.finetune import TunedHead

    stats, labels, val_stats, val_labels, frames, val_frames, conditions = _split(made_up)
    head = TunedHead(blocks=1, **settings)
    return head.fit(stats, labels, val_stats, val_labels, frames=frames, val_frames=val_frames,
                    conditions=conditions)


def _distance_from_pretrained(head) -> float:
    from train.encoder.finetune import _keras_parts

    pretrained = _keras_parts(1)[0][0]
    return float(sum(np.sum((np.asarray(a) - np.asarray(b)) ** 2)
                     for a, b in zip(head.tuned_blocks[0].weights, pretrained.weights)))


def test_with_no_epochs_the_tuned_head_is_the_frozen_linear_head(made_up):
    stats, _, frames = made_up
    head = _fit(made_up, epochs=0)
    # The only difference: output 4 pooled from the float16 stream (the cache's precision) rather than from float32.
    assert np.allclose(head.logits(stats, frames=frames), head.warm.logits(stats), atol=2e-3)
    assert head.history and len(head.history) == 1 and head.best_epoch == 0


def test_a_tuning_that_does_not_beat_the_warm_start_on_validation_returns_the_frozen_block(made_up):
    head = _fit(made_up, epochs=2, learning_rate=1e-3, l2sp=0.0)
    assert head.history[0] == 0.0, "the made-up classes are separable by the frozen head"
    assert head.best_epoch == 0 and _distance_from_pretrained(head) == 0.0


def test_training_moves_the_block_and_serving_reads_it_as_a_pooled_linear_head(made_up):
    stats, labels, frames = made_up
    head = _fit(made_up, epochs=2, learning_rate=1e-3, l2sp=0.0, keep_best=False)
    assert len(head.history) == 3 and head.best_epoch == 2
    assert _distance_from_pretrained(head) > 0.0
    # Serving computes output 4 with the tuned block (its encoder file) and then the plain linear head.
    served_stats = stats.copy()
    served_stats[:, 4] = head.tuned_stats(frames)[:, 0]
    assert np.allclose(head.served_head().logits(served_stats), head.logits(stats, frames=frames), atol=1e-4)


def test_l2sp_keeps_the_block_nearer_its_pretrained_weights(made_up):
    free = _fit(made_up, epochs=2, learning_rate=1e-3, l2sp=0.0, keep_best=False)
    anchored = _fit(made_up, epochs=2, learning_rate=1e-3, l2sp=100.0, keep_best=False)
    assert _distance_from_pretrained(anchored) < 0.5 * _distance_from_pretrained(free)


def test_the_channel_adversary_changes_what_the_block_learns(made_up):
    plain = _fit(made_up, epochs=1, learning_rate=1e-3, l2sp=0.0, keep_best=False)
    adversarial = _fit(made_up, epochs=1, learning_rate=1e-3, l2sp=0.0, adversary=1.0, keep_best=False)
    assert abs(_distance_from_pretrained(plain) - _distance_from_pretrained(adversarial)) > 0.0


def test_tuned_blocks_round_trip_through_ctranslate2_names(tmp_path, made_up):
    from detector.encoder.ct2_file import read_parts
    from train.encoder.keras_whisper import build_encoder, load_weights
    from train.encoder.tuned_export import TUNED_FILE, write_tuned_blocks

    head = _fit(made_up, epochs=1, learning_rate=1e-3, l2sp=0.0, keep_best=False)
    write_tuned_blocks(tmp_path, head.tuned_blocks, first_index=3)
    variables = dict(read_parts())
    with np.load(tmp_path / TUNED_FILE) as tuned:
        assert all(k.startswith("encoder/layer_3/") for k in tuned.files) and len(tuned.files) == 12
        variables.update({k: tuned[k] for k in tuned.files})
    rebuilt = load_weights(build_encoder(4), variables).get_layer("block_3")
    for kept, tuned in zip(rebuilt.weights, head.tuned_blocks[0].weights):
        # The head rounds its tuned weights to float16 when fitting ends: the file holds them exactly.
        assert np.array_equal(np.asarray(kept), np.asarray(tuned))


def test_a_clip_and_its_copies_share_a_batch():
    from train.encoder.finetune import length_batches

    lengths = [50, 30, 40, 50, 31, 41, 29, 52]
    groups = [0, 1, 2, 3, 1, 2, 1, 0]      # 4-7 are copies of 1, 2, 1, 0 (a copy may be trimmed differently)
    batches = length_batches(lengths, groups, size=3)
    assert [b.tolist() for b in batches] == [[1, 4, 6], [2, 5, 0], [7, 3]]
    assert [b.tolist() for b in length_batches(lengths, size=3)] == [[6, 1, 4], [2, 5, 0], [3, 7]]


def test_training_with_grouped_copies_moves_the_block(made_up):
    from train.encoder.finetune import TunedHead

    stats, labels, val_stats, val_labels, frames, val_frames, conditions = _split(made_up)
    # each clip twice: once as it is, once with the stream lightly perturbed (a stand-in for another channel)
    rng = np.random.default_rng(7)
    copied = [(f.astype(np.float32) + 0.05 * rng.standard_normal(f.shape)).astype(np.float16) for f in frames]
    head = TunedHead(blocks=1, epochs=1, learning_rate=1e-3, l2sp=0.0, keep_best=False).fit(
        np.concatenate([stats, stats]), np.concatenate([labels, labels]), val_stats, val_labels,
        frames=frames + copied, val_frames=val_frames, conditions=np.concatenate([conditions, conditions]),
        groups=np.concatenate([np.arange(len(frames))] * 2))
    assert head.best_epoch == 1 and _distance_from_pretrained(head) > 0.0
