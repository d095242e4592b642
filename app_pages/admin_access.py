"""Admin login gate: the password check itself is in :mod:`webapp.auth`; this is its Streamlit form."""

from __future__ import annotations

import streamlit as st

from webapp.auth import THROTTLE, configured_password, disabled_reason, session_token


def _secrets():
    """The app's secrets, or None without a secrets.toml."""
    try:
        return st.secrets
    except Exception:  # no secrets.toml at all
        return None


def require_admin() -> bool:
    """Login gate; True when this session is logged in. Shows only the enable-help without a password."""
    expected = configured_password(_secrets())
    if expected is None:
        st.info(disabled_reason(_secrets()))   # no password, or one too short to enable admin
        return False
    if st.session_state.get("admin_ok") == session_token(expected):
        return True
    # Failures are counted by the server per client address (and over all clients): reloads reset nothing.
    client = st.context.ip_address
    with st.form("admin_login", clear_on_submit=True):   # clear: the password does not linger in the session
        given = st.text_input("Admin password", type="password", key="admin_password_input")
        submitted = st.form_submit_button("Log in")
    if submitted and not given:
        # Pressing "Log in" with an empty box is a slip, not a guess: it must not use up an attempt.
        st.warning("Type the admin password first.")
    elif submitted:
        result = THROTTLE.attempt(client, given, expected)
        if result.ok:
            st.session_state["admin_ok"] = session_token(expected)
            st.rerun()
        st.error(result.message)
    elif (wait := THROTTLE.locked_for(client)) > 0:
        st.warning(f"Too many failed attempts; try again in {wait:.0f} s.")
    return False
