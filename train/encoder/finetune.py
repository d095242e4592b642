"""Fine-tuning Whisper's top one or two blocks with a pooled linear head, on cached residual streams.

The frozen linear head (:class:`~train.encoder.heads.PooledLinear` on the mean and spread
of outputs 0-4) is the warm start: it is fitted first, exactly as the frozen candidate,
and its scaler and weights become the Keras head's. Then the top block(s) are unfrozen
and trained jointly with the head from the cached stream below them
(:mod:`train.encoder.frames`), with

* a small learning rate and few epochs, the model kept at the epoch with the lowest
  validation EER -- epoch 0 (the frozen head itself) included, so a fine-tuning that does
  not help on validation returns the frozen model;
* L2-SP: weight decay towards the pretrained weights (and the warm head), not towards zero;
* optionally a channel-adversarial branch: a classifier of the clip's recorded channel
  condition reads the tuned block's pooled output through gradient reversal, so the
  block is pushed to forget the channel (Zhang et al. 2021, "An Empirical Study on
  Channel Effects for Synthetic Voice Spoofing Countermeasure Systems").

Outputs below the first tuned block are read from the pooled-statistics cache (they do
not change); the tuned blocks' outputs are pooled through the encoder's (frozen) final
layer norm. The fitted model serves as an ordinary encoder file with the tuned weights
(:mod:`train.encoder.tuned_export`) and a pooled linear head.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from detector.encoder.runtime import MAX_MEL_FRAMES
from detector.metrics import compute_eer
from train.encoder.heads import PooledLinear

FRAMES_PER_CHUNK = MAX_MEL_FRAMES // 2   # encoder frames in one 30-s chunk: attention never crosses one
BATCH = 32


@functools.lru_cache(maxsize=1)
def _whisper_variables() -> dict[str, np.ndarray]:
    """The installed Whisper base weights, read once per process (every fold's fit starts from them)."""
    from detector.encoder.ct2_file import read_parts

    return dict(read_parts())


def _keras_parts(blocks: int):
    """Fresh Keras copies of the pretrained top ``blocks`` of the 4-block encoder, and its final layer norm."""
    from train.encoder.keras_whisper import pretrained_block, pretrained_norm

    variables = _whisper_variables()
    return [pretrained_block(i, variables) for i in range(4 - blocks, 4)], pretrained_norm(variables)


def _reverse_gradient():
    import tensorflow as tf

    @tf.custom_gradient
    def reverse(x):
        return tf.identity(x), lambda upstream: -upstream
    return reverse


def length_batches(lengths, groups=None, size: int = BATCH) -> list[np.ndarray]:
    """Training batches of clip indices, clips of like length together (crops are as long as a batch's shortest).

    With ``groups`` a clip and its multi-condition copies (one group id) sit side by side: ordered by
    the group's shortest clip, then by group, so a group is split across two batches only at a boundary.
    """
    lengths = np.asarray(lengths)
    if groups is None:
        order = np.argsort(lengths, kind="stable")
    else:
        shortest = pd.Series(lengths).groupby(np.asarray(groups)).transform("min").to_numpy()
        order = np.lexsort((groups, shortest))
    return [order[i:i + size] for i in range(0, len(order), size)]


@dataclass
class TunedHead:
    """The top ``blocks`` blocks of the 4-block encoder fine-tuned with a linear head on outputs 0-4."""

    blocks: int = 1
    # One epoch of 1.5-s crops at 2e-5: measured 1.6-1.8 minutes a fold for one block on 2 cores, 3 for two, so
    # the folds fit in a session; 2 epochs of 2-s crops took 10-14 minutes a fold.
    epochs: int = 1
    learning_rate: float = 2e-5
    l2sp: float = 0.01           # weight of the squared distance to the warm start, summed over tuned weights
    adversary: float = 0.0       # weight of the channel-adversarial loss (0: no branch)
    crop_frames: int = 75        # training crops (1.5 s; half the corpus's clips are under 3 s); scoring reads whole clips
    seed: int = 1234
    keep_best: bool = True       # keep the epoch with the lowest validation EER (False: the last, for tests)
    outputs: tuple[int, ...] = (0, 1, 2, 3, 4)
    warm: PooledLinear | None = None
    history: list = field(default_factory=list)
    tuned_blocks: list = field(default_factory=list)
    norm: object = None
    best_epoch: int = 0

    @property
    def tuned_outputs(self) -> tuple[int, ...]:
        return tuple(range(5 - self.blocks, 5))

    # -- the pieces -------------------------------------------------------------------------------------------
    def _columns(self, output: int) -> slice:
        k = self.outputs.index(output)
        return slice(k * 1024, (k + 1) * 1024)

    def _frozen(self, stats: np.ndarray) -> np.ndarray:
        """Standardised pooled statistics with the tuned outputs' columns zeroed (the tuned path fills them)."""
        x = self.warm.scaler.transform(stats[:, list(self.outputs)].reshape(len(stats), -1)).astype(np.float32)
        for o in self.tuned_outputs:
            x[:, self._columns(o)] = 0.0
        return x

    def _pooled(self, raw):
        """(batch, frames, 512) stream below the tuned blocks -> each tuned output's mean and spread over time."""
        import tensorflow as tf

        x, pooled = raw, []
        for block in self.tuned_blocks:
            x = block(x)
            out = self.norm(x)
            mean = tf.reduce_mean(out, axis=1)
            std = tf.sqrt(tf.maximum(tf.reduce_mean(out * out, axis=1) - mean * mean, 1e-12))
            pooled.append(tf.concat([mean, std], axis=-1))
        return pooled

    def _logit(self, pooled, frozen):
        import tensorflow as tf

        weights, bias = self._head_vars
        total = tf.linalg.matvec(frozen, weights) + bias
        for o, p in zip(self.tuned_outputs, pooled):
            cols = self._columns(o)
            z = (p - self._scale[0][cols]) / self._scale[1][cols]
            total += tf.linalg.matvec(z, weights[cols])
        return total

    # -- fitting ----------------------------------------------------------------------------------------------
    def fit(self, stats, labels, val_stats, val_labels, frames=None, val_frames=None, conditions=None,
            groups=None, **_) -> "TunedHead":
        """Warm start, then the tuned blocks and head from ``frames`` (the cached stream below them).

        ``groups`` (one id per training clip) marks a clip and its multi-condition copies
        (:mod:`train.encoder.copies`): they share a batch and the same stretch of the clip.
        """
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(self.seed)
        self.warm = PooledLinear(self.outputs).fit(stats, labels, val_stats, val_labels)
        self.tuned_blocks, self.norm = _keras_parts(self.blocks)
        self.norm.trainable = False
        self._scale = (self.warm.scaler.mean_.astype(np.float32), self.warm.scaler.scale_.astype(np.float32))
        self._head_vars = (keras.Variable(self.warm.model.coef_[0].astype(np.float32), name="head_weights"),
                           keras.Variable(np.float32(self.warm.model.intercept_[0]), name="head_bias"))
        tuned = [v for b in self.tuned_blocks for v in b.trainable_variables] + list(self._head_vars)
        anchors = [tf.constant(v.numpy()) for v in tuned]
        codes = sorted(set(conditions)) if self.adversary and conditions is not None else []
        adversary = None
        if codes:
            adversary = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(len(codes))])
            adversary.build((None, 1024 * self.blocks))
        reverse = _reverse_gradient()
        optimiser = keras.optimizers.Adam(self.learning_rate)
        weight = {0: len(labels) / (2 * np.sum(labels == 0)), 1: len(labels) / (2 * np.sum(labels == 1))}
        frozen = self._frozen(stats)

        def step(raw, frozen_x, y, w, channel):
            with tf.GradientTape() as tape:
                pooled = self._pooled(raw)
                logit = self._logit(pooled, frozen_x)
                loss = tf.reduce_sum(w * tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logit)) / \
                    tf.reduce_sum(w)
                loss += self.l2sp * tf.add_n([tf.reduce_sum(tf.square(v - a)) for v, a in zip(tuned, anchors)])
                if adversary is not None:
                    guess = adversary(reverse(tf.concat(pooled, axis=-1)))
                    loss += self.adversary * tf.reduce_mean(
                        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=channel, logits=guess))
            variables = tuned + (adversary.trainable_variables if adversary is not None else [])
            optimiser.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        train_step = tf.function(step, input_signature=[
            tf.TensorSpec((None, None, 512), tf.float32), tf.TensorSpec((None, 1024 * 5), tf.float32),
            tf.TensorSpec((None,), tf.float32), tf.TensorSpec((None,), tf.float32), tf.TensorSpec((None,), tf.int32)])
        channel_ids = np.array([codes.index(c) for c in conditions], np.int32) if codes else np.zeros(len(labels),
                                                                                                       np.int32)
        rng = np.random.default_rng(self.seed)
        groups = None if groups is None else np.asarray(groups)
        batches = length_batches([len(f) for f in frames], groups)
        # Epoch 0 is the warm start: the pretrained block gives the cached statistics (within float16 rounding).
        best = (compute_eer(val_labels, self.warm.logits(val_stats))[0], self._snapshot(), 0)
        self.history = [round(float(best[0]), 4)]
        for epoch in range(1, self.epochs + 1):
            for b in rng.permutation(len(batches)):
                idx = batches[b]
                length = min(min(len(frames[i]) for i in idx), self.crop_frames)
                if groups is None:
                    starts = [int(rng.integers(0, len(frames[i]) - length + 1)) for i in idx]
                else:   # one place in the clip for the whole group: the copies differ by their channel only
                    where = {g: rng.random() for g in np.unique(groups[idx])}
                    starts = [int(where[groups[i]] * (len(frames[i]) - length + 1)) for i in idx]
                raw = np.stack([frames[i][s:s + length] for i, s in zip(idx, starts)]).astype(np.float32)
                train_step(raw, frozen[idx], labels[idx].astype(np.float32),
                           np.array([weight[int(v)] for v in labels[idx]], np.float32), channel_ids[idx])
            eer = compute_eer(val_labels, self.logits(val_stats, frames=val_frames))[0]
            self.history.append(round(float(eer), 4))
            if eer < best[0] or not self.keep_best:
                best = (eer, self._snapshot(), epoch)
        self._restore(best[1])
        self.best_epoch = best[2]
        # The version stores its tuned blocks as float16 (the precision Whisper's weights ship in,
        # train.encoder.tuned_export): every score this head gives is of the weights it will serve.
        for block in self.tuned_blocks:
            for v in block.weights:
                v.assign(v.numpy().astype(np.float16).astype(np.float32))
        return self

    def _snapshot(self) -> list[np.ndarray]:
        return [v.numpy().copy() for b in self.tuned_blocks for v in b.weights] + [v.numpy() for v in self._head_vars]

    def _restore(self, saved: list[np.ndarray]) -> None:
        variables = [v for b in self.tuned_blocks for v in b.weights] + list(self._head_vars)
        for v, value in zip(variables, saved):
            v.assign(value)

    # -- scoring ----------------------------------------------------------------------------------------------
    def _pooled_one(self, raw: np.ndarray) -> list[np.ndarray]:
        """Each tuned output's pooled statistics of one whole clip, 30-s chunks apart as the served encoder."""
        import tensorflow as tf

        if not hasattr(self, "_forward"):
            self._forward = tf.function(lambda x: self._outputs(x),
                                        input_signature=[tf.TensorSpec((1, None, 512), tf.float32)])
        outs = [np.concatenate(o) for o in zip(*[
            [np.asarray(t)[0] for t in self._forward(raw[s:s + FRAMES_PER_CHUNK][None].astype(np.float32))]
            for s in range(0, len(raw), FRAMES_PER_CHUNK)])]
        return [np.concatenate([o.mean(axis=0), o.std(axis=0)]) for o in outs]

    def _outputs(self, raw):
        x, outs = raw, []
        for block in self.tuned_blocks:
            x = block(x)
            outs.append(self.norm(x))
        return outs

    def tuned_stats(self, frames: list[np.ndarray]) -> np.ndarray:
        """(n, tuned outputs, 2, 512): the pooled statistics the tuned blocks give each clip."""
        return np.stack([np.stack(self._pooled_one(f)).reshape(self.blocks, 2, 512) for f in frames])

    def logits(self, stats, frames=None, **_) -> np.ndarray:
        full = np.array(stats, dtype=np.float32, copy=True)
        full[:, list(self.tuned_outputs)] = self.tuned_stats(frames)
        weights, bias = (v.numpy() for v in self._head_vars)
        x = self.warm.scaler.transform(full[:, list(self.outputs)].reshape(len(full), -1))
        return x @ weights + bias

    def served_head(self) -> PooledLinear:
        """The fitted head as the pooled linear head serving runs (scaler of the warm start, tuned weights)."""
        from copy import deepcopy

        head = deepcopy(self.warm)
        weights, bias = (v.numpy() for v in self._head_vars)
        head.model.coef_ = weights[None].astype(np.float64)
        head.model.intercept_ = np.array([bias], dtype=np.float64)
        return head


# The fine-tuning candidates of the bake-off (round 3), by name: blocks tuned, then the variant.
TUNED_CANDIDATES = {
    "tuned1-01234": lambda: TunedHead(blocks=1),
    "tuned2-01234": lambda: TunedHead(blocks=2),
    "tuned1-01234-adversarial": lambda: TunedHead(blocks=1, adversary=0.1),
    # trained with multi-condition copies of the clean training clips (train.encoder.copies)
    "tuned1-01234-multicondition": lambda: TunedHead(blocks=1),
}


def stream_below(name: str) -> int:
    """The cached residual stream a tuned candidate reads: after block 3 for one tuned block, after 2 for two."""
    return 4 - TUNED_CANDIDATES[name]().blocks
