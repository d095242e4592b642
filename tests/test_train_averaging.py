"""Weight averaging: the validated weights are the EMA of the raw ones; training resumes from the raw."""

from __future__ import annotations

import numpy as np
import pytest

from train.averaging import make_weight_average, warmed_decay
from train.loop import run_training


def test_decay_warms_up_then_holds():
    assert warmed_decay(0.99, 1) == pytest.approx(2 / 11)
    assert warmed_decay(0.99, 10) == pytest.approx(11 / 20)
    assert warmed_decay(0.99, 10_000) == 0.99
    assert all(warmed_decay(0.99, n) <= warmed_decay(0.99, n + 1) for n in range(1, 500))


def test_decay_outside_zero_one_is_refused():
    for bad in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="decay"):
            make_weight_average(bad)


class Snapshots:
    """Records the model's trainable weights at every hook it is given."""

    def __init__(self) -> None:
        self.model = None
        self.after_step: list[list[np.ndarray]] = []
        self.at_epoch_end: list[list[np.ndarray]] = []
        self.at_epoch_begin: list[list[np.ndarray]] = []

    def set_model(self, model) -> None:
        self.model = model

    def _weights(self) -> list[np.ndarray]:
        return [v.numpy().copy() for v in self.model.trainable_variables]

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        self.after_step.append(self._weights())

    def on_epoch_end(self, epoch, logs=None):
        self.at_epoch_end.append(self._weights())

    def on_epoch_begin(self, epoch, logs=None):
        self.at_epoch_begin.append(self._weights())


def test_epoch_end_shows_the_average_and_the_next_epoch_trains_from_the_raw_weights():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.BinaryCrossentropy(from_logits=True))

    def batches():
        rng = np.random.default_rng(1)
        while True:
            x = rng.standard_normal((8, 3)).astype(np.float32)
            yield x, (x[:, :1] > 0).astype(np.float32)

    raw, seen = Snapshots(), Snapshots()   # raw records before the average swaps; seen after it
    decay = 0.8
    run_training(model, batches(), epochs=2, steps_per_epoch=6, callbacks=[raw, make_weight_average(decay), seen])

    # average_0 = weights before training; average_n = keep_n * average_(n-1) + (1 - keep_n) * w_n.
    before = seen.at_epoch_begin[0]
    average = [w.astype(np.float64) for w in before]
    for step, weights in enumerate(raw.after_step, 1):
        keep = warmed_decay(decay, step)
        average = [keep * a + (1 - keep) * w for a, w in zip(average, weights)]
        if step == 6:
            for got, want in zip(seen.at_epoch_end[0], average):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        if step == 12:
            for got, want in zip(seen.at_epoch_end[1], average):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The average differs from the raw weights, and epoch 2 starts from the raw ones.
    assert not np.allclose(seen.at_epoch_end[0][0], raw.after_step[5][0])
    for got, want in zip(seen.at_epoch_begin[1], raw.after_step[5]):
        np.testing.assert_array_equal(got, want)
