"""Live training progress: human lines on stdout and JSON lines in the run folder.

``progress.jsonl`` is append-only and flushed after every line so an admin page
can tail it while training runs. Every line is one JSON object with an
``event`` (``start``, ``features``, ``step``, ``epoch``, ``done`` or ``error``)
and ``time`` (ISO 8601); ``step`` and ``epoch`` lines always carry ``epoch``,
``step``, ``loss``, ``accuracy``, ``val_eer`` (null until measured),
``elapsed_s`` and ``eta_s``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

PROGRESS_FILE = "progress.jsonl"
STEP_EVERY_S = 2.0   # at most one step line per this many seconds (keeps the file small)


def _clean(value: Any) -> Any:
    """JSON-safe value: numpy scalars to Python, NaN/inf to null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class ProgressLog:
    """Append events to ``run_dir/progress.jsonl`` and echo a short line to stdout.

    Parameters
    ----------
    run_dir : Path
        Folder of this run (created if missing).
    quiet : bool
        Do not print to stdout.
    """

    def __init__(self, run_dir: str | Path, quiet: bool = False) -> None:
        self.path = Path(run_dir) / PROGRESS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self.started = time.monotonic()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def event(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one JSON line (and print it briefly); returns the record."""
        record = {"event": event, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        record.update({key: _clean(value) for key, value in fields.items()})
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
        if not self.quiet:
            print(self._describe(record), file=sys.stdout, flush=True)
        return record

    @staticmethod
    def _describe(record: dict[str, Any]) -> str:
        kind = record["event"]
        if kind in ("step", "epoch"):
            parts = [f"epoch {record['epoch']}/{record.get('epochs', '?')}", f"step {record['step']}"]
            for key in ("loss", "accuracy", "val_eer"):
                if record.get(key) is not None:
                    parts.append(f"{key} {record[key]:.4f}")
            parts.append(f"elapsed {record['elapsed_s']:.0f}s")
            if record.get("eta_s") is not None:
                parts.append(f"eta {record['eta_s']:.0f}s")
            return ("  " if kind == "step" else "") + " | ".join(parts)
        extras = {k: v for k, v in record.items() if k not in ("event", "time")}
        return f"[{kind}] " + ", ".join(f"{k}={v}" for k, v in extras.items())


def read_progress(run_dir: str | Path) -> list[dict[str, Any]]:
    """All events of a run (for the admin page and tests); a torn last line is ignored."""
    path = Path(run_dir) / PROGRESS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a writer may be mid-line
    return records


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
