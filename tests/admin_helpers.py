"""Helpers shared by the admin-page tests (AppTest on ``app_pages/admin.py``)."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from streamlit.testing.v1 import AppTest

from webapp.auth import ENV_VAR, THROTTLE

REPO = Path(__file__).resolve().parent.parent
PAGE = str(REPO / "app_pages" / "admin.py")
PASSWORD = "correct horse battery staple"

# The repository root and tests/ are on sys.path through pyproject's pytest ``pythonpath``; a
# subprocess gets them from ``cli_helpers.subprocess_env`` (PYTHONPATH).


def set_admin_env(monkeypatch, tmp_path: Path, store: Path, password: str | None = PASSWORD) -> Path:
    """Point the admin page at ``store`` and at fresh job and data folders under ``tmp_path``.

    ``password=None`` leaves the admin password unset (admin off).
    """
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(store))
    monkeypatch.setenv("DETECTOR_JOBS_ROOT", str(tmp_path / "jobs"))
    monkeypatch.setenv("DETECTOR_DATA_ROOT", str(tmp_path / "data"))
    if password is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, password)
    return tmp_path


@pytest.fixture
def fresh_throttle():
    """The login throttle lives as long as the server process: tests must not inherit each other's failures.

    Modules that need it import it and mark it autouse with ``pytestmark``.
    """
    THROTTLE.reset()
    yield
    THROTTLE.reset()


class Clock:
    """A settable clock for the login throttle."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admin_app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def login(at: AppTest, password: str = PASSWORD) -> AppTest:
    """Submit the login form once (the app must already have run)."""
    at.text_input(key="admin_password_input").input(password)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def chart_titles(at: AppTest) -> list[str]:
    """Titles of every plotly chart on the page (read from the figure JSON the page sent)."""
    titles = []
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        title = figure.get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s")


# A stand-in for train.fit: writes progress lines like it, then behaves as ``mode`` says.
FAKE_JOB = textwrap.dedent('''
    import json, os, signal, sys, time
    from pathlib import Path
    run_dir = Path(sys.argv[sys.argv.index("--run-dir") + 1])
    mode = sys.argv[sys.argv.index("--mode") + 1]
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 3
    def event(name, **fields):
        with open(run_dir / "progress.jsonl", "a") as handle:
            handle.write(json.dumps({"event": name, **fields}) + "\\n")
    if mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    event("start", arch="fake")
    temp = run_dir / "half-written"
    temp.write_text("x")
    try:
        for step in range(1, steps + 1):
            event("step", epoch=1, epochs=1, step=step, steps_per_epoch=steps, loss=1.0 / step, accuracy=0.5,
                  val_eer=None, elapsed_s=step * 0.05, eta_s=(steps - step) * 0.05)
            time.sleep(0.05)
        event("epoch", epoch=1, epochs=1, step=steps, steps_per_epoch=steps, loss=0.2, accuracy=0.9, val_eer=0.1,
              elapsed_s=1.0, eta_s=0.0)
        if mode in ("sleep", "ignore-term"):
            time.sleep(120)
        if mode == "crash":
            raise RuntimeError("boom")
        if mode == "exit3":
            sys.exit(3)
        if mode == "finish":
            event("done", version="fake-version")
    finally:
        temp.unlink()   # like train.fit removing its temporary version folder
''')


def table_with(at: AppTest, column: str):
    """The first dataframe on the page that has ``column`` (dataframes cannot be looked up by key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)
