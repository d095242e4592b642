"""Admin: a running job's live progress, and the list of past jobs with their results."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.admin_forms import extra_job_args
from app_pages.admin_registry import ask_to_confirm, confirm_pending
from app_pages.admin_results import active_or_none, curve_figures, show_results
from detector.registry import ModelRegistry
from webapp.job_records import JobStatus
from webapp.job_view import curves, finished_words, latest_trial_events, load_results, progress_of, tune_trials
from webapp.jobs import JobBusy, JobManager

CANCEL_GRACE_S = 10.0
WATCHED_KEY = "admin_watched_job"   # the job this session saw running: its panel stays, as finished, when it ends
# Material icons, drawn by Streamlit's own font: emoji showed as empty boxes where no emoji font is installed.
STATE_ICONS = {"running": ":material/hourglass_top:", "cancelling": ":material/hourglass_top:",
               "done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/block:"}


def show_progress(status: JobStatus) -> None:
    progress = progress_of(status)
    st.progress(progress.fraction, text=progress.text)
    if not status.finished:
        st.caption(f"Job `{status.job.id}` ({status.job.kind}) — {progress.eta_words}")
    tuning = status.job.kind == "tune"
    data = curves(latest_trial_events(status.job.folder) if tuning else status.events)
    if tuning and (trials := tune_trials(status.job.folder)):
        st.dataframe(pd.DataFrame(trials), hide_index=True, key=f"trials-{status.job.id}")
    if data["step"]:
        columns = st.columns(2)
        for column, figure in zip(columns, curve_figures(data)):
            column.plotly_chart(figure, key=f"live-{status.job.id}-{figure.layout.title.text}")


@st.fragment(run_every=2)
def live_job(job_id: str) -> None:
    """Re-drawn every 2 s from the job's progress file; a full rerun once the job is over."""
    manager = JobManager()
    status = manager.status(job_id)
    if status.finished:
        # Before drawing anything: a finished job is shown by the job list of the full rerun. Drawing it
        # here first left a "Running job" heading with a failed icon, a second chart and a Cancel button
        # on screen until that rerun arrived.
        st.rerun()
    st.subheader(f"{STATE_ICONS.get(status.state, '')} Running job")
    show_progress(status)
    if st.button("Cancel job", key="cancel_job", disabled=status.state == "cancelling"):
        with st.spinner("Stopping the job…"):
            manager.cancel(status.job, CANCEL_GRACE_S)
        st.rerun()


def job_panel(manager: JobManager, running: JobStatus | None) -> None:
    """The panel at the top of the page: the running job live, or, once the job this session watched has
    ended, the same place saying how it ended and what to do next (until dismissed)."""
    if running is not None and not running.finished:
        st.session_state[WATCHED_KEY] = running.job.id
        live_job(running.job.id)
        return
    watched = st.session_state.get(WATCHED_KEY)
    if watched is None:
        return
    try:
        status = manager.status(watched)
    except (KeyError, OSError, ValueError):   # its folder was pruned or is unreadable: nothing left to show
        st.session_state.pop(WATCHED_KEY, None)
        return
    if status.finished:
        finished_job(status)


def finished_job(status: JobStatus) -> None:
    """A finished job's panel, where its live progress was: how it ended and the next step."""
    tone, words = finished_words(status)
    title = {"done": "Job finished", "failed": "Job failed", "cancelled": "Job cancelled"}[status.state]
    with st.container(border=True):
        st.subheader(f"{STATE_ICONS.get(status.state, '')} {title}")
        st.caption(f"Job `{status.job.id}` ({status.job.kind})")
        {"success": st.success, "error": st.error, "info": st.info}[tone](words)
        if st.button("Dismiss", key="dismiss_finished_job"):
            st.session_state.pop(WATCHED_KEY, None)
            st.rerun()


def follow_newest_job(newest: JobStatus) -> None:
    """Show the newest job whenever a job starts or ends, even if an older one was picked before."""
    moment = (newest.job.id, newest.finished)
    if st.session_state.get("job_pick_moment") != moment:
        st.session_state["job_pick_moment"] = moment
        st.session_state["job_pick"] = newest.job.id


def job_history(manager: JobManager, registry: ModelRegistry) -> None:
    """Recent jobs and, for a finished training job, its results beside the active model."""
    jobs = manager.jobs()
    if not jobs:
        return
    st.subheader("Jobs and results")
    statuses = {job.id: manager.status(job) for job in jobs}
    follow_newest_job(statuses[jobs[0].id])
    st.dataframe(pd.DataFrame([{"job": s.job.id, "kind": s.job.kind, "state": s.state, "version": s.version or "",
                                "message": s.message.splitlines()[0] if s.message else ""}
                               for s in statuses.values()]), hide_index=True, key="jobs_table")
    chosen = st.selectbox("Show job", list(statuses), key="job_pick",
                          format_func=lambda j: f"{j} ({statuses[j].state})")   # options are plain text
    status = statuses[chosen]
    if not status.finished:
        st.info("This job is still running; its live progress is shown above.")
        return
    show_progress(status)
    if status.state in ("failed", "cancelled"):
        st.error(f"Job {status.state}: {status.message}")
    if status.state == "done" and status.job.kind == "tune":
        best = status.job.folder / "best_config.json"
        if best.is_file():
            st.markdown("**Best configuration found**")
            st.json(best.read_text(), expanded=False)
            prepared = status.job.params.get("prepared")
            corpus = status.job.folder / "dataset" if prepared else status.job.params.get("corpus", "")
            if st.button("Train with the best configuration", key="train_best"):
                try:
                    manager.start_fit(corpus, registry.root, best, extra=extra_job_args())
                    st.rerun()
                except JobBusy as exc:
                    st.error(str(exc))
    if status.state == "done" and status.version:
        results = load_results(registry.root / status.version)
        if results is None:
            st.info(f"Version {status.version} is no longer in the store.")
            return
        active_name = active_or_none(registry)
        active = load_results(registry.root / active_name) if active_name else None
        show_results(results, active, "job")
        if status.version != active_name and st.button(f"Promote {status.version}", key="promote_candidate"):
            ask_to_confirm("promote", status.version, "job")
        confirm_pending(registry, "job")
