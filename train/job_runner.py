"""Entry point of a job's own process (launched by the admin page's job supervisor, ``webapp.jobs``).

Usage (not meant to be typed by hand)::

    python -m train.job_runner exec --run-dir JOB [--prepare-dataset DIR] -- train.fit --corpus ...
    python -m train.job_runner corpus --run-dir JOB --out data/corpus-small --size small

``exec`` runs a module as ``__main__`` in this process, with two guarantees the
admin page relies on:

* SIGTERM (Cancel) raises an exception inside the job instead of killing it
  outright, so ``train.fit`` removes its half-written temporary version folder and
  writes its ``error`` line before exiting;
* the progress file always ends with a ``done`` or ``error`` line, even for a
  module that writes none, unless the process is killed with SIGKILL (which the
  page then reports as failed because the process is gone).
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from train.events import DEFAULT_NICE, NICE_ENV, append_event, has_terminal
from train.schema import LABEL_NAMES, MANIFEST_FILE, SPLITS

CORPUS_EVENT_EVERY_S = 1.0   # corpus progress lines at most this often (the file stays small)
SPLITS_NEEDED = SPLITS   # train.fit fits on train, calibrates on val, reports on test
TRAINING_MODULES = ("train.fit", "train.tune", "train.encoder.retrain")


class Cancelled(KeyboardInterrupt):
    """Raised in the job by SIGTERM. A KeyboardInterrupt so ``except Exception`` blocks do not swallow it."""


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # a second SIGTERM kills at once
    raise Cancelled("cancelled by the admin")


def _lower_priority() -> None:
    try:
        os.nice(int(os.environ.get(NICE_ENV, DEFAULT_NICE)))
    except (OSError, ValueError):
        pass


def prepare_dataset(source: str | Path, run_dir: Path) -> Path:
    """Turn a user's dataset folder into ``<run_dir>/dataset/manifest.csv`` with the corpus adapters.

    File paths are made absolute so the manifest can live outside the dataset
    folder (which may be read-only).
    """
    from train.corpus import manifest_from_dataset

    source = Path(source).resolve()
    append_event(run_dir, "prepare", dataset=str(source), message="reading the dataset with the corpus adapters")
    frame = manifest_from_dataset(source)
    frame["file"] = [f if Path(f).is_absolute() else str((source / f).resolve()) for f in frame["file"].astype(str)]
    out = run_dir / "dataset"
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / MANIFEST_FILE, index=False)
    append_event(run_dir, "prepare", dataset=str(source), clips=int(len(frame)), message="manifest written")
    return out


def dataset_problem(manifest: Path, splits: tuple[str, ...] = SPLITS_NEEDED) -> str | None:
    """A sentence saying why the corpus at ``manifest`` cannot be trained on, or None when it can.

    Each split needs genuine and synthetic clips; otherwise training fails deep inside
    (an empty split once surfaced as "KeyError: 'y'") instead of saying what to do.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(manifest, usecols=["label", "split"], dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return None   # unreadable or another layout: the trainer's own checks will say why
    for split in splits:
        labels = set(frame.loc[frame["split"] == split, "label"])
        missing = [label for label in LABEL_NAMES if label not in labels]
        if missing:
            return (f"The dataset is too small to train on: its {split} split has no {' and no '.join(missing)} "
                    f"clips ({len(frame)} clips in all). Speakers are kept within one split, so add clips of both "
                    "kinds from more speakers (a few dozen at least).")
    return None


def _corpus_argument(args: list[str]) -> Path | None:
    if "--corpus" in args and args.index("--corpus") + 1 < len(args):
        return Path(args[args.index("--corpus") + 1])
    return None


def run_module(module: str, args: list[str], run_dir: Path, prepare: str | None = None) -> int:
    """Run ``module`` as ``__main__``; return the exit code and make sure a terminal event is written."""
    code = 0
    try:
        if prepare:
            prepare_dataset(prepare, run_dir)
        corpus = _corpus_argument(args) if module in TRAINING_MODULES else None
        splits = SPLITS_NEEDED[:2] if module == "train.tune" else SPLITS_NEEDED   # a search never tests
        problem = dataset_problem(corpus / MANIFEST_FILE, splits) if corpus is not None else None
        if problem:
            append_event(run_dir, "error", message=problem)
            return 2
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code not in (None, 0) and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)   # argparse-style messages
    except Cancelled:
        if not has_terminal(run_dir):
            append_event(run_dir, "error", message="Cancelled by the admin.")
        return 130
    except BaseException as exc:  # noqa: BLE001 - any failure must end up as an error line
        traceback.print_exc()
        if not has_terminal(run_dir):
            append_event(run_dir, "error", message=f"{type(exc).__name__}: {exc}")
        return 1
    if not has_terminal(run_dir):
        if code == 0:
            append_event(run_dir, "done", version=None, message=f"{module} finished")
        else:
            append_event(run_dir, "error", message=f"{module} exited with code {code}; see stderr.log")
    return code


def build_corpus(out: str, size: str, run_dir: Path) -> int:
    """Build the built-in corpus, reporting ``corpus`` events (done, total, message)."""
    last = {"time": 0.0, "message": None}

    def progress(done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if message != last["message"] or now - last["time"] >= CORPUS_EVENT_EVERY_S or done >= total:
            last.update(time=now, message=message)
            append_event(run_dir, "corpus", done=int(done), total=int(total), message=str(message))

    try:
        from train.corpus import build

        append_event(run_dir, "start", corpus=out, size=size)
        summary = build(out, size, progress=progress)
        keep = {k: summary.get(k) for k in ("clips", "hours", "build_s") if k in summary}
        append_event(run_dir, "done", version=None, corpus=out, **keep)
        return 0
    except Cancelled:
        append_event(run_dir, "error", message="Cancelled by the admin.")
        return 130
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exc()
        append_event(run_dir, "error", message=f"{type(exc).__name__}: {exc}")
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.job_runner", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("exec", help="run a module as a job")
    run.add_argument("--run-dir", required=True)
    run.add_argument("--prepare-dataset", help="dataset folder to turn into a manifest first")
    run.add_argument("module")
    run.add_argument("args", nargs=argparse.REMAINDER)
    corpus = sub.add_parser("corpus", help="build the built-in corpus as a job")
    corpus.add_argument("--run-dir", required=True)
    corpus.add_argument("--out", required=True)
    corpus.add_argument("--size", required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _lower_priority()
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "corpus":
        return build_corpus(args.out, args.size, run_dir)
    module_args = args.args[1:] if args.args[:1] == ["--"] else args.args
    return run_module(args.module, module_args, run_dir, args.prepare_dataset)


if __name__ == "__main__":
    raise SystemExit(main())
