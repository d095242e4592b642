"""Background jobs for the admin page: training, tuning and corpus builds in their own process.

A job is a folder ``<jobs root>/<id>/`` holding ``job.json`` (what was launched),
``stdout.log``/``stderr.log`` and the ``progress.jsonl`` its process appends to.
The process is started with ``start_new_session=True`` so it has its own process
group and survives page reloads, browser disconnects and even a restart of the
app; its state is always derived from disk:

* a ``done`` line -> done, an ``error`` line -> failed (or cancelled if a cancel was asked);
* no such line and the process is gone (e.g. SIGKILL, out of memory) -> failed;
* otherwise running.

One job at a time: ``active.lock`` holds the job id, PID and the PID's start
time; a lock whose process is dead (or whose PID was reused) is stale and cleared.

This module must stay importable in the app process, so it never imports
TensorFlow; the heavy modules are only imported by the child (see :mod:`train.job_runner`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "DETECTOR_JOBS_ROOT"
NICE_ENV = "DETECTOR_JOB_NICE"
SECRET_ENV = "DETECTOR_ADMIN_PASSWORD"   # webapp.auth.ENV_VAR; not passed on to jobs
PROGRESS_FILE = "progress.jsonl"       # same name as train.progress.PROGRESS_FILE
LOCK_FILE = "active.lock"
CANCEL_FILE = "cancel-requested"
TERMINAL_EVENTS = ("done", "error")
DEFAULT_NICE = 10                      # training must not starve the app serving users
DEFAULT_GRACE_S = 10.0
KEEP_ENV = "DETECTOR_KEEP_JOBS"        # how many job folders to keep (newest first); older ones are removed
DEFAULT_KEEP = 20


def jobs_root() -> Path:
    """``DETECTOR_JOBS_ROOT`` or ``jobs/`` in the repository (git-ignored)."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured).expanduser().resolve() if configured else REPO_ROOT / "jobs"


def keep_jobs() -> int:
    """``DETECTOR_KEEP_JOBS`` (default 20): how many job folders survive; at least 1."""
    try:
        return max(1, int(os.environ.get(KEEP_ENV, DEFAULT_KEEP)))
    except ValueError:
        return DEFAULT_KEEP


class JobBusy(RuntimeError):
    """Another job is still running."""


# Processes -------------------------------------------------------------------
_CHILDREN: dict[int, subprocess.Popen] = {}   # children of this process, polled so they never stay zombies


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), to detect PID reuse; None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])   # field 22; the name in (...) may hold spaces


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so a finished job does not linger as a zombie."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its own parent (or init) reaps it


def pid_alive(pid: int | None, start_time: int | None = None) -> bool:
    """Whether ``pid`` runs and is still the process we launched (same start time), zombies excluded."""
    if not pid or pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True  # no /proc: kill(0) is all we know
    return state not in ("Z", "X") and (start_time is None or process_start_time(pid) == start_time)


# Jobs -------------------------------------------------------------------------
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
        return self.state in ("done", "failed", "cancelled")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temp, path)


def read_events(path: Path) -> list[dict[str, Any]]:
    """All JSON lines of a progress file; a torn last line (writer mid-write) is skipped."""
    events: list[dict[str, Any]] = []
    for line in (path.read_text(encoding="utf-8", errors="replace") if path.exists() else "").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            events.append(record)
    return events


def append_event(folder: Path, event: str, **fields: Any) -> None:
    """Append one event line (O_APPEND, one write: lines from several writers never interleave)."""
    record = {"event": event, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **fields}
    with open(folder / PROGRESS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=str) + "\n")


