"""Admin login: failures counted by the server, not the session (issue 17 items 2-3)."""

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
    MIN_PASSWORD_LENGTH,
    LoginThrottle,
    configured_password,
    disabled_reason,
)

pytestmark = pytest.mark.usefixtures("fresh_throttle")


@pytest.fixture
def admin_env(tmp_path, monkeypatch):
    return set_admin_env(monkeypatch, tmp_path, tmp_path / "empty_store")


# Item 2 -----------------------------------------------------------------------------------------
def test_a_reload_or_new_tab_does_not_reset_the_lock_out(admin_env):
    at = admin_app().run()
    for _ in range(MAX_FAILURES):
        at = login(at, "wrong")
    assert any("locked" in e for e in texts(at, "error"))
    reloaded = admin_app().run()   # a new session: what a reload or a second tab gets
    assert any("Too many failed attempts" in w for w in texts(reloaded, "warning"))
    reloaded = login(reloaded, PASSWORD)
    assert "Log out" not in labels(reloaded)
    assert any("Too many failed attempts" in e for e in texts(reloaded, "error"))


def test_thirty_two_quick_guesses_get_only_a_few_checks():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    checked = 0
    for guess in range(32):   # 32 guesses in 30 s from one client, as in the probe
        result = throttle.attempt("203.0.113.5", f"guess-{guess}", PASSWORD)
        checked += "Too many failed attempts; try again" not in result.message
        clock.now += 30 / 32
    assert checked == MAX_FAILURES


def test_delays_grow_with_each_failure_after_a_lock_out():
    clock = Clock()
    throttle = LoginThrottle(clock=clock, base_delay_s=60, max_delay_s=600)
    delays = []
    for _ in range(MAX_FAILURES + 4):
        result = throttle.attempt("203.0.113.5", "wrong", PASSWORD)
        delays.append(result.locked_for_s)
        clock.now += result.locked_for_s + 0.1   # wait out each lock-out, then guess again
    assert delays[:MAX_FAILURES - 1] == [0] * (MAX_FAILURES - 1)
    assert delays[MAX_FAILURES - 1:] == [60, 120, 240, 480, 600]
    assert throttle.attempt("203.0.113.5", PASSWORD, PASSWORD).ok   # the right one after the wait
    assert throttle.attempt("203.0.113.5", "wrong", PASSWORD).locked_for_s == 0   # success forgave the count


def test_guesses_spread_over_many_addresses_lock_everyone():
    clock = Clock()
    throttle = LoginThrottle(clock=clock, global_free=20)
    for address in range(20):
        assert throttle.attempt(f"198.51.100.{address}", "wrong", PASSWORD).locked_for_s == 0
    assert throttle.attempt("198.51.100.99", "wrong", PASSWORD).locked_for_s > 0
    assert throttle.locked_for("192.0.2.1") > 0   # an address that never failed waits too
    clock.now += 3600 * 2
    assert throttle.attempt("192.0.2.1", PASSWORD, PASSWORD).ok


def test_an_empty_password_is_not_a_guess():
    throttle = LoginThrottle(clock=Clock())
    for _ in range(MAX_FAILURES * 2):
        assert throttle.attempt("203.0.113.5", "", PASSWORD).message == "Enter the admin password."
    assert throttle.attempt("203.0.113.5", PASSWORD, PASSWORD).ok


# Item 3 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("weak", ["a", "hunter2", "x" * (MIN_PASSWORD_LENGTH - 1)])
def test_a_short_password_leaves_admin_disabled_with_the_reason(weak):
    assert configured_password({}, environ={ENV_VAR: weak}) is None
    assert configured_password({"admin_password": weak}, environ={}) is None
    reason = disabled_reason({}, environ={ENV_VAR: weak})
    assert "too short" in reason and f"at least {MIN_PASSWORD_LENGTH}" in reason
    assert "hunter2" not in reason   # the page never echoes the configured password
    assert configured_password({}, environ={ENV_VAR: "abcdefgh" * 2}) == "abcdefgh" * 2


# Issue 26, item 6: NFKC, no invisible characters, not whitespace only, 12 characters of which 8 differ -----
@pytest.mark.parametrize(("weak", "words"), [
    ("\u200b" * 12, "invisible or control characters (U+200B)"),        # twelve zero-width spaces
    (" " * 11 + "a", "too few different characters (2)"),               # eleven spaces and an a
    ("x" * MIN_PASSWORD_LENGTH, "too few different characters (1)"),
    ("abcdefg" * 2, "too few different characters (7)"),
    ("abcdefgh\u200dijkl", "invisible or control characters (U+200D)"),  # a zero-width joiner inside
    ("abcdefgh\x00ijkl", "invisible or control characters (U+0000)"),
    ("\u3000" * 12, "only spaces"),                                    # ideographic spaces: NFKC makes them spaces
    ("ｘ" * 12, "too few different characters (1)"),                    # full-width x: NFKC makes it x
])
def test_a_weak_or_invisible_password_leaves_admin_disabled(weak, words):
    assert configured_password({}, environ={ENV_VAR: weak}) is None
    reason = disabled_reason({}, environ={ENV_VAR: weak})
    assert words in reason and f"at least {MIN_PASSWORD_LENGTH} characters" in reason and "8 of them" in reason


def test_the_password_is_compared_in_its_nfkc_form():
    full_width = "ｃｏｒｒｅｃｔ ｈｏｒｓｅ"
    assert configured_password({}, environ={ENV_VAR: full_width}) == "correct horse"
    throttle = LoginThrottle()
    assert throttle.attempt("203.0.113.9", "correct horse", configured_password({}, environ={ENV_VAR: full_width})).ok
    assert throttle.attempt("203.0.113.9", full_width, "correct horse").ok
    assert not throttle.attempt("203.0.113.9", "correct horse\u200b", "correct horse").ok


def test_the_page_explains_a_too_short_password(admin_env, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "a")
    at = admin_app().run()
    assert not at.exception
    assert any("too short" in i for i in texts(at, "info"))
    assert labels(at) == [] and len(at.text_input) == 0   # no login form: admin is off


def test_old_failures_are_forgotten_after_a_day():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(MAX_FAILURES - 1):
        throttle.attempt("203.0.113.5", "wrong", PASSWORD)
    clock.now += 2 * 86_400
    result = throttle.attempt("203.0.113.5", "wrong", PASSWORD)
    assert result.locked_for_s == 0 and f"{MAX_FAILURES - 1} attempts left" in result.message
