"""Process checks for the job supervisor: is a PID still the job we launched, and launching one.

A job runs in its own session (``start_new_session=True``) so it survives page
reloads and app restarts; whether it still runs is always asked of the system,
with the PID's start time guarding against PID reuse. Linux ``/proc`` is used
where present. No TensorFlow here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Sequence

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


def spawn(argv: Sequence[str], folder: Path, cwd: Path, env: dict[str, str]) -> tuple[int, int | None]:
    """Start ``argv`` in its own session with output in ``folder/stdout.log`` and ``stderr.log``.

    Returns
    -------
    (int, int or None)
        The PID and its start time (see :func:`process_start_time`).
    """
    with open(folder / "stdout.log", "wb") as out, open(folder / "stderr.log", "wb") as err:
        process = subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   env=env, start_new_session=True, close_fds=True)
    _CHILDREN[process.pid] = process
    return process.pid, process_start_time(process.pid)
