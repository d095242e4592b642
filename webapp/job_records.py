"""Job records on disk: ``job.json``, the state derived from a job's events, listing and pruning.

A job is a folder ``<jobs root>/<id>/`` holding ``job.json`` (what was launched),
``stdout.log``/``stderr.log`` and the ``progress.jsonl`` its process appends to
(:mod:`train.events`). Its state is always derived from disk:

* a ``done`` line -> done, an ``error`` line -> failed (or cancelled if a cancel was asked);
* no such line and the process is gone (e.g. SIGKILL, out of memory) -> failed;
* otherwise running.

Nothing here starts or signals a process (that is :mod:`webapp.jobs`). No TensorFlow here.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from detector.paths import JOBS_ROOT_ENV
from detector.paths import jobs_root as jobs_root
from train.events import PROGRESS_FILE, TERMINAL_EVENTS

ENV_VAR = JOBS_ROOT_ENV
CANCEL_FILE = "cancel-requested"
KEEP_ENV = "DETECTOR_KEEP_JOBS"        # how many job folders to keep (newest first); older ones are removed
DEFAULT_KEEP = 20
FINISHED_STATES = ("done", "failed", "cancelled")


def keep_jobs() -> int:
    """``DETECTOR_KEEP_JOBS`` (default 20): how many job folders survive; at least 1."""
    try:
        return max(1, int(os.environ.get(KEEP_ENV, DEFAULT_KEEP)))
    except ValueError:
        return DEFAULT_KEEP


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temp, path)


@dataclass
class Job:
    """One launched job, as recorded in ``job.json``."""

    id: str
    kind: str
    folder: Path
    command: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    pid: int | None = None
    start_time: int | None = None
    created: str = ""

    @property
    def progress_path(self) -> Path:
        return self.folder / PROGRESS_FILE

    def save(self) -> None:
        data = {"id": self.id, "kind": self.kind, "command": self.command, "params": self.params,
                "pid": self.pid, "start_time": self.start_time, "created": self.created}
        write_json(self.folder / "job.json", data)

    @classmethod
    def load(cls, folder: Path) -> "Job":
        data = json.loads((folder / "job.json").read_text())
        return cls(id=data["id"], kind=data["kind"], folder=folder, command=list(data["command"]),
                   params=dict(data.get("params", {})), pid=data.get("pid"), start_time=data.get("start_time"),
                   created=data.get("created", ""))


@dataclass
class JobStatus:
    """A job's state derived from its progress file and its process."""

    job: Job
    state: str                          # running | cancelling | done | failed | cancelled
    events: list[dict[str, Any]]
    message: str = ""
    version: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


def stderr_tail(folder: Path, lines: int = 5) -> str:
    """The last lines of a job's ``stderr.log`` (empty when unreadable)."""
    try:
        return "\n".join((folder / "stderr.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def derive_status(job: Job, events: list[dict[str, Any]], alive: bool, cancel_asked: bool) -> JobStatus:
    """A job's state from its last terminal event, whether its process lives and whether a cancel was asked."""
    terminal = next((e for e in reversed(events) if e.get("event") in TERMINAL_EVENTS), None)
    if terminal is not None and terminal["event"] == "done":
        return JobStatus(job, "done", events, "Finished.", terminal.get("version"))
    if terminal is not None:
        state = "cancelled" if cancel_asked else "failed"
        return JobStatus(job, state, events, str(terminal.get("message", "")))
    if alive:
        return JobStatus(job, "cancelling" if cancel_asked else "running", events)
    if cancel_asked:
        return JobStatus(job, "cancelled", events, "Cancelled.")
    detail = stderr_tail(job.folder)
    return JobStatus(job, "failed", events, "The job's process ended without finishing (killed, out of "
                     "memory or crashed)." + (f"\n\n{detail}" if detail else ""))


def new_folder(root: Path, kind: str) -> tuple[str, Path]:
    """Create ``root/<timestamp>-<kind>[-n]`` (ids sort by time); return its id and path."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for counter in range(1, 1000):
        job_id = f"{stamp}-{kind}" + (f"-{counter}" if counter > 1 else "")
        folder = root / job_id
        try:
            folder.mkdir(parents=True)
            return job_id, folder
        except FileExistsError:
            continue
    raise RuntimeError("could not create a job folder")


def job_folders(root: Path) -> list[Path]:
    """Folders holding a ``job.json``, newest first (ids start with a timestamp)."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "job.json").is_file()), reverse=True)


def list_jobs(root: Path, limit: int = 50) -> list[Job]:
    """Recorded jobs, newest first; unreadable records are skipped."""
    found = []
    for folder in job_folders(root)[:limit]:
        try:
            found.append(Job.load(folder))
        except (OSError, KeyError, json.JSONDecodeError):
            continue
    return found


def prune(root: Path, keep: int, running: str | None = None) -> list[str]:
    """Remove all but the newest ``keep`` job folders (never ``running``); return the removed ids.

    Job folders hold logs, progress and prepared manifests: without this they pile up forever.
    """
    folders = [p for p in job_folders(root) if not p.name.startswith(".")]
    removed = []
    for folder in folders[max(keep, 1):]:
        if folder.name == running:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed
