"""Admin: the model registry table with promote, roll back, delete and the model card download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._shared import get_service
from app_pages.admin_results import active_or_none
from detector import trust
from detector.errors import ModelError
from detector.registry import ModelRegistry
from webapp.admin_tables import incomparable_note, registry_row
from webapp.jobs import JobBusy, JobManager

# The registry action waiting for a "yes": (action, version, where the button was), action "promote"/"rollback".
CONFIRM_KEY = "admin_confirm"


def ask_to_confirm(action: str, name: str, origin: str) -> None:
    """Promote and roll back change what every visitor is served: they wait for a confirmation,
    shown next to the button that asked (``origin``)."""
    st.session_state[CONFIRM_KEY] = (action, name, origin)
    st.rerun()


def confirm_pending(registry: ModelRegistry, origin: str) -> None:
    """The pending promote or roll back, with "yes" and "cancel" buttons; nothing happens until "yes"."""
    pending = st.session_state.get(CONFIRM_KEY)
    if pending is None or pending[2] != origin:
        return
    action, name, _ = pending
    with st.container(border=True):
        if action == "promote":
            st.warning(f"Promote **{name}**? The Detect, Batch and Learn pages will serve it to every visitor "
                       f"from their next analysis.", icon=":material/published_with_changes:")
        else:
            st.warning(f"Roll back from **{name}** to the version that was active before it? Every visitor "
                       "will be served that version.", icon=":material/undo:")
        yes, cancel = st.columns(2)
        confirmed = yes.button(f"Yes, {'promote' if action == 'promote' else 'roll back'}", type="primary",
                               key="confirm_yes")
        if cancel.button("Cancel", key="confirm_cancel"):
            st.session_state.pop(CONFIRM_KEY, None)
            st.rerun()
    if not confirmed:
        return
    st.session_state.pop(CONFIRM_KEY, None)
    if action == "promote":
        promote(registry, name)
        return
    try:
        st.session_state["admin_notice"] = f"Rolled back to {trust.rollback(registry)}."
        st.rerun()
    except ModelError as exc:
        st.error(str(exc))


def promote(registry: ModelRegistry, name: str) -> None:
    """Make ``name`` the active version (only called once the admin has confirmed)."""
    try:
        trust.promote(registry, name)
    except ModelError as exc:
        st.error(str(exc))
        return
    st.session_state["admin_notice"] = f"Promoted {name}."
    st.rerun()


def rescore_button(manager: JobManager, registry: ModelRegistry, name: str, corpus: str | None, busy: bool) -> None:
    """Re-score the picked version on the chosen corpus's test split, as a background job like training."""
    if corpus is None:
        st.caption("Choose a built corpus above to re-score a version on its test split.")
        return
    if st.button(f"Re-score {name} on {corpus}", key="rescore", disabled=busy,
                 help="Scores the version's test figures again on this corpus's test split (no retraining), so "
                      "versions trained on different corpora can be compared like with like. Runs as a job."):
        try:
            manager.start_rescore(name, corpus, str(registry.root))
            st.rerun()
        except JobBusy as exc:
            st.error(str(exc))


def registry_section(registry: ModelRegistry, manager: JobManager | None = None, corpus: str | None = None,
                     busy: bool = False) -> str | None:
    """Every version with date, test EER and the corpus it was measured on; promote, roll back, delete,
    download the card, re-score on the chosen corpus (with ``manager``).

    Returns the version picked (the active one unless the admin picks another), for its evaluation.
    """
    st.subheader("Model registry")
    active = active_or_none(registry, show_error=True)
    try:
        service = get_service()
        served = service.get().name   # what Detect serves right now (reloads after a promotion)
        st.caption(f"Store `{registry.root}` — the Detect page serves **{served}**.")
        if service.last_error:   # a fallback: which version failed, and why
            st.warning(service.last_error, icon=":material/report:")
    except ModelError as exc:
        st.caption(f"Store `{registry.root}` — no model served: {exc}")
    rows, loaded = [], {}
    for name in registry.versions():
        try:
            version = loaded[name] = trust.check(registry, name)   # builds the model: a broken one shows as broken
        except ModelError as exc:
            rows.append({"version": name, "active": "", "created": "", "test EER": str(exc), "measured on": ""})
            continue
        rows.append(registry_row(version, active))
    if not rows:
        st.info("The store holds no model version yet; train one above.")
        return None
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="registry_table")
    stray = registry.stray_folders()
    if stray:   # names shown as plain text (st.code): they may hold Markdown or direction overrides
        st.warning(f"{len(stray)} folder{'s' if len(stray) > 1 else ''} in the model store "
                   f"{'are' if len(stray) > 1 else 'is'} not {'versions' if len(stray) > 1 else 'a version'}: a "
                   "version's name uses only letters, digits, '.', '_' and '-', so these are never loaded or served. "
                   "Rename or remove them:", icon=":material/folder_off:")
        st.code("\n".join(ascii(n)[1:-1] for n in stray), language=None)
    note = incomparable_note(rows)
    if note:
        st.warning(note, icon=":material/compare_arrows:")
    names = [r["version"] for r in rows]
    name = st.selectbox("Version", names, index=names.index(active) if active in names else 0, key="registry_pick")
    c1, c2, c3, c4 = st.columns(4)
    if c1.button("Promote", key="promote", disabled=name == active or name not in loaded):
        ask_to_confirm("promote", name, "registry")
    if c2.button("Roll back", key="rollback", disabled=active is None):
        ask_to_confirm("rollback", active, "registry")
    sure = c3.checkbox("Really delete", key="confirm_delete", disabled=name == active)
    if c3.button("Delete", key="delete", disabled=name == active or not sure):
        try:
            registry.delete(name)
            st.session_state["admin_notice"] = f"Deleted {name}."
            st.rerun()
        except ModelError as exc:
            st.error(str(exc))
    if name in loaded:
        c4.download_button("Download card", loaded[name].card, file_name=f"{name}-card.md", mime="text/markdown",
                           key="download_card")
    confirm_pending(registry, "registry")
    if manager is not None and name in loaded:
        rescore_button(manager, registry, name, corpus, busy)
    return name
