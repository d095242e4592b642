"""Retrain an encoder model's head on CPU: the Admin page's quick retraining for Whisper versions.

``python -m train.encoder.retrain --corpus data/corpus --run-dir JOB [--store DIR] [--candidate linear-01234]``

The bake-off and :mod:`train.encoder.publish` for one servable candidate, in one process:

1. **Features.** Every clip without cached encoder features is encoded once through the
   serving path (:mod:`train.encoder.features`). The first run on a corpus encodes all of
   it: the 8,380 clips of the default corpus v2 take about 9 minutes on 2 cores. Later
   runs, and runs on a corpus that grew, encode only what is new.
2. **Held-out folds.** The head is refitted without each family, neural vocoder and
   genuine source in turn (a pooled linear head takes seconds a fold, the fused head about
   a minute), which gives the version's held-out figures and the edges of its verdict bands.
3. **Publish.** The head is fitted on the train split, calibrated on validation, its bands
   narrowed to the folds' edges, scored on the test split through the served path,
   sealed and written as a new version. Nothing is promoted.

Progress goes to ``<run-dir>/progress.jsonl``: ``features`` and ``fold`` lines with
``done``/``total``, then ``export``, ``evaluate`` and ``done`` with the version's name.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from detector.encoder.head_spec import FUSED_SHIPPED
from detector.encoder.runtime import SHIPPED_BLOCKS, encoder_path
from detector.paths import model_store
from train.encoder import bakeoff, features
from train.encoder.heads import SERVABLE, uses_sequences
from train.encoder.publish import publish
from train.events import append_event
from train.heldout import available_folds
from train.schema import read_manifest

DEFAULT_CANDIDATE = FUSED_SHIPPED.name   # the bake-off's winner (docs/frontends.md)
DEFAULT_BLOCKS = SHIPPED_BLOCKS


class RetrainError(RuntimeError):
    """The retraining cannot start; the message says what to do."""


def version_name(candidate: str, store: Path, now: datetime | None = None) -> str:
    """A new, sortable version name such as ``20261205-0930-whisper-fused-01234-temporal``."""
    base = f"{(now or datetime.now()):%Y%m%d-%H%M}-whisper-{candidate}"
    name, counter = base, 2
    while (store / name).exists() or (store / f".tmp-{name}").exists():
        name, counter = f"{base}-{counter}", counter + 1
    return name


def retrain(corpus: str | Path, store: str | Path, run_dir: str | Path, candidate: str = DEFAULT_CANDIDATE,
            blocks: int = DEFAULT_BLOCKS) -> Path:
    """Encode what is missing, refit the held-out folds, publish a new version; return its folder.

    Raises
    ------
    RetrainError
        When the candidate cannot be served or the shared encoder file is missing.
    """
    if candidate not in SERVABLE:
        raise RetrainError(f"{candidate!r} is not a head the app can serve; choose one of {', '.join(SERVABLE)}.")
    store, run_dir = Path(store), Path(run_dir)
    encoder = encoder_path(blocks, store)
    if not encoder.is_file():
        raise RetrainError(f"The shared encoder file {encoder} is missing; make it once with `make encoder`.")
    frame = read_manifest(corpus)
    started = time.monotonic()
    todo = features.missing(frame, encoder)
    message = (f"first run on this corpus: encoding all {todo} clips once" if todo == len(frame)
               else f"{todo} clips not cached yet")
    append_event(run_dir, "features", done=len(frame) - todo, total=len(frame), message=message)
    errors = features.extract(frame, encoder, log=lambda _: None, on_progress=lambda done, total: append_event(
        run_dir, "features", done=done, total=total, message=message))
    append_event(run_dir, "features", done=len(frame), total=len(frame), skipped=len(errors),
                 seconds=round(time.monotonic() - started, 1), message="features ready")

    frame, data = bakeoff.load_data(str(corpus), str(encoder), sequences=uses_sequences(candidate))
    folds = [fold.name for fold in available_folds(frame)]
    append_event(run_dir, "fold", done=0, total=len(folds), message=f"held out: {folds[0]}")

    def next_fold(name: str, _result) -> None:
        done = folds.index(name) + 1
        message = f"held out: {folds[done]}" if done < len(folds) else "fitting the version's head on all training clips"
        append_event(run_dir, "fold", done=done, total=len(folds), message=message)

    heldout = bakeoff.run_candidate(candidate, data, frame, on_fold=next_fold)
    final = bakeoff.fit_and_calibrate(candidate, data, data["valid"].copy())   # one fit for the bands and the version
    summary = bakeoff.summarise(candidate, data, frame, heldout, final=final)
    (run_dir / "bakeoff.json").write_text(json.dumps(summary, indent=1) + "\n")
    name = version_name(candidate, store)
    return publish(str(corpus), str(encoder), candidate, summary, store, name, loaded=(frame, data),
                   on_event=lambda event, **fields: append_event(run_dir, event, **fields), fitted=final)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.retrain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--store", default=None, help="model store (default: the configured one)")
    parser.add_argument("--run-dir", required=True, help="folder for progress.jsonl and the folds' figures")
    parser.add_argument("--candidate", default=DEFAULT_CANDIDATE, choices=SERVABLE)
    parser.add_argument("--blocks", type=int, default=DEFAULT_BLOCKS)
    parser.add_argument("--cache", default=None, help="feature cache folder (default: .cache/); features go "
                                                      "in its encoder/ folder")
    args = parser.parse_args(argv)
    if args.cache:
        features.CACHE_ROOT = Path(args.cache) / "encoder"   # this process only: the job's own flag
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        folder = retrain(args.corpus, args.store or model_store(), run_dir, args.candidate, args.blocks)
    except RetrainError as exc:
        append_event(run_dir, "error", message=str(exc))
        print(exc, file=sys.stderr)
        return 2
    append_event(run_dir, "done", version=folder.name, message=f"published {folder.name} (not promoted)")
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
