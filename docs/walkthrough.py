"""# From a corpus to a verdict, in about a minute

A literate walkthrough of the whole pipeline on a toy corpus: build a corpus, check
it for leakage, train a small CNN, publish it as a model version, promote it, and
score a clip the way the app does. Run it with

    python docs/walkthrough.py [WORK_FOLDER]

Every step calls the project's real code; the only toy parts are the data (a dozen
synthetic "speakers", see ``train/toy_corpus.py``) and the short recipe. The tests
run this file (``tests/test_walkthrough.py``), so it cannot drift from the code.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the repository's packages, run from anywhere

# ## Settings
# A recipe small enough for a minute on two cores, shortened from the ``TrainConfig``
# defaults (the ``quick`` recipe, the Admin page's retrain). The shipped model comes from
# the longer ``full`` recipe (``make train``, ``train/recipes/full.json``).
EPOCHS = 3
BATCH = 16
WINDOWS_PER_CLIP = 8


def main(work: Path) -> None:
    # ## 1. A corpus
    # A corpus is a folder of clips plus ``manifest.csv``: one row per clip with its
    # label, speaker, family and split. Genuine speakers never cross splits, and a
    # synthetic copy of a recording stays in its source speaker's split.
    from train.schema import check_no_leakage, read_manifest
    from train.toy_corpus import make_toy_corpus

    corpus = make_toy_corpus(work / "corpus")
    manifest = read_manifest(corpus)
    check_no_leakage(manifest)   # raises if a speaker or a source recording crosses splits
    counts = manifest.groupby(["split", "label"]).size().to_dict()
    print(f"1. corpus: {len(manifest)} clips, {counts}")

    # ## 2. Train
    # ``train_model`` caches features through the serving feature code, fits the CNN
    # with early stopping on the validation clip EER, and fits the calibration
    # (aggregation, Platt scaling, verdict bands) on validation. The test split is
    # not touched.
    from train.config import TrainConfig
    from train.events import ProgressLog
    from train.fit import train_model

    config = replace(TrainConfig(), epochs=EPOCHS, batch=BATCH, windows_per_clip=WINDOWS_PER_CLIP, max_minutes=None)
    log = ProgressLog(work / "run", quiet=True)
    trained = train_model(manifest, config, work / "cache", log)
    print(f"2. trained {config.arch} on {config.feature}: validation EER {trained.val_eer:.1%}, "
          f"clip score = {trained.calibration.aggregation.replace('_', ' ')}")

    # ## 3. Publish
    # ``publish_version`` exports LiteRT, saves the feature configuration and the
    # calibration, evaluates on the test split with the same ``Detector`` the app
    # uses, writes ``metrics.json``, plots and a model card, and only then renames
    # the folder into the store: a half-written version is never visible.
    from train.publish import publish_version

    store = work / "model_store"
    version = publish_version(trained, corpus, manifest, store, log)
    print(f"3. published {version.name} into {store.name}/")

    # ## 4. Promote
    # A new version serves nothing until it is promoted: one atomic rewrite of
    # ``active.json`` (the Admin page and ``python -m detector promote`` do the same).
    from detector import trust
    from detector.registry import ModelRegistry

    registry = ModelRegistry(store)
    trust.promote(registry, version.name)
    print(f"4. active model: {registry.active().name}")

    # ## 5. A verdict
    # The app's path: decode, validate, featurise, score the windows with LiteRT,
    # aggregate and calibrate, and choose a verdict band. TensorFlow is not needed.
    from detector.inference import Detector

    detector = Detector.from_store(store)
    test_clip = manifest[(manifest["split"] == "test") & (manifest["label"] == "synthetic")]["path"].iloc[0]
    analysis = detector.analyse(test_clip)
    print(f"5. {Path(test_clip).name}: p(synthetic) = {analysis.p_synthetic:.3f} -> {analysis.verdict_label}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder))
