"""Admin: choosing the training data and the forms that start a training or search job."""

from __future__ import annotations

import os
from dataclasses import replace

import streamlit as st

from app_pages._shared import store_path
from detector.config import FEATURE_TYPES
from detector.frontends import front_end
from train.config import available_archs, load_recipe
from webapp.data_root import (
    CORPUS_SIZES,
    DataPathError,
    builtin_corpus_dir,
    data_root,
    has_manifest,
    list_datasets,
    resolve_inside,
)
from webapp.jobs import JobBusy, JobManager

CACHE_ENV = "DETECTOR_FEATURE_CACHE"   # optional feature cache folder for jobs started here


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
                     help="Unpacks permissively licensed speech recordings and speech synthesisers from Debian "
                          "packages (taken by apt from this machine's package mirror or the .cache/corpus "
                          "cache, never installed) and renders the synthetic clips; runs as a job."):
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


def feature_label(name: str) -> str:
    """A feature type as the selectors show it: the front end's label, then the name the card uses."""
    return f"{front_end(name).label} ({name})"


def extra_job_args() -> list[str]:
    """Extra command-line arguments for jobs started here (the optional shared feature cache)."""
    cache = os.environ.get(CACHE_ENV)
    return ["--cache", cache] if cache else []


def start_forms(manager: JobManager, corpus: str | None, dataset: str | None, busy: bool) -> None:
    """Training and tuning forms; each Start launches one job (refused while another runs)."""
    ready = (corpus is not None or dataset is not None) and not busy
    if busy:
        st.caption("A job is running; one job runs at a time.")
    extra = extra_job_args()
    store = store_path()
    with st.form("train_form"):
        st.subheader("Train a CNN")
        st.caption("The fields start at the `quick` recipe (the `TrainConfig` defaults in `train/config.py`, at most "
                   "15 minutes on 2 cores); the shipped model comes from the longer `full` recipe (`make train`).")
        recipe = load_recipe("quick")
        archs = available_archs()
        c1, c2 = st.columns(2)
        arch = c1.selectbox("Architecture", archs, index=archs.index(recipe.arch) if recipe.arch in archs else 0,
                            key="arch")
        feature = c2.selectbox("Feature type", FEATURE_TYPES, index=FEATURE_TYPES.index(recipe.feature), key="feature",
                               format_func=feature_label)
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input("Epochs", 1, 500, recipe.epochs, key="epochs")
        batch = c2.number_input("Batch size", 4, 1024, recipe.batch, key="batch")
        lr = c3.number_input("Learning rate", 1e-5, 1.0, recipe.lr, step=1e-4, format="%.5f", key="lr")
        if st.form_submit_button("Start training", disabled=not ready):
            # The form's fields over the recipe: the job gets the whole configuration as one file.
            config = replace(recipe, arch=arch, feature=feature, epochs=int(epochs), batch=int(batch), lr=float(lr))
            if config != recipe:
                config = replace(config, recipe=f"{recipe.recipe}+changes")
            try:
                manager.start_fit(corpus or dataset, store, config, extra, prepare_dataset=dataset)
                st.rerun()
            except JobBusy as exc:
                st.error(str(exc))
    with st.form("tune_form"):
        st.subheader("Hyper-parameter search")
        st.caption("Random search over filters, kernel size, dense units, learning rate and optimizer, scored by "
                   "validation EER; train its best configuration afterwards from the job's results.")
        c1, c2, c3, c4 = st.columns(4)
        # The same starting point as the train form: the shipped recipe.
        tune_arch = c1.selectbox("Architecture", archs, index=archs.index(recipe.arch) if recipe.arch in archs else 0,
                                 key="tune_arch")
        tune_feature = c2.selectbox("Feature type", FEATURE_TYPES, index=FEATURE_TYPES.index(recipe.feature),
                                    key="tune_feature", format_func=feature_label)
        budget = c3.number_input("Time budget (minutes)", 1, 24 * 60, 60, key="budget")
        trials = c4.number_input("Max trials", 1, 200, 20, key="max_trials")
        if st.form_submit_button("Start search", disabled=not ready):
            try:
                manager.start_tune(corpus or dataset, float(budget), replace(recipe, arch=tune_arch,
                                   feature=tune_feature), int(trials), extra, prepare_dataset=dataset)
                st.rerun()
            except JobBusy as exc:
                st.error(str(exc))
