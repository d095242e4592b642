"""Background jobs for the admin page: training, tuning and corpus builds in their own process.

The process is started with ``start_new_session=True`` so it has its own process
group and survives page reloads, browser disconnects and even a restart of the
app; its state is always derived from disk (:mod:`webapp.job_records`).

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
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from detector.paths import REPO_ROOT
from train.config import TrainConfig
from train.events import NICE_ENV, PROGRESS_FILE, TERMINAL_EVENTS, append_event, now_iso, read_events
from webapp import job_commands
from webapp.job_records import (
    CANCEL_FILE,
    DEFAULT_KEEP,
    ENV_VAR,
    KEEP_ENV,
    Job,
    JobStatus,
    derive_status,
    jobs_root,
    keep_jobs,
    list_jobs,
    new_folder,
    prune,
    write_json,
)
from webapp.processes import pid_alive, process_start_time, spawn

# Names other modules and tests import from here, wherever they are defined.
__all__ = ["CANCEL_FILE", "DEFAULT_GRACE_S", "DEFAULT_KEEP", "ENV_VAR", "KEEP_ENV", "LOCK_FILE", "NICE_ENV",
           "PROGRESS_FILE", "TERMINAL_EVENTS", "Job", "JobBusy", "JobManager", "JobStatus", "append_event",
           "jobs_root", "keep_jobs", "pid_alive", "process_start_time", "read_events", "write_json"]

SECRET_ENV = "DETECTOR_ADMIN_PASSWORD"   # webapp.auth.ENV_VAR; not passed on to jobs
LOCK_FILE = "active.lock"
DEFAULT_GRACE_S = 10.0
_SAFE_NAME = r"[A-Za-z0-9_.-]+"


class JobBusy(RuntimeError):
    """Another job is still running."""


def fill_job_folder(value: Any, folder: Path) -> Any:
    """``value`` with ``{job}`` replaced by the job folder when it is text; other values unchanged."""
    return value.replace("{job}", str(folder)) if isinstance(value, str) else value


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
    def start(self, kind: str, command: Sequence[str], params: dict[str, Any] | None = None,
              env: dict[str, str] | None = None, files: dict[str, str] | None = None) -> Job:
        """Launch ``command`` as a job in its own session; ``{job}`` in it is replaced by the job folder.

        ``files`` (name -> text) are written into the job folder before the process
        starts; ``{job}`` in text params is replaced too.

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
            job_id, folder = new_folder(self.root, kind)
            argv = [fill_job_folder(str(part), folder) for part in command]
            job = Job(id=job_id, kind=kind, folder=folder, command=argv,
                      params={k: fill_job_folder(v, folder) for k, v in (params or {}).items()}, created=now_iso())
            job.save()
            for name, text in (files or {}).items():
                (folder / name).write_text(text)
            child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
            child_env.pop(SECRET_ENV, None)   # the job has no use for the admin password
            job.pid, job.start_time = spawn(argv, folder, REPO_ROOT, child_env)
            job.save()
            write_json(self.root / LOCK_FILE, {"job": job_id, "pid": job.pid, "start_time": job.start_time})
            self.prune(keep_jobs())
        return job

    def prune(self, keep: int) -> list[str]:
        """Remove all but the newest ``keep`` job folders (never the running one); return the removed ids."""
        return prune(self.root, keep, (self._read_lock() or {}).get("job"))

    def start_module(self, kind: str, module: str, args: Sequence[str], params: dict[str, Any] | None = None,
                     prepare_dataset: str | Path | None = None, files: dict[str, str] | None = None) -> Job:
        """Run ``python -m <module> <args>`` through the job runner (cancel-safe, always ends with an event)."""
        return self.start(kind, job_commands.runner_command(module, args, prepare_dataset), params, files=files)

    def start_fit(self, corpus: str | Path, store: str | Path, config: TrainConfig | str | Path | None = None,
                  extra: Sequence[str] = (), prepare_dataset: str | Path | None = None) -> Job:
        """Train one model into ``store`` (never promoted); see ``python -m train.fit``.

        ``config`` is a :class:`TrainConfig` (written to the job folder) or a
        configuration file such as a search's ``best_config.json``; None trains the
        shipped recipe. With ``prepare_dataset`` the dataset folder is first turned
        into a manifest in ``<job>/dataset`` by the corpus adapters, and training reads that.
        """
        args, params, files = job_commands.fit_job(corpus, store, config if config is not None else TrainConfig(),
                                                   prepare_dataset)
        return self.start_module("fit", "train.fit", [*args, *extra], params, prepare_dataset, files)

    def start_encoder_head(self, corpus: str | Path, store: str | Path, candidate: str,
                           extra: Sequence[str] = ()) -> Job:
        """Refit a Whisper encoder head on cached features into ``store`` (never promoted);
        see ``python -m train.encoder.retrain``. The first run on a corpus encodes every clip once."""
        args, params = job_commands.encoder_head_job(corpus, store, candidate)
        return self.start_module("encoder", "train.encoder.retrain", [*args, *extra], params)

    def start_tune(self, corpus: str | Path, budget_minutes: float, base: TrainConfig | None = None,
                   max_trials: int = 20, extra: Sequence[str] = (),
                   prepare_dataset: str | Path | None = None) -> Job:
        """Random hyper-parameter search bounded by ``budget_minutes``; see ``python -m train.tune``.

        It writes no model version: its ``best_config.json`` (in the job folder) is
        trained afterwards with :meth:`start_fit`.
        """
        args, params = job_commands.tune_job(corpus, budget_minutes, base or TrainConfig(), max_trials,
                                             prepare_dataset)
        return self.start_module("tune", "train.tune", [*args, *extra], params, prepare_dataset)

    def start_rescore(self, model: str, corpus: str | Path, store: str | Path) -> Job:
        """Re-score a stored version on ``corpus``'s test split (no retraining); see ``python -m train.evaluate``."""
        args, params = job_commands.rescore_job(model, corpus, store)
        return self.start_module("rescore", "train.evaluate", args, params)

    def start_corpus(self, out: str | Path, size: str) -> Job:
        """Build (or resume) the built-in corpus of ``size`` into ``out``."""
        command, params = job_commands.corpus_job(out, size)
        return self.start("corpus", command, params)

    # Inspect ------------------------------------------------------------------
    def jobs(self, limit: int = 50) -> list[Job]:
        """Recorded jobs, newest first (ids start with a timestamp)."""
        return list_jobs(self.root, limit)

    def get(self, job_id: str) -> Job:
        if not re.fullmatch(_SAFE_NAME, job_id) or job_id.startswith("."):
            raise KeyError(job_id)
        return Job.load(self.root / job_id)

    def status(self, job: Job | str) -> JobStatus:
        """Derive the job's state from its last terminal event and whether its process lives."""
        job = self.get(job) if isinstance(job, str) else job
        alive = pid_alive(job.pid, job.start_time)
        events = read_events(job.progress_path)
        status = derive_status(job, events, alive, (job.folder / CANCEL_FILE).exists())
        if not alive and not any(e.get("event") in TERMINAL_EVENTS for e in events):
            self._discard_partial_version(job, events)
        return status

    @staticmethod
    def _discard_partial_version(job: Job, events: list[dict[str, Any]]) -> None:
        """Remove the ``.tmp-<version>`` folder a killed fit left while exporting (train.fit cleans it up
        itself on any exception, but SIGKILL gives it no chance). The store ignores dot-folders anyway."""
        name = next((e.get("version") for e in reversed(events) if e.get("event") in ("export", "evaluate")), None)
        store = job.params.get("store")
        if job.kind in ("fit", "encoder") and store and isinstance(name, str) and re.fullmatch(_SAFE_NAME, name):
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
        (job.folder / CANCEL_FILE).write_text(now_iso())
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
