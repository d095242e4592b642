"""Admin access: no password configured, wrong password, lock-out, right password, log-out."""

from __future__ import annotations

import pytest
from admin_helpers import (
    PASSWORD,
    Clock,
    admin_app,
    fresh_throttle,  # noqa: F401 (a fixture, used through pytestmark)
    labels,
    login,
    set_admin_env,
    texts,
)

from webapp.auth import (
    ENV_VAR,
    MAX_FAILURES,
    THROTTLE,
    LoginThrottle,
    configured_password,
    password_matches,
    session_token,
)

pytestmark = pytest.mark.usefixtures("fresh_throttle")


@pytest.fixture
def admin_env(tmp_path, monkeypatch):
    return set_admin_env(monkeypatch, tmp_path, tmp_path / "empty_store", password=None)   # no model, admin off


# Module ---------------------------------------------------------------------
class Broken:
    def get(self, key):
        raise FileNotFoundError("no secrets.toml")


LONG_SECRET, LONG_ENV = "secret from toml", "secret from env"


def test_configured_password_sources():
    assert configured_password({"admin_password": LONG_SECRET}, environ={}) == LONG_SECRET
    assert configured_password({"admin_password": LONG_SECRET}, environ={ENV_VAR: LONG_ENV}) == LONG_ENV  # env wins
    assert configured_password({}, environ={ENV_VAR: "   "}) is None                          # blank = off
    assert configured_password({"admin_password": ""}, environ={}) is None
    assert configured_password(Broken(), environ={}) is None
    assert configured_password(None, environ={}) is None


def test_password_matches_exactly():
    assert password_matches("pässwort", "pässwort")
    assert not password_matches("pässwort ", "pässwort")
    assert not password_matches("", "x")


def test_session_token_is_keyed_and_not_the_password():
    token = session_token("hunter2")
    assert token == session_token("hunter2") != session_token("hunter3")
    assert "hunter2" not in token and len(token) == 64


def test_guard_locks_out_then_recovers():
    clock = Clock()
    guard = LoginThrottle(clock=clock)
    for attempt in range(1, MAX_FAILURES):
        result = guard.attempt("1.2.3.4", "nope", "right")
        assert not result.ok and "attempt" in result.message and result.locked_for_s == 0
    result = guard.attempt("1.2.3.4", "nope", "right")
    assert not result.ok and result.locked_for_s == guard.base_delay_s
    refused = guard.attempt("1.2.3.4", "right", "right")
    assert not refused.ok and "Too many failed attempts" in refused.message   # locked: even the right one
    clock.now += guard.base_delay_s - 1
    assert not guard.attempt("1.2.3.4", "right", "right").ok
    clock.now += 2
    assert guard.locked_for("1.2.3.4") == 0
    assert guard.attempt("1.2.3.4", "right", "right").ok


# Page -----------------------------------------------------------------------
def test_without_a_password_only_explains_how_to_enable(admin_env):
    at = admin_app().run()
    assert not at.exception
    help_text = " ".join(texts(at, "info"))
    assert ENV_VAR in help_text and "secrets.toml" in help_text
    assert labels(at) == [] and len(at.text_input) == 0
    assert len(at.dataframe) == 0 and len(at.get("plotly_chart")) == 0
    assert not any("registry" in t.lower() for t in texts(at, "subheader"))


def test_wrong_password_is_refused(admin_env, monkeypatch):
    monkeypatch.setenv(ENV_VAR, PASSWORD)
    at = login(admin_app().run(), "wrong")
    assert any("Wrong password" in e for e in texts(at, "error"))
    assert "Log out" not in labels(at) and "Start training" not in labels(at)


def test_lock_out_after_repeated_failures(admin_env, monkeypatch):
    monkeypatch.setenv(ENV_VAR, PASSWORD)
    at = admin_app().run()
    for _ in range(MAX_FAILURES):
        at = login(at, "wrong")
    assert any("locked" in e for e in texts(at, "error"))
    at = login(at, PASSWORD)
    assert any("Too many failed attempts" in e for e in texts(at, "error"))
    assert "Log out" not in labels(at)
    THROTTLE.reset()   # the lock-out has expired
    at = login(at, PASSWORD)
    assert "Log out" in labels(at)


def test_right_password_logs_in_and_log_out_works(admin_env, monkeypatch):
    monkeypatch.setenv(ENV_VAR, PASSWORD)
    at = login(admin_app().run())
    assert not at.exception
    assert "Log out" in labels(at) and "Start training" in labels(at)
    assert any("no model version" in i for i in texts(at, "info"))   # the registry section is shown
    assert PASSWORD not in repr(at.session_state)                       # the password is not kept in the session
    at.button(key="logout").click()
    at.run()
    assert "Log out" not in labels(at) and "Log in" in labels(at)


def test_password_from_streamlit_secrets_and_change_ends_session(admin_env, monkeypatch):
    at = admin_app()
    at.secrets["admin_password"] = LONG_SECRET
    at = login(at.run(), LONG_SECRET)
    assert "Log out" in labels(at)
    monkeypatch.setenv(ENV_VAR, "rotated, and long enough")   # a new password invalidates existing sessions
    at.run()
    assert "Log out" not in labels(at) and "Log in" in labels(at)
