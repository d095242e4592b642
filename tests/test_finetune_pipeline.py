"""A fine-tuned encoder version end to end on the toy corpus: cached streams, one fold, publish, serve.

Fine-tuning starts from Whisper's own weights, so this test uses the shared 4-block encoder
`make encoder` builds (as `make test` does before the suite). The block is trained for one
epoch at a learning rate high enough to move it, and the served scores must be the ones
the training path computed with the moved block: the version's own encoder file is built
from its committed ``tuned_blocks.npz``, never the untouched shared one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from detector import trust
from detector.encoder.runtime import encoder_path
from detector.inference import Detector
from detector.registry import ModelRegistry
from train.encoder import bakeoff, features, frames
from train.encoder.finetune import TunedHead
from train.encoder.publish import publish
from train.encoder.tuned_export import TUNED_FILE, tuned_encoder_name
from train.heldout import available_folds
from train.schema import read_manifest
from train.toy_corpus import make_toy_corpus

pytestmark = pytest.mark.slow
CANDIDATE = "tuned1-01234"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    encoder = encoder_path(4)
    assert encoder.exists(), "run `make encoder` first: fine-tuning starts from the shared Whisper encoder"
    root = tmp_path_factory.mktemp("finetune-pipeline")
    corpus = make_toy_corpus(root / "corpus", clips_per_speaker=3)
    return root, corpus, encoder


def test_a_tuned_block_is_published_and_served_with_the_scores_it_was_trained_to(toy, monkeypatch):
    root, corpus, encoder = toy
    monkeypatch.setattr(features, "CACHE_ROOT", root / "cache")
    monkeypatch.setitem(bakeoff.ROUND3_CANDIDATES, CANDIDATE,
                        lambda: TunedHead(blocks=1, epochs=1, learning_rate=1e-4, l2sp=0.0, keep_best=False))
    frame = read_manifest(corpus)
    assert features.extract(frame, encoder) == {} and frames.extract(frame, encoder) == {}
    frame, data = bakeoff.load_for(str(corpus), str(encoder), CANDIDATE)
    assert data["valid"].all() and data["frames"][0].dtype == np.float16 and data["frames"][0].shape[1] == 512

    fold = available_folds(frame)[:1]
    heldout = bakeoff.run_candidate(CANDIDATE, data, frame, folds=fold)
    assert list(heldout.folds) == [fold[0].name] and heldout.folds[fold[0].name].eer is not None
    fitted = bakeoff.fit_and_calibrate(CANDIDATE, data, data["valid"].copy())
    head = fitted[0]
    assert head.best_epoch == 1
    result = bakeoff.summarise(CANDIDATE, data, frame, heldout, final=fitted)

    store = root / "store"
    folder = publish(str(corpus), str(encoder), CANDIDATE, result, store, "toy-tuned", loaded=(frame, data),
                     fitted=fitted)
    assert (folder / TUNED_FILE).stat().st_size < 20e6 and (store / "encoders" / tuned_encoder_name("toy-tuned")).exists()
    assert not (store / "encoders" / encoder.name).exists()   # it serves on its own file, not the shared one
    record = json.loads((store / "encoders" / "tuned-toy-tuned.json").read_text())
    assert record["weights"].endswith("with block 4 fine-tuned by version toy-tuned")
    assert "fine-tuned" in (folder / "card.md").read_text()
    trust.promote(ModelRegistry(store), "toy-tuned")   # sealed, reference scores and its encoder's digest checked
    detector = Detector.from_store(store)
    clips = frame.index[frame["split"] == "test"][:6]
    served = np.array([detector.analyse(frame.loc[i, "path"]).clip_logit for i in clips])
    trained = head.logits(data["stats"][clips], frames=[data["frames"][i] for i in clips])
    untuned = head.warm.logits(data["stats"][clips])
    # The training path read the cached float16 stream; serving computes it in float32 (measured: ~1e-3 apart).
    np.testing.assert_allclose(served, trained, atol=5e-3)
    assert np.max(np.abs(trained - untuned)) > 0.05   # and the tuned block is what made the difference
