"""The Keras callback that reports training progress, validates each epoch and stops early.

Keras is imported inside :func:`make_callback` only, so importing this module
stays cheap; the event file itself is :mod:`train.events`.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from train.events import ProgressLog

STEP_EVERY_S = 2.0   # at most one step line per this many seconds (keeps the file small)


def make_callback(log: ProgressLog, epochs: int, steps_per_epoch: int, validate: Callable[[], float],
                  patience: int, max_seconds: float | None):
    """A Keras callback: progress lines, validation EER each epoch, early stopping, best weights.

    Parameters
    ----------
    log : ProgressLog
        Where events go.
    epochs, steps_per_epoch : int
        The planned length (for the ETA).
    validate : callable
        Returns the validation EER of the current weights.
    patience : int
        Epochs without a lower validation EER before stopping.
    max_seconds : float or None
        Stop after the epoch that crosses this wall-clock budget.
    """
    import keras

    class Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best_eer, self.best_epoch, self.best_weights = math.inf, 0, None
            self.history: list[dict[str, Any]] = []
            self.steps_done, self.last_line, self.epoch = 0, 0.0, 0
            self.stop_reason = "maximum epochs reached"
            self.started = time.monotonic()

        def _eta(self) -> float | None:
            elapsed = time.monotonic() - self.started
            if not self.steps_done:
                return None
            eta = elapsed / self.steps_done * (epochs * steps_per_epoch - self.steps_done)
            if max_seconds is not None:
                eta = min(eta, max(0.0, max_seconds - elapsed))
            return eta

        def _fields(self, logs: dict[str, Any] | None, val_eer: float | None) -> dict[str, Any]:
            logs = logs or {}
            return {"epoch": self.epoch + 1, "epochs": epochs, "step": self.steps_done,
                    "steps_per_epoch": steps_per_epoch, "loss": logs.get("loss"),
                    "accuracy": logs.get("accuracy"), "val_eer": val_eer,
                    "elapsed_s": round(time.monotonic() - self.started, 2), "eta_s": self._eta()}

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.steps_done += 1
            now = time.monotonic()
            if now - self.last_line >= STEP_EVERY_S:
                self.last_line = now
                log.event("step", **self._fields(logs, None))

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            val_eer = float(validate())
            improved = val_eer < self.best_eer - 1e-6
            if improved:
                self.best_eer, self.best_epoch = val_eer, epoch + 1
                self.best_weights = self.model.get_weights()
            fields = self._fields(logs, val_eer)
            fields.update(best_val_eer=self.best_eer, best_epoch=self.best_epoch)
            self.history.append(fields)
            log.event("epoch", **fields)
            if epoch + 1 - self.best_epoch >= patience:
                self.stop_reason = f"no better validation EER for {patience} epochs"
            elif max_seconds is not None and time.monotonic() - self.started >= max_seconds:
                self.stop_reason = "time budget reached"
            else:
                return
            log.event("early_stop", epoch=epoch + 1, reason=self.stop_reason)
            self.model.stop_training = True

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)  # ship the epoch chosen on validation

    return Progress()
