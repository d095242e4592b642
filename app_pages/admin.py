"""Admin page: password-protected retraining with live progress, results and the model registry.

Thin UI: jobs run in their own process (:mod:`train.jobs`), progress and results
are read from disk (:mod:`train.job_view`), the password check is in
:mod:`detector.auth` and dataset paths are confined by :mod:`train.data_root`.
This process never imports TensorFlow.
"""

from __future__ import annotations

import os

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from detector.auth import THROTTLE, configured_password, disabled_reason, session_token
from detector.config import FEATURE_TYPES
from detector.errors import ModelError
from detector.registry import ModelRegistry
from app_pages._shared import get_service, store_path
from train.archs import available as available_archs
from train.config import TrainConfig
from train.data_root import (CORPUS_SIZES, DataPathError, builtin_corpus_dir, data_root, has_manifest,
                             list_datasets, resolve_inside)
from train.job_view import (VersionResults, curves, format_seconds, latest_trial_events, load_results, progress_of,
                            tune_trials)
from train.jobs import JobBusy, JobManager, JobStatus

CANCEL_GRACE_S = 10.0
CACHE_ENV = "DETECTOR_FEATURE_CACHE"   # optional feature cache folder for jobs started here
STATE_ICONS = {"running": "⏳", "cancelling": "⏳", "done": "✅", "failed": "❌", "cancelled": "⛔"}


# Access ---------------------------------------------------------------------
def _secrets():
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
    if submitted:
        result = THROTTLE.attempt(client, given, expected)
        if result.ok:
            st.session_state["admin_ok"] = session_token(expected)
            st.rerun()
        st.error(result.message)
    elif (wait := THROTTLE.locked_for(client)) > 0:
        st.warning(f"Too many failed attempts; try again in {wait:.0f} s.")
    return False


# Figures --------------------------------------------------------------------
def curve_figures(data: dict[str, list]) -> list[go.Figure]:
    """Loss/accuracy and validation-EER curves from :func:`train.job_view.curves` data."""
    loss = go.Figure()
    if data["step"]:
        loss.add_scatter(x=data["step"], y=data["step_loss"], mode="lines", name="loss (steps)")
    loss.update_layout(title="Training loss", xaxis_title="step", height=300)
    per_epoch = go.Figure()
    per_epoch.add_scatter(x=data["epoch"], y=data["accuracy"], mode="lines+markers", name="train accuracy")
    per_epoch.add_scatter(x=data["epoch"], y=data["val_eer"], mode="lines+markers", name="validation EER")
    per_epoch.update_layout(title="Accuracy and validation EER per epoch", xaxis_title="epoch", height=300)
    return [loss, per_epoch]


def history_curves(history: list[dict]) -> dict[str, list]:
    return curves([{**h, "event": "epoch"} for h in history])


def confusion_figure(matrix: list[list[int]], title: str) -> go.Figure:
    figure = go.Figure(go.Heatmap(z=matrix, x=["called genuine", "called synthetic"], y=["genuine", "synthetic"],
                                  text=matrix, texttemplate="%{text}", colorscale="Blues", showscale=False))
    figure.update_layout(title=title, yaxis=dict(autorange="reversed"), height=300)
    return figure


def show_plot(results: VersionResults, name: str) -> None:
    if name in results.figures:
        st.plotly_chart(pio.from_json(results.figures[name]), key=f"{results.name}-{name}")


def pct(value) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "–"


