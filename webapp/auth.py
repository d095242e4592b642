"""Admin password check with a server-wide lock-out, free of any Streamlit import.

The password comes from the environment (``DETECTOR_ADMIN_PASSWORD``) or from
Streamlit's secrets (key ``admin_password``); the page reads ``st.secrets`` and
passes the mapping in, so this module can be tested and reused without a UI.
With no password configured, or one that breaks the rule of :func:`password_problem`
(NFKC-normalised: at least :data:`MIN_PASSWORD_LENGTH` characters, at least
:data:`MIN_DISTINCT_CHARACTERS` different ones, no invisible or control characters, not
whitespace only), admin is disabled (never "open by default") and :func:`disabled_reason`
says why.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping

ENV_VAR = "DETECTOR_ADMIN_PASSWORD"
SECRET_KEY = "admin_password"
MAX_FAILURES = 5        # wrong passwords from one client before it is locked out
LOCKOUT_S = 60.0        # the first lock-out; each further failure doubles it
MAX_LOCKOUT_S = 3600.0  # ... up to this
GLOBAL_FREE_FAILURES = 20   # failures from all clients together within GLOBAL_WINDOW_S before all are locked
GLOBAL_WINDOW_S = 3600.0
MAX_TRACKED_CLIENTS = 10_000
FORGET_AFTER_S = 86_400.0   # a client's failures older than this no longer count
MIN_PASSWORD_LENGTH = 12
MIN_DISTINCT_CHARACTERS = 8   # "aaaaaaaaaaaa" and 11 spaces plus an "a" are long enough, and guessed at once
# Unicode categories nobody can see or type on purpose: controls, formats (zero-width space and joiners,
# direction marks), line and paragraph separators, private use, surrogates and unassigned code points.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
PASSWORD_RULE = (f"at least {MIN_PASSWORD_LENGTH} characters, at least {MIN_DISTINCT_CHARACTERS} of them different, "
                 "with no invisible or control characters and not only spaces")

ENABLE_HELP = (
    "Admin is disabled because no admin password is configured. To enable it, either set the "
    f"environment variable `{ENV_VAR}` ({PASSWORD_RULE}) before starting the app:\n\n"
    f"```\n{ENV_VAR}='a long random passphrase' streamlit run app.py\n```\n\n"
    f"or add it to `.streamlit/secrets.toml` (keep that file out of version control):\n\n"
    f"```toml\n{SECRET_KEY} = \"a long random passphrase\"\n```"
)


def _raw_password(secrets: Mapping[str, Any] | None, environ: Mapping[str, str] | None) -> str | None:
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


def normalise(password: str) -> str:
    """The NFKC form: a full-width or composed character and its plain equivalent are the same password."""
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str) -> str | None:
    """Why ``password`` (already :func:`normalise`-d) cannot enable admin, or ``None`` when it can.

    Raises
    ------
    TypeError
        When ``password`` is not a string.
    """
    if not isinstance(password, str):
        raise TypeError("the password must be a string")
    invisible = sorted({f"U+{ord(c):04X}" for c in password if unicodedata.category(c) in INVISIBLE_CATEGORIES})
    if invisible:
        return f"it contains invisible or control characters ({', '.join(invisible[:5])})"
    if not password.strip():
        return "it is only spaces"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"it is too short ({len(password)} character{'s' if len(password) != 1 else ''})"
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return f"it has too few different characters ({len(set(password))})"
    return None


def configured_password(secrets: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The admin password (NFKC-normalised), or ``None`` when admin is not enabled.

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
        variable never turns into "any empty password logs in"; a password that breaks
        the rule of :func:`password_problem` leaves admin disabled too.
    """
    value = _raw_password(secrets, environ)
    if value is None:
        return None
    value = normalise(value)
    return value if password_problem(value) is None else None


