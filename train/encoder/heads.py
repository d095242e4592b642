"""Heads over frozen encoder features: the bake-off's candidates.

A head is fitted on training clips, picks its regularisation on validation clips and
returns clip logits (positive = synthetic). Three kinds:

* :class:`PooledLinear` -- logistic regression on the mean and standard deviation over
  time of chosen encoder outputs (the probe that first beat the CNN on held-out folds);
* :class:`TemporalHead` -- learned softmax weights over the stem and blocks 1-3, a
  small temporal convolution over 0.1-s steps and attentive statistics pooling
  (the SLS-style candidate: frame-level, layer weights learned);
* :class:`FusedHead` -- the two above, their logits weighed by a regression fitted on
  validation (the shipped head).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from detector.encoder.head_spec import C_GRID, FUSED, POOLED, SERVABLE_HEADS, SERVABLE_NAMES, TEMPORAL_OUTPUTS, HeadSpec
from detector.metrics import compute_eer


def pooled_matrix(stats: np.ndarray, outputs: tuple[int, ...]) -> np.ndarray:
    """(n, len(outputs) * 1024) features: mean and std of each chosen output."""
    return stats[:, list(outputs)].reshape(len(stats), -1)


@dataclass
class PooledLinear:
    """Logistic regression on pooled statistics of ``outputs``; C chosen by validation EER.

    With ``per_output`` each encoder output gets a regression of its own and their logits
    are averaged: still one linear map of the pooled statistics (served the same way), but
    no single layer's cue can dominate the sum.
    """

    outputs: tuple[int, ...]
    c_grid: tuple[float, ...] = C_GRID
    per_output: bool = False
    chosen_c: float | tuple[float, ...] | None = None
    scaler: StandardScaler | None = None
    model: LogisticRegression | None = None

    def _best(self, x, labels, x_val, val_labels) -> tuple[float, LogisticRegression]:
        best = None
        for c in self.c_grid:
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=400).fit(x, labels)
            eer = compute_eer(val_labels, model.decision_function(x_val))[0]
            if best is None or eer < best[0]:
                best = (eer, c, model)
        return best[1], best[2]

    def fit(self, stats: np.ndarray, labels: np.ndarray, val_stats: np.ndarray, val_labels: np.ndarray,
            **_) -> "PooledLinear":
        x, x_val = pooled_matrix(stats, self.outputs), pooled_matrix(val_stats, self.outputs)
        self.scaler = StandardScaler().fit(x)
        x, x_val = self.scaler.transform(x), self.scaler.transform(x_val)
        if not self.per_output:
            self.chosen_c, self.model = self._best(x, labels, x_val, val_labels)
            return self
        width = x.shape[1] // len(self.outputs)
        blocks = [slice(k * width, (k + 1) * width) for k in range(len(self.outputs))]
        fitted = [self._best(x[:, b], labels, x_val[:, b], val_labels) for b in blocks]
        # The mean of the per-output logits, written as one regression over all the columns.
        combined = LogisticRegression()
        combined.coef_ = np.concatenate([m.coef_ for _, m in fitted], axis=1) / len(fitted)
        combined.intercept_ = np.mean([m.intercept_ for _, m in fitted], axis=0)
        combined.classes_ = fitted[0][1].classes_
        self.chosen_c, self.model = tuple(c for c, _ in fitted), combined
        return self

    def logits(self, stats: np.ndarray, **_) -> np.ndarray:
        return self.model.decision_function(self.scaler.transform(pooled_matrix(stats, self.outputs)))


def _layer_mix_class():
    """Keras is imported lazily (the pooled heads need none of it)."""
    import keras
    from keras import ops

    class _LayerMix(keras.layers.Layer):
        """A softmax-weighted sum over the layer axis, one learned score per encoder output (SLS-style)."""

        def __init__(self, outputs: int, **kwargs) -> None:
            super().__init__(**kwargs)
            self.outputs = outputs
            self.scores = self.add_weight(shape=(outputs,), initializer="zeros", name="scores")

        def call(self, seq):
            return ops.einsum("btld,l->btd", seq, ops.softmax(self.scores))

    return _LayerMix


def LayerMix(outputs: int, **kwargs):  # noqa: N802 - used like a layer class
    return _layer_mix_class()(outputs, **kwargs)


@dataclass
class TemporalHead:
    """Layer weights, a temporal conv and attentive statistics pooling, trained with Keras."""

    epochs: int = 12
    width: int = 64
    seed: int = 1234
    # 30 s of 0.1-s steps seen per clip in training: the encoder's own chunk, and longer than most corpus clips,
    # so training sees the whole clips it will serve rather than 10-s crops of them.
    max_steps: int = 300
    model: object = None
    history: list = field(default_factory=list)

    def _build(self, outputs: int, dim: int):
        import keras
        from keras import layers, ops

        keras.utils.set_random_seed(self.seed)
        seq = keras.Input((None, outputs, dim))
        mask = keras.Input((None,))
        x = layers.LayerNormalization()(LayerMix(outputs, name="layer_mix")(seq))
        x = layers.Dropout(0.2)(x)
        x = layers.Dense(self.width, activation="gelu")(x)
        # Padded steps are zeroed before the conv, as its own "same" padding is at a clip's real end: a clip then
        # gets the same outputs in a padded training batch as alone in serving (where the mask is all ones).
        x = x * ops.expand_dims(mask, axis=-1)
        x = layers.Conv1D(self.width, 3, padding="same", activation="gelu")(x)
        # expand_dims/squeeze rather than [..., None] slicing: LiteRT has no kernel for a new-axis slice
        score = ops.squeeze(layers.Dense(1)(layers.Dense(32, activation="tanh")(x)), axis=-1)
        score = score + (1.0 - mask) * -1e9
        attention = ops.expand_dims(ops.softmax(score, axis=1), axis=-1)
        mean = ops.sum(attention * x, axis=1)
        std = ops.sqrt(ops.maximum(ops.sum(attention * x * x, axis=1) - mean * mean, 1e-6))
        pooled = layers.Dropout(0.3)(ops.concatenate([mean, std], axis=-1))
        logit = layers.Dense(1, kernel_regularizer=keras.regularizers.l2(1e-3))(pooled)
        model = keras.Model([seq, mask], logit)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.BinaryCrossentropy(from_logits=True))
        return model

    @staticmethod
    def _pad(seqs: list[np.ndarray], limit: int, rng: np.random.Generator | None):
        crops = []
        for s in seqs:
            if len(s) > limit:
                start = int(rng.integers(0, len(s) - limit + 1)) if rng is not None else 0
                s = s[start:start + limit]
            crops.append(s)
        length = max(len(s) for s in crops)
        batch = np.zeros((len(crops), length, *crops[0].shape[1:]), np.float32)
        mask = np.zeros((len(crops), length), np.float32)
        for i, s in enumerate(crops):
            batch[i, :len(s)], mask[i, :len(s)] = s, 1.0
        return batch, mask

    @property
    def layers(self) -> int | None:
        """Encoder outputs per step the fitted model reads (the first ones: step_sequence); ``None`` before fitting."""
        return None if self.model is None else int(self.model.inputs[0].shape[2])

    def fit(self, stats, labels, val_stats, val_labels, seqs=None, val_seqs=None) -> "TemporalHead":
        rng = np.random.default_rng(self.seed)
        self.model = self._build(seqs[0].shape[1], seqs[0].shape[2])
        order = np.argsort([len(s) for s in seqs])   # batches of similar length: little padding
        batches = [order[i:i + 32] for i in range(0, len(order), 32)]
        weight = {0: len(labels) / (2 * np.sum(labels == 0)), 1: len(labels) / (2 * np.sum(labels == 1))}
        best = (np.inf, None)
        for _ in range(self.epochs):
            for b in rng.permutation(len(batches)):
                idx = batches[b]
                x, m = self._pad([seqs[i] for i in idx], self.max_steps, rng)
                y = labels[idx].astype(np.float32)[:, None]
                self.model.train_on_batch([x, m], y, sample_weight=np.array([weight[int(v)] for v in labels[idx]]))
            eer = compute_eer(val_labels, self.logits(None, seqs=val_seqs))[0]
            self.history.append(round(float(eer), 4))
            if eer < best[0]:
                best = (eer, self.model.get_weights())
        self.model.set_weights(best[1])
        return self

    def logits(self, stats, seqs=None, **_) -> np.ndarray:
        out = np.empty(len(seqs))
        order = np.argsort([len(s) for s in seqs])
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            x, m = self._pad([seqs[j] for j in idx], 3000, None)
            out[idx] = np.asarray(self.model([x, m], training=False))[:, 0]
        return out


@dataclass
class FusedHead:
    """Score fusion of the pooled linear head and the temporal head, weights fitted on validation.

    Both heads are fitted on the training clips; a two-input logistic regression on their
    validation logits sets how much each counts (candidate (c)'s recipe, with the temporal
    head in place of the CNN, whose fold models keep no scores).
    """

    linear: PooledLinear = field(default_factory=lambda: PooledLinear((0, 1, 2, 3, 4)))
    temporal: TemporalHead = field(default_factory=TemporalHead)
    weights: np.ndarray | None = None
    bias: float = 0.0

    def _both(self, stats, seqs) -> np.ndarray:
        return np.stack([self.linear.logits(stats), self.temporal.logits(stats, seqs=seqs)], axis=1)

    def fit(self, stats, labels, val_stats, val_labels, seqs=None, val_seqs=None) -> "FusedHead":
        self.linear.fit(stats, labels, val_stats, val_labels)
        self.temporal.fit(stats, labels, val_stats, val_labels, seqs=seqs, val_seqs=val_seqs)
        fusion = LogisticRegression(C=1.0, class_weight="balanced").fit(self._both(val_stats, val_seqs), val_labels)
        self.weights, self.bias = fusion.coef_[0], float(fusion.intercept_[0])
        return self

    def logits(self, stats, seqs=None, **_) -> np.ndarray:
        return self._both(stats, seqs) @ self.weights + self.bias


def head_for(spec: HeadSpec):
    """An unfitted head built as ``spec`` says (the one constructor the bake-off, retrain and publish use)."""
    linear = PooledLinear(spec.outputs, c_grid=spec.c_grid or C_GRID, per_output=spec.per_output)
    return linear if spec.kind == POOLED else FusedHead(linear=linear, temporal=TemporalHead())


def spec_of(head) -> HeadSpec:
    """The :class:`HeadSpec` a fitted servable head was built as (its version's ``encoder.json`` records it)."""
    fused = isinstance(head, FusedHead)
    linear = head.linear if fused else head
    if not isinstance(linear, PooledLinear):
        raise ValueError(f"a {type(head).__name__} cannot be served: only pooled linear and fused heads can")
    temporal = TEMPORAL_OUTPUTS[:head.temporal.layers or len(TEMPORAL_OUTPUTS)] if fused else ()
    return HeadSpec(FUSED if fused else POOLED, tuple(int(o) for o in linear.outputs), temporal,
                    c_grid=tuple(linear.c_grid), per_output=linear.per_output)


# Every candidate of the bake-off by name: the servable heads (detector.encoder.head_spec) and one that reads
# only the sequences, which serving does not run.
CANDIDATES = {spec.name: (lambda spec=spec: head_for(spec)) for spec in SERVABLE_HEADS}
CANDIDATES["temporal-0123"] = lambda: TemporalHead()
SERVABLE = SERVABLE_NAMES


def uses_sequences(name: str) -> bool:
    """Whether a candidate reads the 0.1-s sequences (slower to load) besides the pooled statistics."""
    return name.startswith(("temporal", "fused"))
