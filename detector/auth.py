"""Admin password check with a per-session lock-out, free of any Streamlit import.

The password comes from the environment (``DETECTOR_ADMIN_PASSWORD``) or from
Streamlit's secrets (key ``admin_password``); the page reads ``st.secrets`` and
passes the mapping in, so this module can be tested and reused without a UI.
With no password configured, admin is disabled (never "open by default").
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

ENV_VAR = "DETECTOR_ADMIN_PASSWORD"
SECRET_KEY = "admin_password"
MAX_FAILURES = 5        # wrong passwords in a row before the session is locked out
LOCKOUT_S = 60.0        # how long a locked-out session must wait

ENABLE_HELP = (
    "Admin is disabled because no admin password is configured. To enable it, either set the "
    f"environment variable `{ENV_VAR}` before starting the app:\n\n"
    f"```\n{ENV_VAR}='a long random passphrase' streamlit run app.py\n```\n\n"
    f"or add it to `.streamlit/secrets.toml` (keep that file out of version control):\n\n"
    f"```toml\n{SECRET_KEY} = \"a long random passphrase\"\n```"
)


def configured_password(secrets: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The admin password, or ``None`` when admin is not enabled.

    Parameters
    ----------
    secrets : mapping, optional
        ``st.secrets`` (or any mapping); consulted when the environment has none.
    environ : mapping, optional
        Defaults to ``os.environ``.

    Returns
    -------
    str or None
        An empty or whitespace-only value counts as not configured, so a blank
        variable never turns into "any empty password logs in".
    """
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_VAR)
    if not (value and value.strip()) and secrets is not None:
        try:
            value = secrets.get(SECRET_KEY)
        except Exception:  # a missing or unparsable secrets.toml must not crash the page
            value = None
    if not isinstance(value, str) or not value.strip():
        return None
    return value


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (no early exit that leaks how many characters matched)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


_PROCESS_KEY = secrets.token_bytes(32)   # new on every server start: a restart ends all admin sessions


def session_token(password: str) -> str:
    """What a logged-in session keeps instead of the password.

    Keyed with a per-process secret, so the token cannot be used to guess the
    password offline, and a changed password no longer matches old tokens.
    """
    return hmac.new(_PROCESS_KEY, password.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class LoginResult:
    """Outcome of one login attempt."""

    ok: bool
    message: str
    locked_for_s: float = 0.0


@dataclass
class LoginGuard:
    """Counts failed attempts of one session and locks it out for a while after too many.

    Kept in ``st.session_state`` by the page. The clock is injectable for tests.
    """

    max_failures: int = MAX_FAILURES
    lockout_s: float = LOCKOUT_S
    failures: int = 0
    locked_until: float = 0.0
    clock: Callable[[], float] = time.monotonic

    def locked_for(self) -> float:
        """Seconds left of the current lock-out (0 when not locked)."""
        return max(0.0, self.locked_until - self.clock())

    def attempt(self, given: str, expected: str) -> LoginResult:
        """Check ``given`` unless locked out; count failures and lock after ``max_failures``."""
        remaining = self.locked_for()
        if remaining > 0:
            # Even the right password is refused while locked, so guessing cannot continue.
            return LoginResult(False, f"Too many failed attempts; try again in {remaining:.0f} s.", remaining)
        if password_matches(given or "", expected):
            self.failures = 0
            return LoginResult(True, "Logged in.")
        self.failures += 1
        if self.failures >= self.max_failures:
            self.failures = 0
            self.locked_until = self.clock() + self.lockout_s
            return LoginResult(False, f"Wrong password. Too many failed attempts; locked for {self.lockout_s:.0f} s.",
                               self.lockout_s)
        left = self.max_failures - self.failures
        return LoginResult(False, f"Wrong password ({left} attempt{'s' if left != 1 else ''} left before a lock-out).")
