"""The training loop: numpy batches made in a background thread, one compiled step each.

Why not ``model.fit``: on the 2-core training machine, Keras 3's ``fit`` over a
``tf.data`` pipeline (``from_generator``) ran the 60 k-parameter net at 440-520 ms
per 64-window batch, while ``train_on_batch`` on the same compiled model and
batches took 200-230 ms. End to end, the same 13-minute budget fitted 16 epochs
under ``fit`` and 32 with this loop. (``bench/train_speed.py`` times both; on the
wider default net the gap it shows over 20 steps is smaller, ~1.2x.) The Keras
callbacks still drive progress, validation and early stopping: this loop calls
their hooks as ``fit`` would.

Batch order stays deterministic: one thread draws every batch from the run's one
seeded generator, in order, and the queue hands them over in that order.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Sequence

PREFETCH_BATCHES = 3   # batches made ahead while the step runs (each ~3 MB for mel windows)
_END = object()        # the producer's "generator finished" marker


class Prefetcher:
    """Iterate ``batches`` in a daemon thread, ``depth`` items ahead of the consumer.

    Use as a context manager: leaving it stops the thread even if the generator is endless.
    An exception raised by the generator is re-raised in the consumer.
    """

    def __init__(self, batches: Iterator[Any], depth: int = PREFETCH_BATCHES) -> None:
        self._batches = batches
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="batch-prefetch", daemon=True)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._batches:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, never lost in the thread
            self._put(exc)

    def __enter__(self) -> "Prefetcher":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def __iter__(self) -> "Prefetcher":
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is _END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item


def run_training(model, batches: Iterator[tuple[Any, Any]], epochs: int, steps_per_epoch: int,
                 callbacks: Sequence[Any] = ()) -> int:
    """Train ``model`` (compiled) for up to ``epochs`` x ``steps_per_epoch`` batches.

    Parameters
    ----------
    model : keras.Model
        Compiled with optimizer, loss and metrics.
    batches : iterator
        Endless ``(x, y)`` numpy batches.
    epochs, steps_per_epoch : int
        The planned length; a callback may stop earlier through ``model.stop_training``.
    callbacks : sequence of keras.callbacks.Callback
        Receive ``on_train_begin/end``, ``on_epoch_begin/end`` and ``on_train_batch_end``
        with the running means of ``loss`` and the metrics over the epoch so far, as under ``fit``.

    Returns
    -------
    int
        Steps run.
    """
    for callback in callbacks:
        callback.set_model(model)
    model.stop_training = False
    steps_run = 0
    logs: dict[str, float] = {}
    for callback in callbacks:
        callback.on_train_begin()
    with Prefetcher(batches) as ready:
        for epoch in range(epochs):
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            # train_on_batch resets the metrics on every call; fit reports each epoch's running
            # means, so the loop keeps those itself (weighted by batch size).
            totals: dict[str, float] = {}
            seen = 0
            for step in range(steps_per_epoch):
                x, y = next(ready)
                batch_logs = model.train_on_batch(x, y, return_dict=True)
                seen += len(x)
                for key, value in batch_logs.items():
                    totals[key] = totals.get(key, 0.0) + float(value) * len(x)
                logs = {key: total / seen for key, total in totals.items()}
                steps_run += 1
                for callback in callbacks:
                    callback.on_train_batch_end(step, logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, dict(logs))
            if model.stop_training:
                break
    for callback in callbacks:
        callback.on_train_end(dict(logs))
    return steps_run
