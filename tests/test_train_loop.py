"""The training loop that replaced ``model.fit``: prefetch thread, callback hooks, early stop."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from train.loop import Prefetcher, run_training


def test_prefetcher_keeps_order_and_stops_an_endless_generator():
    produced = []

    def endless():
        for index in itertools.count():
            produced.append(index)
            yield index

    with Prefetcher(endless(), depth=2) as ready:
        taken = [next(ready) for _ in range(50)]
        thread = ready._thread
    assert taken == list(range(50))
    assert not thread.is_alive()  # leaving the block ended the producer
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count  # and nothing is drawn after it
    assert count <= 50 + 2 + 1     # at most queue depth (+ the one in hand) ahead


def test_prefetcher_hands_a_generator_error_to_the_consumer():
    def broken():
        yield 1
        raise ValueError("bad clip")

    with Prefetcher(broken()) as ready:
        assert next(ready) == 1
        with pytest.raises(ValueError, match="bad clip"):
            next(ready)


def test_prefetcher_ends_with_a_finite_generator():
    with Prefetcher(iter(range(5))) as ready:
        assert list(ready) == [0, 1, 2, 3, 4]


def _tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])
    return model


def _separable_batches(seed: int = 0):
    rng = np.random.default_rng(seed)
    while True:
        x = rng.standard_normal((32, 4)).astype(np.float32)
        yield x, (x[:, :1] > 0).astype(np.float32)


class Recorder:
    """A Keras-style callback that records every hook and can stop training."""

    def __init__(self, stop_after_epoch: int | None = None) -> None:
        self.calls: list[tuple] = []
        self.stop_after_epoch = stop_after_epoch
        self.model = None
        self.thread = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.thread = threading.current_thread()
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))
        if self.stop_after_epoch == epoch:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_run_training_learns_and_calls_every_hook_in_order():
    model = _tiny_model()
    recorder = Recorder()
    steps = run_training(model, _separable_batches(), epochs=3, steps_per_epoch=5, callbacks=[recorder])
    assert steps == 15
    kinds = [call[0] for call in recorder.calls]
    assert kinds == (["train_begin"] + (["epoch_begin"] + ["batch_end"] * 5 + ["epoch_end"]) * 3 + ["train_end"])
    assert [c[1] for c in recorder.calls if c[0] == "batch_end"] == list(range(5)) * 3
    assert recorder.thread is threading.main_thread()  # callbacks never run in the prefetch thread
    epoch_logs = [c[2] for c in recorder.calls if c[0] == "epoch_end"]
    assert all({"loss", "accuracy"} <= set(logs) for logs in epoch_logs)
    assert epoch_logs[-1]["loss"] < epoch_logs[0]["loss"]   # it trains
    assert epoch_logs[-1]["accuracy"] > 0.9


def test_metrics_are_running_means_of_the_epoch_not_the_run():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
    # A learning rate of 0 freezes the model (logit = sum of x), so each batch's accuracy is known.
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])

    def batches():  # epoch 1: right, wrong, right, wrong; epoch 2: all right
        rng = np.random.default_rng(0)
        for index in itertools.count():
            x = rng.standard_normal((16, 4)).astype(np.float32)
            right = (x.sum(axis=1, keepdims=True) > 0).astype(np.float32)
            yield x, right if index >= 4 or index % 2 == 0 else 1.0 - right

    recorder = Recorder()
    run_training(model, batches(), epochs=2, steps_per_epoch=4, callbacks=[recorder])
    accuracy = [c[2]["accuracy"] for c in recorder.calls if c[0] == "batch_end"]
    # Per-batch values would read 1, 0, 1, 0; a run-long mean would read 0.6 at step 5.
    assert accuracy == pytest.approx([1, 1 / 2, 2 / 3, 1 / 2, 1, 1, 1, 1])
    assert [c[2]["accuracy"] for c in recorder.calls if c[0] == "epoch_end"] == pytest.approx([0.5, 1.0])


def test_stop_training_ends_the_run_after_that_epoch():
    model = _tiny_model()
    recorder = Recorder(stop_after_epoch=1)
    steps = run_training(model, _separable_batches(), epochs=10, steps_per_epoch=3, callbacks=[recorder])
    assert steps == 6
    assert [c[1] for c in recorder.calls if c[0] == "epoch_end"] == [0, 1]
    assert recorder.calls[-1] == ("train_end",)


def test_the_same_batches_give_the_same_weights():
    first, second = _tiny_model(), _tiny_model()
    run_training(first, _separable_batches(3), epochs=2, steps_per_epoch=4)
    run_training(second, _separable_batches(3), epochs=2, steps_per_epoch=4)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