def show_results(results: VersionResults, active: VersionResults | None) -> None:
    """Evaluation of one version (from its metrics.json and plotly JSON), beside the active one."""
    test = results.test
    cols = st.columns(4)
    cols[0].metric("Test EER", pct(test.get("eer")))
    cols[1].metric("EER threshold (p)", f"{test['eer_threshold_p']:.3f}" if "eer_threshold_p" in test else "–")
    cols[2].metric("AUC", f"{test['auc']:.3f}" if "auc" in test else "–")
    cols[3].metric("Shortcut-audit EER", pct(results.audit_eer),
                   help="EER of simple classifiers that see only duration, level, bandwidth, silences and sample "
                   "rate. Near chance (≥ 35 %) means the corpus offers no such shortcut; the model's EER should "
                   "be far lower.")
    left, right = st.columns(2)
    with left:
        if results.confusion:
            st.plotly_chart(confusion_figure(results.confusion, "Confusion matrix at p = 0.5"),
                            key=f"{results.name}-confusion")
        show_plot(results, "roc")
        show_plot(results, "eer_by_family")
    with right:
        show_plot(results, "scores")
        show_plot(results, "det")
        show_plot(results, "eer_by_condition")
    rows = results.breakdown_rows()
    if rows:
        st.markdown("**EER per family, generator, language, condition and source**")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"{results.name}-breakdown")
    if results.lofo:
        st.markdown("**Leave-one-family-out** (the family was unseen in training)")
        show_plot(results, "lofo")
        st.dataframe(pd.DataFrame([{"family": k, "EER": v.get("eer"), "note": v.get("note", "")}
                                   for k, v in results.lofo.items()]), hide_index=True, key=f"{results.name}-lofo")
    if results.history:
        for index, figure in enumerate(curve_figures(history_curves(results.history))):
            st.plotly_chart(figure, key=f"{results.name}-history-{index}")
    if active is not None and active.name != results.name:
        st.markdown("**Candidate vs active model**")
        table = pd.DataFrame({"candidate": results.summary(), "active": active.summary()})
        st.dataframe(table.astype(str), key=f"{results.name}-compare")


# Jobs -----------------------------------------------------------------------
def show_progress(status: JobStatus) -> None:
    progress = progress_of(status)
    st.progress(progress.fraction, text=progress.text)
    if not status.finished:
        st.caption(f"Job `{status.job.id}` ({status.job.kind}) — ETA {format_seconds(progress.eta_s)}")
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
    st.subheader(f"{STATE_ICONS.get(status.state, '')} Running job")
    show_progress(status)
    if status.finished:
        st.rerun()   # whole page: results and registry refresh
    if st.button("Cancel job", key="cancel_job", disabled=status.state == "cancelling"):
        with st.spinner("Stopping the job…"):
            manager.cancel(status.job, CANCEL_GRACE_S)
        st.rerun()


def choose_data(manager: JobManager, busy: bool) -> tuple[str | None, str | None]:
    """Data selection; returns (corpus folder with a manifest, dataset folder needing the adapters)."""
    st.subheader("Data")
    source = st.radio("Training data", ["Built-in corpus", "Dataset folder"], horizontal=True, key="data_source")
    if source == "Built-in corpus":
        size = st.selectbox("Corpus size", CORPUS_SIZES, index=0, key="corpus_size")
        folder = builtin_corpus_dir(size)
        if has_manifest(folder):
            st.success(f"Corpus ready: `{folder}`")
            return str(folder), None
        st.warning(f"The {size} corpus is not built yet (`{folder}`).")
        if st.button("Build the corpus", key="build_corpus", disabled=busy,
                     help="Downloads permissively licensed speech and renders the synthetic clips; runs as a job."):
            try:
                manager.start_corpus(folder, size)
                st.rerun()
            except JobBusy as exc:
                st.error(str(exc))
        return None, None
    root = data_root()
    st.caption(f"Data root: `{root}` (set `DETECTOR_DATA_ROOT` to change it). Real/fake folders, an "
               "In-the-Wild csv or an ASVspoof protocol are read by the corpus adapters.")
    found = {f"{d.relative}  ({d.layout})": d.relative for d in list_datasets(root)}

    def use_pick() -> None:
        # A keyed text_input keeps its own value, so a pick is copied into it explicitly.
        st.session_state["dataset_path"] = found.get(st.session_state["dataset_pick"], "")

    st.selectbox("Datasets found", ["(type a path)", *found], key="dataset_pick", on_change=use_pick)
    typed = st.text_input("Folder (relative to the data root)", key="dataset_path")
    if not typed.strip():
        return None, None
    try:
        folder = resolve_inside(typed, root)
    except DataPathError as exc:
        st.error(str(exc))
        return None, None
    return (str(folder), None) if has_manifest(folder) else (None, str(folder))


def _extra_args() -> list[str]:
    cache = os.environ.get(CACHE_ENV)
    return ["--cache", cache] if cache else []


