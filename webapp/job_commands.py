"""The command lines of the jobs the admin page starts: training, search, re-scoring and corpus build.

Pure functions: each returns the arguments of a ``python -m`` module plus the
``params`` recorded in ``job.json``. ``{job}`` stands for the job folder and is
filled in when the job starts. Training options travel as one
:class:`~train.config.TrainConfig` JSON file (``--config``), so no option list
is kept by hand between the form, this module and ``train.fit``'s flags.
No TensorFlow here (``train.config`` is TensorFlow-free).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

from detector.encoder.head_spec import SERVABLE_NAMES
from detector.encoder.runtime import SHIPPED_BLOCKS
from train.config import TrainConfig

FIT_CONFIG_FILE = "fit_config.json"   # not train_config.json: train.fit writes that one into its run folder
PREPARED_DATASET = "{job}/dataset"     # where train.job_runner writes a prepared manifest
# Shown on the jobs list; the full configuration is in the job folder.
SUMMARY_FIELDS = ("arch", "feature", "epochs", "batch", "lr")
# The Whisper heads the app can serve, the shipped one first: their specs (detector.encoder.head_spec) name them.
ENCODER_HEADS = SERVABLE_NAMES


def runner_command(module: str, args: Sequence[str], prepare_dataset: str | Path | None = None) -> list[str]:
    """``python -m <module> <args>`` through :mod:`train.job_runner` (cancel-safe, always ends with an event)."""
    wrapper = [sys.executable, "-m", "train.job_runner", "exec", "--run-dir", "{job}"]
    if prepare_dataset is not None:
        wrapper += ["--prepare-dataset", str(prepare_dataset)]
    return [*wrapper, "--", module, *[str(a) for a in args]]


def corpus_argument(corpus: str | Path, prepare_dataset: str | Path | None) -> str:
    """The ``--corpus`` value: the prepared manifest's folder when a dataset is prepared first."""
    return PREPARED_DATASET if prepare_dataset is not None else str(corpus)


def config_json(config: TrainConfig) -> str:
    """The text of a configuration file ``train.fit --config`` reads."""
    return json.dumps(config.to_dict(), indent=2) + "\n"


def fit_job(corpus: str | Path, store: str | Path, config: TrainConfig | str | Path,
            prepare_dataset: str | Path | None = None) -> tuple[list[str], dict[str, Any], dict[str, str]]:
    """Arguments of ``train.fit``, the job's params and the files to write into the job folder.

    Parameters
    ----------
    corpus, store : path
        Training data (folder with ``manifest.csv``, or the dataset to prepare) and model store.
    config : TrainConfig or path
        The run's settings, written to the job folder; or an existing configuration
        file (e.g. a search's ``best_config.json``), passed as it is.
    prepare_dataset : path, optional
        A dataset folder the runner turns into a manifest first.

    Returns
    -------
    (list of str, dict, dict of str to str)
        Module arguments, ``job.json`` params, and file name -> text to write first.
    """
    files: dict[str, str] = {}
    params: dict[str, Any] = {"corpus": str(corpus), "store": str(store), "prepared": prepare_dataset is not None}
    if isinstance(config, TrainConfig):
        files[FIT_CONFIG_FILE] = config_json(config)
        config_path = f"{{job}}/{FIT_CONFIG_FILE}"
        params.update({name: getattr(config, name) for name in SUMMARY_FIELDS})
    else:
        config_path = str(config)
    params["config"] = config_path
    args = ["--corpus", corpus_argument(corpus, prepare_dataset), "--config", config_path, "--out", str(store),
            "--run-dir", "{job}", "--quiet"]
    return args, params, files


def encoder_head_job(corpus: str | Path, store: str | Path, candidate: str) -> tuple[list[str], dict[str, Any]]:
    """Arguments of ``train.encoder.retrain`` (a Whisper head refitted on cached features) and the job's params."""
    args = ["--corpus", str(corpus), "--store", str(store), "--run-dir", "{job}", "--candidate", candidate]
    return args, {"corpus": str(corpus), "store": str(store), "candidate": candidate, "arch": f"whisper-base-{SHIPPED_BLOCKS}",
                  "feature": "whisper"}


def tune_job(corpus: str | Path, budget_minutes: float, base: TrainConfig, max_trials: int = 20,
             prepare_dataset: str | Path | None = None) -> tuple[list[str], dict[str, Any]]:
    """Arguments of ``train.tune`` and the job's params.

    ``train.tune`` builds its base configuration from ``--arch`` and
    ``--features`` alone (it has no ``--config``), so only those two of ``base``
    are passed; the search draws the rest.
    """
    args = ["--corpus", corpus_argument(corpus, prepare_dataset), "--budget-minutes", f"{budget_minutes:g}",
            "--max-trials", str(max_trials), "--arch", base.arch, "--features", base.feature, "--run-dir", "{job}",
            "--quiet"]
    params = {"corpus": str(corpus), "prepared": prepare_dataset is not None, "budget_minutes": budget_minutes,
              "arch": base.arch, "feature": base.feature, "max_trials": max_trials}
    return args, params


def corpus_job(out: str | Path, size: str) -> tuple[list[str], dict[str, Any]]:
    """The command that builds (or resumes) the built-in corpus of ``size`` into ``out``, and its params."""
    command = [sys.executable, "-m", "train.job_runner", "corpus", "--run-dir", "{job}", "--out", str(out),
               "--size", size]
    return command, {"out": str(out), "size": size}


def rescore_job(model: str, corpus: str | Path, store: str | Path) -> tuple[list[str], dict[str, Any]]:
    """Arguments of ``train.evaluate`` that re-score ``model`` on ``corpus``'s test split, and the job's params.

    The version's report, plots and card are rewritten; its test figures then record
    the corpus version they come from, so Admin compares it with newer versions like for like.
    """
    args = ["--model", model, "--corpus", str(corpus), "--store", str(store), "--quiet"]
    return args, {"model": model, "corpus": str(corpus), "store": str(store)}