def disabled_reason(secrets: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Why admin is disabled and how to enable it (Markdown), for the page to show."""
    value = _raw_password(secrets, environ)
    problem = password_problem(normalise(value)) if value is not None else None
    if problem is None:
        return ENABLE_HELP
    return (f"Admin is disabled because the configured admin password cannot be used: {problem}. It needs "
            f"{PASSWORD_RULE}, so it cannot be guessed. Set another one:\n\n" + ENABLE_HELP.split(":\n\n", 1)[1])


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of the NFKC forms (no early exit that leaks how many characters matched)."""
    return hmac.compare_digest(normalise(given).encode("utf-8"), normalise(expected).encode("utf-8"))


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
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    """Failed admin logins counted in the server process, per client address and over all clients.

    A session-held counter resets when the page is reloaded; this one lives as long
    as the server, so reloads and new tabs change nothing. Per client, the first
    ``free_failures - 1`` wrong passwords cost nothing; from then on every wrong
    password locks that client out for ``base_delay_s``, doubling each time up to
    ``max_delay_s``. Over all clients, more than ``global_free`` failures within
    ``global_window_s`` lock everyone out the same growing way, so spreading guesses
    over many addresses does not help either (at the price that an attacker can
    delay the real admin: the lock-outs end on their own). Thread-safe; the clock
    is injectable for tests.
    """

    def __init__(self, free_failures: int = MAX_FAILURES, base_delay_s: float = LOCKOUT_S,
                 max_delay_s: float = MAX_LOCKOUT_S, global_free: int = GLOBAL_FREE_FAILURES,
                 global_window_s: float = GLOBAL_WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.global_free = global_free
        self.global_window_s = global_window_s
        self.clock = clock
        self._clients: OrderedDict[str, _Failures] = OrderedDict()
        self._global = _Failures()
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every failure (tests; a server restart does the same)."""
        with self._lock:
            self._clients.clear()
            self._recent.clear()
            self._global = _Failures()

    def _delay(self, failures: int, free: int) -> float:
        excess = failures - free
        return 0.0 if excess < 0 else min(self.max_delay_s, self.base_delay_s * 2.0 ** min(excess, 30))

    def locked_for(self, client: str | None) -> float:
        """Seconds this client must still wait before its next attempt (0 when it may try)."""
        with self._lock:
            now = self.clock()
            record = self._clients.get(_client_key(client))
            mine = record.locked_until - now if record else 0.0
            return max(0.0, mine, self._global.locked_until - now)

    def attempt(self, client: str | None, given: str, expected: str) -> LoginResult:
        """Check ``given`` unless ``client`` (or everyone) is locked out; count and delay failures."""
        client = _client_key(client)
        if not given:
            return LoginResult(False, "Enter the admin password.")   # an empty submit is no guess
        remaining = self.locked_for(client)
        if remaining > 0:
            # Even the right password is refused while locked, so guessing cannot continue.
            return LoginResult(False, f"Too many failed attempts; try again in {remaining:.0f} s.", remaining)
        if password_matches(given, expected):
            with self._lock:
                self._clients.pop(client, None)
            return LoginResult(True, "Logged in.")
        return self._fail(client)

    def _fail(self, client: str) -> LoginResult:
        with self._lock:
            now = self.clock()
            record = self._clients.pop(client, None) or _Failures()
            if now - record.last > FORGET_AFTER_S:
                record.count = 0
            record.count, record.last = record.count + 1, now
            record.locked_until = now + self._delay(record.count, self.free_failures)
            self._clients[client] = record   # newest last: the oldest client is forgotten first
            while len(self._clients) > MAX_TRACKED_CLIENTS:
                self._clients.popitem(last=False)
            self._recent.append(now)
            while self._recent and self._recent[0] < now - self.global_window_s:
                self._recent.popleft()
            global_delay = self._delay(len(self._recent), self.global_free + 1)
            if global_delay:
                self._global.locked_until = max(self._global.locked_until, now + global_delay)
            wait = max(record.locked_until, self._global.locked_until) - now
        if wait > 0:
            return LoginResult(False, f"Wrong password. Too many failed attempts; locked for {wait:.0f} s.", wait)
        left = self.free_failures - record.count
        return LoginResult(False, f"Wrong password ({left} attempt{'s' if left != 1 else ''} left before a lock-out).")


def _client_key(client: object) -> str:
    # Streamlit gives None for localhost (and tests give stand-ins): those share one bucket.
    return client if isinstance(client, str) and client else "local"


# One per server process: every session and tab of the app shares it.
THROTTLE = LoginThrottle()