class JobManager:
    """Start, list, inspect and cancel jobs under one jobs root."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else jobs_root()

    # Lock ---------------------------------------------------------------------
    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialise lock changes between sessions and processes (flock is released on crash)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".guard", "w") as handle:   # closing the file releases the flock
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _read_lock(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / LOCK_FILE).read_text())
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            return {}  # unreadable: treated as stale below

    def current(self) -> Job | None:
        """The job holding the lock while its process lives; a stale lock is removed."""
        lock = self._read_lock()
        if lock is None:
            return None
        if pid_alive(lock.get("pid"), lock.get("start_time")):
            try:
                return Job.load(self.root / str(lock["job"]))
            except (OSError, KeyError, json.JSONDecodeError):
                return None
        with self._guard():
            if self._read_lock() == lock:   # nobody replaced it meanwhile
                (self.root / LOCK_FILE).unlink(missing_ok=True)
        return None

    # Launch -------------------------------------------------------------------
    def _new_folder(self, kind: str) -> tuple[str, Path]:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for counter in range(1, 1000):
            job_id = f"{stamp}-{kind}" + (f"-{counter}" if counter > 1 else "")
            folder = self.root / job_id
            try:
                folder.mkdir(parents=True)
                return job_id, folder
            except FileExistsError:
                continue
        raise RuntimeError("could not create a job folder")

    def start(self, kind: str, command: Sequence[str], params: dict[str, Any] | None = None,
              env: dict[str, str] | None = None) -> Job:
        """Launch ``command`` as a job in its own session; ``{job}`` in it is replaced by the job folder.

        Raises
        ------
        JobBusy
            Another job is running.
        """
        if not re.fullmatch(r"[a-z0-9-]+", kind):
            raise ValueError("job kind must be lowercase letters, digits and dashes")
        with self._guard():
            holder = self._read_lock()
            if holder is not None and pid_alive(holder.get("pid"), holder.get("start_time")):
                raise JobBusy(f"Job {holder.get('job')} is still running; wait for it or cancel it first.")
            job_id, folder = self._new_folder(kind)
            argv = [str(part).replace("{job}", str(folder)) for part in command]
            job = Job(id=job_id, kind=kind, folder=folder, command=argv, params=dict(params or {}),
                      created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
            job.save()
            child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
            child_env.pop(SECRET_ENV, None)   # the job has no use for the admin password
            with open(folder / "stdout.log", "wb") as out, open(folder / "stderr.log", "wb") as err:
                process = subprocess.Popen(argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                           env=child_env, start_new_session=True, close_fds=True)
            _CHILDREN[process.pid] = process
            job.pid, job.start_time = process.pid, process_start_time(process.pid)
            job.save()
            write_json(self.root / LOCK_FILE, {"job": job_id, "pid": job.pid, "start_time": job.start_time})
            self.prune(keep_jobs())
        return job

    def prune(self, keep: int) -> list[str]:
        """Remove all but the newest ``keep`` job folders (never the running one); return the removed ids.

        Job folders hold logs, progress and prepared manifests: without this they pile up forever.
        """
        if not self.root.is_dir():
            return []
        lock = self._read_lock() or {}
        folders = sorted((p for p in self.root.iterdir() if not p.name.startswith(".") and (p / "job.json").is_file()),
                         reverse=True)
        removed = []
        for folder in folders[max(keep, 1):]:
            if folder.name == lock.get("job"):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
        return removed

    def start_module(self, kind: str, module: str, args: Sequence[str], params: dict[str, Any] | None = None,
                     prepare_dataset: str | Path | None = None) -> Job:
        """Run ``python -m <module> <args>`` through this module's wrapper (cancel-safe, always ends with an event)."""
        wrapper = [sys.executable, "-m", "train.job_runner", "exec", "--run-dir", "{job}"]
        if prepare_dataset is not None:
            wrapper += ["--prepare-dataset", str(prepare_dataset)]
        return self.start(kind, [*wrapper, "--", module, *[str(a) for a in args]], params)

    def start_fit(self, corpus: str | Path, store: str | Path, arch: str | None = None, feature: str | None = None,
                  epochs: int | None = None, batch: int | None = None, lr: float | None = None,
                  extra: Sequence[str] = (), prepare_dataset: str | Path | None = None,
                  config_file: str | Path | None = None) -> Job:
        """Train one model into ``store`` (never promoted); see ``python -m train.fit``.

        Settings left as ``None`` come from ``config_file`` (e.g. a search's
        ``best_config.json``) or the trainer's defaults. With ``prepare_dataset``
        the dataset folder is first turned into a manifest in ``<job>/dataset`` by
        the corpus adapters, and training reads that.
        """
        settings = {"arch": arch, "feature": feature, "epochs": epochs, "batch": batch, "lr": lr}
        flags = {"arch": "--arch", "feature": "--features", "epochs": "--epochs", "batch": "--batch", "lr": "--lr"}
        args = ["--corpus", "{job}/dataset" if prepare_dataset is not None else str(corpus), "--out", str(store),
                "--run-dir", "{job}", "--quiet"]
        if config_file is not None:
            args += ["--config", str(config_file)]
        for name, value in settings.items():
            if value is not None:
                args += [flags[name], repr(float(value)) if name == "lr" else str(value)]
        params = {"corpus": str(corpus), "store": str(store), "prepared": prepare_dataset is not None,
                  **{k: v for k, v in settings.items() if v is not None}}
        if config_file is not None:
            params["config"] = str(config_file)
        return self.start_module("fit", "train.fit", [*args, *extra], params, prepare_dataset)

    def start_tune(self, corpus: str | Path, budget_minutes: float, arch: str, feature: str, max_trials: int = 20,
                   extra: Sequence[str] = (), prepare_dataset: str | Path | None = None) -> Job:
        """Random hyper-parameter search bounded by ``budget_minutes``; see ``python -m train.tune``.

        It writes no model version: its ``best_config.json`` (in the job folder) is
        trained afterwards with :meth:`start_fit`.
        """
        args = ["--corpus", "{job}/dataset" if prepare_dataset is not None else str(corpus),
                "--budget-minutes", f"{budget_minutes:g}", "--max-trials", str(max_trials), "--arch", arch,
                "--features", feature, "--run-dir", "{job}", "--quiet", *extra]
        params = {"corpus": str(corpus), "prepared": prepare_dataset is not None, "budget_minutes": budget_minutes,
                  "arch": arch, "feature": feature, "max_trials": max_trials}
        return self.start_module("tune", "train.tune", args, params, prepare_dataset)

    def start_corpus(self, out: str | Path, size: str) -> Job:
        """Build (or resume) the built-in corpus of ``size`` into ``out``."""
        command = [sys.executable, "-m", "train.job_runner", "corpus", "--run-dir", "{job}", "--out", str(out),
                   "--size", size]
        return self.start("corpus", command, {"out": str(out), "size": size})

    # Inspect ------------------------------------------------------------------
    def jobs(self, limit: int = 50) -> list[Job]:
        """Recorded jobs, newest first (ids start with a timestamp)."""
        if not self.root.is_dir():
            return []
        folders = sorted((p for p in self.root.iterdir() if (p / "job.json").is_file()), reverse=True)
        found = []
        for folder in folders[:limit]:
            try:
                found.append(Job.load(folder))
            except (OSError, KeyError, json.JSONDecodeError):
                continue
        return found

    def get(self, job_id: str) -> Job:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", job_id) or job_id.startswith("."):
            raise KeyError(job_id)
        return Job.load(self.root / job_id)

    def status(self, job: Job | str) -> JobStatus:
        """Derive the job's state from its last terminal event and whether its process lives."""
        job = self.get(job) if isinstance(job, str) else job
        alive = pid_alive(job.pid, job.start_time)
        events = read_events(job.progress_path)
        cancel_asked = (job.folder / CANCEL_FILE).exists()
        terminal = next((e for e in reversed(events) if e.get("event") in TERMINAL_EVENTS), None)
        if terminal is not None and terminal["event"] == "done":
            return JobStatus(job, "done", events, "Finished.", terminal.get("version"))
        if terminal is not None:
            state = "cancelled" if cancel_asked else "failed"
            return JobStatus(job, state, events, str(terminal.get("message", "")))
        if alive:
            return JobStatus(job, "cancelling" if cancel_asked else "running", events)
        self._discard_partial_version(job, events)
        if cancel_asked:
            return JobStatus(job, "cancelled", events, "Cancelled.")
        try:
            detail = "\n".join((job.folder / "stderr.log").read_text(errors="replace").splitlines()[-5:])
        except OSError:
            detail = ""
        return JobStatus(job, "failed", events, "The job's process ended without finishing (killed, out of "
                         "memory or crashed)." + (f"\n\n{detail}" if detail else ""))

    @staticmethod
    def _discard_partial_version(job: Job, events: list[dict[str, Any]]) -> None:
        """Remove the ``.tmp-<version>`` folder a killed fit left while exporting (train.fit cleans it up
        itself on any exception, but SIGKILL gives it no chance). The store ignores dot-folders anyway."""
        name = next((e.get("version") for e in reversed(events) if e.get("event") in ("export", "evaluate")), None)
        store = job.params.get("store")
        if job.kind == "fit" and store and isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            shutil.rmtree(Path(store) / f".tmp-{name}", ignore_errors=True)

    # Cancel -------------------------------------------------------------------
    def cancel(self, job: Job | str, grace_s: float = DEFAULT_GRACE_S) -> bool:
        """SIGTERM the job's process group, then SIGKILL whatever is left after ``grace_s``.

        Returns True when the job's process is gone afterwards.
        """
        job = self.get(job) if isinstance(job, str) else job
        if not job.pid:
            return True
        if not pid_alive(job.pid, job.start_time):
            return True   # already over; never signal a PID that may now belong to someone else
        (job.folder / CANCEL_FILE).write_text(datetime.now(timezone.utc).isoformat(timespec="seconds"))
        pgid = job.pid    # start_new_session made the job the leader of its own group
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and pid_alive(job.pid, job.start_time):
            time.sleep(0.1)
        # The group id cannot be reused while any member lives, so this only hits the job's processes
        # (e.g. feature-extraction workers that outlived their parent).
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass   # the whole group is already gone
        for _ in range(50):
            if not pid_alive(job.pid, job.start_time):
                break
            time.sleep(0.1)
        self.current()   # clears the lock now that the process is gone
        return not pid_alive(job.pid, job.start_time)

