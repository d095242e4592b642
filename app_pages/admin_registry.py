"""Admin: the model registry table with promote, roll back, delete and the model card download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from detector.errors import ModelError
from detector.registry import ModelRegistry
from app_pages._shared import get_service
from app_pages.admin_results import pct


def promote(registry: ModelRegistry, name: str) -> None:
    try:
        registry.promote(name)
    except ModelError as exc:
        st.error(str(exc))
        return
    st.session_state["admin_notice"] = f"Promoted {name}."
    st.rerun()


def registry_section(registry: ModelRegistry) -> None:
    """Every version with date, data and test EER; promote, roll back, delete, download the card."""
    st.subheader("Model registry")
    active = registry.active_name()
    try:
        served = get_service().get().name   # what Detect serves right now (reloads after a promotion)
        st.caption(f"Store `{registry.root}` — the Detect page serves **{served}**.")
    except ModelError as exc:
        st.caption(f"Store `{registry.root}` — no model served: {exc}")
    rows, loaded = [], {}
    for name in registry.versions():
        try:
            version = loaded[name] = registry.load(name)
        except ModelError as exc:
            rows.append({"version": name, "active": "", "created": "", "data": "", "test EER": str(exc)})
            continue
        rows.append({"version": name, "active": "✅" if name == active else "", "created": version.created[:19],
                     "data": str(version.metrics.get("corpus", "")), "test EER": pct(version.test_eer)})
    if not rows:
        st.info("The store holds no model version yet; train one above.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="registry_table")
    name = st.selectbox("Version", [r["version"] for r in rows], key="registry_pick")
    c1, c2, c3, c4 = st.columns(4)
    if c1.button("Promote", key="promote", disabled=name == active or name not in loaded):
        promote(registry, name)
    if c2.button("Roll back", key="rollback"):
        try:
            st.session_state["admin_notice"] = f"Rolled back to {registry.rollback()}."
            st.rerun()
        except ModelError as exc:
            st.error(str(exc))
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
