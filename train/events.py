"""The progress-event file of a run or job: its name, its line format, writing and reading it.

``progress.jsonl`` is append-only; every line is one JSON object with an
``event`` and a ``time`` (ISO 8601, UTC). Training writes ``start``,
``features``, ``step``, ``epoch``, ``early_stop``, ``export``, ``evaluate``;
``step`` and ``epoch`` lines always carry ``epoch``, ``step``, ``loss``,
``accuracy``, ``val_eer`` (null until measured), ``elapsed_s`` and ``eta_s``.
A run or job ends with one of :data:`TERMINAL_EVENTS`.

Each line is written with one ``write`` on a file opened for appending, so lines
from several writers (the trainer and the job wrapper) never interleave, and an
admin page can tail the file while it grows. Standard library only: the app
process reads these files and must never import TensorFlow.
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PROGRESS_FILE = "progress.jsonl"
TERMINAL_EVENTS = ("done", "error")
# A job's process lowers its own priority so training never starves the app serving users;
# both the job supervisor (webapp) and the job's process (train.job_runner) read this.
NICE_ENV = "DETECTOR_JOB_NICE"
DEFAULT_NICE = 10


def now_iso() -> str:
    """The current UTC time as written in every event line."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clean(value: Any) -> Any:
    """JSON-safe value: numpy scalars to Python, NaN/inf to null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write (O_APPEND: concurrent writers never interleave)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()


def append_event(folder: Path, event: str, **fields: Any) -> None:
    """Append one event to ``folder/progress.jsonl``; values JSON cannot hold are written as text."""
    record = {"event": event, "time": now_iso(), **fields}
    append_line(Path(folder) / PROGRESS_FILE, json.dumps(record, default=str))


def read_events(path: Path) -> list[dict[str, Any]]:
    """All JSON objects of a progress file; a torn last line (writer mid-write) is skipped."""
    path = Path(path)
    events: list[dict[str, Any]] = []
    for line in (path.read_text(encoding="utf-8", errors="replace") if path.exists() else "").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            events.append(record)
    return events


def read_progress(run_dir: str | Path) -> list[dict[str, Any]]:
    """All events of a run folder (for the admin page and tests); a torn last line is ignored."""
    return read_events(Path(run_dir) / PROGRESS_FILE)


def has_terminal(folder: Path) -> bool:
    """Whether the folder's progress file already ends the run (a ``done`` or ``error`` line)."""
    return any(e.get("event") in TERMINAL_EVENTS for e in read_events(Path(folder) / PROGRESS_FILE))


def describe(record: dict[str, Any]) -> str:
    """The short human line printed for an event."""
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
        record = {"event": event, "time": now_iso()}
        record.update({key: clean(value) for key, value in fields.items()})
        # Strict JSON here (no default=str): a value the trainer cannot serialise is a bug to see.
        append_line(self.path, json.dumps(record))
        if not self.quiet:
            print(describe(record), file=sys.stdout, flush=True)
        return record
