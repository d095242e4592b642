"""Admin page: password-protected retraining with live progress, results and the model registry.

Thin UI that reads top to bottom; each section lives in its own module: the login gate
(:mod:`app_pages.admin_access`), data and start forms (:mod:`app_pages.admin_forms`), live and past
jobs (:mod:`app_pages.admin_jobs`), evaluation plots (:mod:`app_pages.admin_results`) and the registry
(:mod:`app_pages.admin_registry`). Jobs run in their own process (:mod:`webapp.jobs`); this process
never imports TensorFlow.
"""

from __future__ import annotations

import streamlit as st

from app_pages._shared import store_path
from app_pages.admin_access import require_admin
from app_pages.admin_encoder import encoder_form
from app_pages.admin_forms import choose_data, start_forms
from app_pages.admin_jobs import job_history, job_panel
from app_pages.admin_registry import registry_section
from app_pages.admin_results import version_evaluation
from detector.registry import ModelRegistry
from webapp.jobs import JobManager

st.title("Admin")
if require_admin():
    if st.button("Log out", key="logout"):
        st.session_state.pop("admin_ok", None)
        st.rerun()
    if notice := st.session_state.pop("admin_notice", None):
        st.success(notice)
    job_manager = JobManager()
    model_registry = ModelRegistry(store_path())
    running = job_manager.current()
    running_status = job_manager.status(running) if running is not None else None
    busy = running_status is not None and not running_status.finished
    job_panel(job_manager, running_status)
    corpus_dir, dataset_dir = choose_data(job_manager, busy)
    encoder_form(job_manager, corpus_dir, busy)
    start_forms(job_manager, corpus_dir, dataset_dir, busy)
    job_history(job_manager, model_registry)
    picked = registry_section(model_registry, job_manager, corpus_dir, busy)
    if picked is not None:
        version_evaluation(model_registry, picked)