def start_forms(manager: JobManager, corpus: str | None, dataset: str | None, busy: bool) -> None:
    """Training and tuning forms; each Start launches one job (refused while another runs)."""
    ready = (corpus is not None or dataset is not None) and not busy
    if busy:
        st.caption("A job is running; one job runs at a time.")
    extra = _extra_args()
    store = store_path()
    with st.form("train_form"):
        st.subheader("Train")
        st.caption("The fields start at the recipe of the shipped model (`python -m train.fit` defaults).")
        recipe = TrainConfig()
        archs = available_archs()
        c1, c2 = st.columns(2)
        arch = c1.selectbox("Architecture", archs, index=archs.index(recipe.arch) if recipe.arch in archs else 0,
                            key="arch")
        feature = c2.selectbox("Feature type", FEATURE_TYPES, index=FEATURE_TYPES.index(recipe.feature), key="feature")
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input("Epochs", 1, 500, recipe.epochs, key="epochs")
        batch = c2.number_input("Batch size", 4, 1024, recipe.batch, key="batch")
        lr = c3.number_input("Learning rate", 1e-5, 1.0, recipe.lr, step=1e-4, format="%.5f", key="lr")
        if st.form_submit_button("Start training", disabled=not ready):
            try:
                manager.start_fit(corpus or dataset, store, arch, feature, int(epochs), int(batch), float(lr),
                                  extra, prepare_dataset=dataset)
                st.rerun()
            except JobBusy as exc:
                st.error(str(exc))
    with st.form("tune_form"):
        st.subheader("Hyper-parameter search")
        st.caption("Random search over filters, kernel size, dense units, learning rate and optimizer, scored by "
                   "validation EER; train its best configuration afterwards from the job's results.")
        c1, c2, c3, c4 = st.columns(4)
        tune_arch = c1.selectbox("Architecture", archs, key="tune_arch")
        tune_feature = c2.selectbox("Feature type", FEATURE_TYPES, key="tune_feature")
        budget = c3.number_input("Time budget (minutes)", 1, 24 * 60, 60, key="budget")
        trials = c4.number_input("Max trials", 1, 200, 20, key="max_trials")
        if st.form_submit_button("Start search", disabled=not ready):
            try:
                manager.start_tune(corpus or dataset, float(budget), tune_arch, tune_feature, int(trials), extra,
                                   prepare_dataset=dataset)
                st.rerun()
            except JobBusy as exc:
                st.error(str(exc))


def job_history(manager: JobManager, registry: ModelRegistry) -> None:
    """Recent jobs and, for a finished training job, its results beside the active model."""
    jobs = manager.jobs()
    if not jobs:
        return
    st.subheader("Jobs and results")
    statuses = {job.id: manager.status(job) for job in jobs}
    st.dataframe(pd.DataFrame([{"job": s.job.id, "kind": s.job.kind, "state": s.state, "version": s.version or "",
                                "message": s.message.splitlines()[0] if s.message else ""}
                               for s in statuses.values()]), hide_index=True, key="jobs_table")
    chosen = st.selectbox("Show job", list(statuses), key="job_pick",
                          format_func=lambda j: f"{STATE_ICONS.get(statuses[j].state, '')} {j}")
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
                    manager.start_fit(corpus, registry.root, config_file=best, extra=_extra_args())
                    st.rerun()
                except JobBusy as exc:
                    st.error(str(exc))
    if status.state == "done" and status.version:
        results = load_results(registry.root / status.version)
        if results is None:
            st.info(f"Version {status.version} is no longer in the store.")
            return
        active_name = registry.active_name()
        active = load_results(registry.root / active_name) if active_name else None
        show_results(results, active)
        if status.version != active_name and st.button(f"Promote {status.version}", key="promote_candidate"):
            promote(registry, status.version)


# Registry -------------------------------------------------------------------
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
    try:
        active = registry.active_name()
    except ModelError as exc:   # a corrupt pointer: list the versions, since promoting one is the repair
        active = None
        st.error(str(exc))
    try:
        served = get_service().get().name   # what Detect serves right now (reloads after a promotion)
        st.caption(f"Store `{registry.root}` — the Detect page serves **{served}**.")
    except ModelError as exc:
        st.caption(f"Store `{registry.root}` — no model served: {exc}")
    rows, loaded = [], {}
    for name in registry.versions():
        try:
            version = loaded[name] = registry.check(name)   # builds the model: a broken one shows as broken
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


# Page -----------------------------------------------------------------------
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
    busy = running is not None and not job_manager.status(running).finished
    if busy:
        live_job(running.id)
    corpus_dir, dataset_dir = choose_data(job_manager, busy)
    start_forms(job_manager, corpus_dir, dataset_dir, busy)
    job_history(job_manager, model_registry)
    registry_section(model_registry)
