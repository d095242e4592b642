"""Publish an encoder version: the bake-off's head refitted on all training clips, with held-out bands.

``python -m train.encoder.publish --corpus data/corpus --encoder FILE --candidate linear-01234
--bakeoff runs/bakeoff/linear-01234.json [--store DIR] [--name NAME]``

The head is fitted and calibrated exactly as the bake-off's final model (train split,
regularisation and Platt scaling on validation); the verdict bands are then narrowed,
never widened, to the edges the bake-off's held-out folds allow (by rank, see
:mod:`train.encoder.bakeoff`). The held-out folds go into the report as they were
measured, with their rates at the shipped bands carried by rank (:func:`train.heldout_bands.rates_at`);
the test split is scored through the served :class:`~detector.inference.Detector`, and the
version is sealed.
Nothing is promoted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from detector.encoder.runtime import ENCODERS_FOLDER
from detector.files import sha256_file
from detector.integrity import seal_folder
from detector.model_report import ModelReport, ValidationFigures
from detector.paths import model_store
from train.encoder.bakeoff import fit_and_calibrate, heldout_of, load_for
from train.encoder.copies import add_to_card
from train.encoder.finetune import TunedHead
from train.encoder.heads import FusedHead
from train.encoder.tuned_export import build_tuned_encoder, write_tuned_blocks
from train.encoder.version import write_encoder_version
from train.publish import assembled_version, corpus_version, narrowed, write_evaluation


def place_shared_encoder(encoder: Path, store: Path) -> Path:
    """The store's copy of ``encoder`` (copied in when the store has none); never another file under its name.

    Raises
    ------
    FileExistsError
        When the store already holds a different file under that name: every version in the
        store pins it by digest, and replacing it would break them all.
    """
    (store / ENCODERS_FOLDER).mkdir(parents=True, exist_ok=True)
    shared = store / ENCODERS_FOLDER / encoder.name
    if not shared.exists():
        shutil.copy2(encoder, shared)
    elif shared.resolve() != encoder.resolve() and sha256_file(shared) != sha256_file(encoder):
        raise FileExistsError(f"the store's {ENCODERS_FOLDER}/{shared.name} differs from the encoder these "
                              f"features were computed with ({encoder}); publish into a store that has the same "
                              "encoder, or rebuild the features with the store's encoder")
    return shared


def head_params(head) -> int:
    """Trained numbers in a head: the regression's weights and bias, plus a fused head's temporal network or a
    tuned head's blocks."""
    if isinstance(head, TunedHead):
        return int(head.warm.model.coef_.size + 1 + sum(np.asarray(w).size for b in head.tuned_blocks
                                                         for w in b.weights))
    if isinstance(head, FusedHead):
        return head_params(head.linear) + int(head.temporal.model.count_params()) + len(head.weights) + 1
    return int(head.model.coef_.size + 1)


def publish(corpus: str, encoder: str, candidate: str, bakeoff: dict, store: Path, name: str,
            loaded: tuple | None = None, on_event=None, fitted: tuple | None = None) -> Path:
    """Fit, calibrate, evaluate and seal ``store/name`` (assembled in ``.tmp-<name>``, then renamed).

    ``loaded`` is :func:`~train.encoder.bakeoff.load_data`'s result and ``fitted``
    :func:`~train.encoder.bakeoff.fit_and_calibrate`'s when the caller has them;
    ``on_event(event, **fields)`` hears ``export`` and ``evaluate`` (the job page's phases).
    """
    on_event = on_event or (lambda *_, **__: None)
    frame, data = loaded or load_for(corpus, encoder, candidate)
    head, calibration, val_p, val_y = fitted or fit_and_calibrate(candidate, data, data["valid"].copy())
    tuned = head if isinstance(head, TunedHead) else None
    calibration = replace(narrowed(calibration, bakeoff["bands"]["genuine_below"], bakeoff["bands"]["synthetic_above"]),
                          channel_bands=bakeoff.get("channel_bands"))   # per measured class (issue 32), when set
    blocks = int(json.loads(Path(encoder).with_suffix(".json").read_text())["blocks"])
    (store / ENCODERS_FOLDER).mkdir(parents=True, exist_ok=True)
    shared = place_shared_encoder(Path(encoder), store) if tuned is None else None
    report = ModelReport(created=datetime.now(timezone.utc).isoformat(timespec="seconds"), corpus=corpus,
                         params=head_params(head),
                         corpus_version=corpus_version(Path(corpus)),
                         validation=ValidationFigures(eer=bakeoff["val_eer"], aggregation="mean_logit"))
    if (store / name).exists():
        raise FileExistsError(f"model version {name!r} already exists in {store}")
    on_event("export", version=name)
    with assembled_version(store, name) as temp:   # named like train.fit's, so a job manager can clear it
        if tuned is not None:   # its own encoder: the installed weights with its tuned blocks (train.encoder.tuned_export)
            write_tuned_blocks(temp, tuned.tuned_blocks, first_index=blocks - tuned.blocks)
            shared = build_tuned_encoder(temp, store, version=name, blocks=blocks)
        write_encoder_version(temp, tuned.served_head() if tuned else head, shared, blocks, calibration,
                              report=report, version=name)
        on_event("evaluate", version=name, split="test")
        write_evaluation(temp, frame, corpus, heldout=heldout_of(bakeoff))
        if data.get("copies") is not None:   # the card says the head also learned from channel copies
            add_to_card(temp / "card.md", len(data["copies"]["owner"]))
        seal_folder(temp, name=name)
    return store / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.publish", description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--bakeoff", required=True, help="the candidate's runs/bakeoff/<candidate>.json")
    parser.add_argument("--store", default=None, help="model store (default: the configured one)")
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    name = args.name or datetime.now(timezone.utc).strftime(f"%Y%m%d-%H%M-whisper-{args.candidate}")
    bakeoff = json.loads(Path(args.bakeoff).read_text())
    folder = publish(args.corpus, args.encoder, args.candidate, bakeoff, Path(args.store or model_store()), name)
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
