"""Admin: the form that refits a Whisper encoder head, the kind of model the app ships."""

from __future__ import annotations

import streamlit as st

from app_pages._shared import store_path
from app_pages.admin_forms import extra_job_args
from detector.encoder.head_spec import servable
from webapp.job_commands import ENCODER_HEADS
from webapp.jobs import JobBusy, JobManager

FUSED_MINUTES = "about 14 minutes"   # measured on corpus v2: docs/frontends.md, "Admin retraining on the CPU"


def head_label(name: str) -> str:
    """The Admin list's words for a head, from its spec (the first one is the shipped kind)."""
    label = servable(name).label()
    return f"{label} (shipped)" if name == ENCODER_HEADS[0] else label


def encoder_form(manager: JobManager, corpus: str | None, busy: bool) -> None:
    """One Start button: features (cached), held-out folds, a new sealed version; never promoted."""
    with st.form("encoder_form"):
        st.subheader("Retrain the Whisper head")
        st.caption("Refits the kind of model the app ships: a head on the frozen Whisper encoder's cached features, "
                   "and its verdict bands from held-out folds, on the CPU. With every clip's features cached the "
                   f"shipped head takes {FUSED_MINUTES} on 2 cores, a linear head a few minutes. **The first run on "
                   "a corpus encodes every clip once first** (about 9 minutes for the 8,380 clips of the default "
                   "corpus); the features are kept in `.cache/encoder/`, so later runs skip that step. The new "
                   "version is not promoted.")
        head = st.selectbox("Head", ENCODER_HEADS, key="encoder_head",
                            format_func=head_label)
        if corpus is None:
            st.caption("Needs a corpus with a manifest: the built-in corpus, or a dataset folder that has one.")
        if st.form_submit_button("Start head retraining", disabled=busy or corpus is None):
            try:
                manager.start_encoder_head(corpus, store_path(), head, extra_job_args())
                st.rerun()
            except JobBusy as exc:
                st.error(str(exc))
