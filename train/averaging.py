"""Exponential moving average (EMA) of the weights, validated and shipped instead of the raw ones.

Off by default (``TrainConfig.weight_average_decay = 0``). The idea: with a batch
of 64 windows the raw weights wander from step to step, and the validation EER of
consecutive epochs jumps by up to 2 points; an average over the last ~100 steps
is a flatter point (Polyak averaging; AASIST uses SWA to the same end). On the
default corpus it did not help: with a decay of 0.99 the validation EER of the
early epochs was no steadier, and early stopping ended the run at epoch 12 with
21.3 % against 17.5 % for the raw weights (docs/experiments.md).

The callback keeps the average in TensorFlow variables, updated by one compiled
call a step. At each epoch's end it swaps the average into the model, so callbacks
after it validate, and may keep, the averaged weights; at the next epoch's start
it swaps the raw weights back and training goes on from them. Batch-norm
statistics are running averages already and are left as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def warmed_decay(decay: float, updates: int) -> float:
    """The decay used for update number ``updates`` (1-based): short at first, so the first
    steps' random weights fade quickly, then ``decay`` (as ``tf.train.ExponentialMovingAverage``)."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


def make_weight_average(decay: float):
    """A Keras callback averaging the trainable weights; put it before the validating callback.

    Parameters
    ----------
    decay : float
        Share of the old average kept at each step, in (0, 1).
    """
    import keras

    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must lie in (0, 1), got {decay}")

    class WeightAverage(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.average: list[Any] = []
            self.raw: list[np.ndarray] | None = None
            self.updates = 0
            self._update = None

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            import tensorflow as tf

            trainable = self.model.trainable_variables
            self.average = [tf.Variable(variable.value, trainable=False) for variable in trainable]

            # One compiled call a step: per-variable eager reads cost ~80 ms a step on 2 cores.
            @tf.function
            def update(keep):
                for average, variable in zip(self.average, trainable):
                    average.assign(keep * average + (1.0 - keep) * variable.value)

            self._update = update

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.updates += 1
            self._update(np.float32(warmed_decay(decay, self.updates)))

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.raw = [variable.numpy() for variable in self.model.trainable_variables]
            for variable, average in zip(self.model.trainable_variables, self.average):
                variable.assign(average)

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if self.raw is not None:
                for variable, value in zip(self.model.trainable_variables, self.raw):
                    variable.assign(value)
                self.raw = None

    return WeightAverage()
