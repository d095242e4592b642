"""The encoder path end to end on the toy corpus: features, held-out bake-off, publish, a served verdict.

A 2-block random-weight encoder made by the shipped export code stands in for Whisper, so
the suite needs no 145 MB weights here; the toy corpus separates its classes by construction.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from encoder_helpers import random_variables

from detector import trust
from detector.encoder.runtime import WhisperEncoder
from detector.heldout_report import BandRates, FoldResult, HeldOutReport
from detector.inference import Detector
from detector.model_report import to_dict
from detector.registry import ModelRegistry
from train.encoder import bakeoff, features, retrain
from train.encoder.export import export_encoder
from train.encoder.features import clip_entry, prepared_samples
from train.encoder.heads import SERVABLE, PooledLinear
from train.encoder.publish import publish
from train.events import read_progress
from train.heldout import available_folds
from train.schema import read_manifest
from train.toy_corpus import make_toy_corpus
from webapp.job_commands import ENCODER_HEADS


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoder-pipeline")
    corpus = make_toy_corpus(root / "corpus", clips_per_speaker=4)
    encoder = export_encoder(2, root / "whisper-random-2.tflite", variables=random_variables(2, seed=4))
    return root, Path(corpus), encoder


def test_features_bakeoff_publish_and_serve(toy, monkeypatch):
    root, corpus, encoder = toy
    monkeypatch.setattr(features, "CACHE_ROOT", root / "cache")
    monkeypatch.setitem(bakeoff.CANDIDATES, "linear-012", lambda: PooledLinear((0, 1, 2)))
    frame = read_manifest(corpus)
    assert features.extract(frame, encoder) == {}
    cached = list((root / "cache").rglob("*.npz"))
    assert len(cached) == len(frame)
    with np.load(cached[0]) as entry:
        assert entry["stats"].shape == (3, 2, 512) and entry["sequence"].shape[1:] == (3, 512)

    frame, data = bakeoff.load_data(str(corpus), str(encoder), sequences=False)
    heldout = bakeoff.run_candidate("linear-012", data, frame)   # the one held-out engine, typed results
    folds = heldout.folds
    assert set(folds) == {fold.name for fold in available_folds(frame)} and all(f.eer is not None
                                                                                 for f in folds.values())
    result = bakeoff.summarise("linear-012", data, frame, heldout)
    assert result["bands"]["genuine_below"] < result["bands"]["synthetic_above"]
    assert result["test_eer"] < 0.5
    store = root / "store"
    folder = publish(str(corpus), str(encoder), "linear-012", result, store, "toy-encoder")
    assert not list(store.glob(".tmp-*"))   # assembled aside, then renamed
    registry = ModelRegistry(store)
    trust.promote(registry, "toy-encoder")   # checks files, reference scores and the shared encoder's digest
    report = registry.active().report
    assert report.test.eer == pytest.approx(result["test_eer"], abs=1e-4)   # served path = bake-off's final fit (rounded there)
    assert set(report.heldout.folds) == set(folds)
    # Publish writes the whole held-out result: per-protocol means, rank bands, and where each rate was measured.
    assert report.heldout.mean_eer_by_protocol and report.heldout.bands.genuine_rank is not None
    assert report.heldout.rates_measured_at is not None and report.heldout.ranks_measured_at is not None
    assert all(f.at_shipped_bands is not None for f in report.heldout.folds.values() if f.scores)
    detector = Detector.from_store(store)
    clip = frame.loc[frame["split"] == "test", "path"].iloc[0]
    analysis = detector.analyse(clip)
    assert analysis.verdict in ("likely_genuine", "uncertain", "likely_synthetic") and analysis.windows
    assert (folder / "encoder.json").is_file() and not (folder / encoder.name).exists()   # shared, not copied


def retrain_store(toy, tmp_path, monkeypatch) -> Path:
    """A store whose ``encoders/`` holds the toy encoder under the name serving looks for; a fresh cache."""
    root, corpus, encoder = toy
    monkeypatch.setattr(features, "CACHE_ROOT", tmp_path / "cache")
    monkeypatch.setitem(bakeoff.CANDIDATES, "linear-012", lambda: PooledLinear((0, 1, 2)))
    monkeypatch.setattr(retrain, "SERVABLE", (*retrain.SERVABLE, "linear-012"))
    store = tmp_path / "store"
    (store / "encoders").mkdir(parents=True)
    shutil.copy2(encoder, store / "encoders" / "whisper-base-2.tflite")
    shutil.copy2(encoder.with_suffix(".json"), store / "encoders" / "whisper-base-2.json")   # as `make encoder` writes
    return store


def run_retrain(corpus: Path, store: Path, run_dir: Path) -> tuple[int, list[dict]]:
    code = retrain.main(["--corpus", str(corpus), "--store", str(store), "--run-dir", str(run_dir),
                         "--candidate", "linear-012", "--blocks", "2"])
    return code, read_progress(run_dir)


def test_admin_retrain_encodes_once_refits_the_folds_and_publishes_unpromoted(toy, tmp_path, monkeypatch):
    _, corpus, _ = toy
    store = retrain_store(toy, tmp_path, monkeypatch)
    code, events = run_retrain(corpus, store, tmp_path / "job1")
    assert code == 0, events[-1]
    clips = len(read_manifest(corpus))
    assert "first run on this corpus" in events[0]["message"] and events[0]["done"] == 0
    folds = [e for e in events if e["event"] == "fold"]
    assert folds[-1]["done"] == folds[-1]["total"] == len(available_folds(read_manifest(corpus)))
    assert [e["event"] for e in events[-3:]] == ["export", "evaluate", "done"]
    version = events[-1]["version"]
    registry = ModelRegistry(store)
    assert registry.versions() == [version] and registry.active_name() is None   # published, never promoted
    trust.promote(registry, version)   # sealed: files, reference scores and the shared encoder's digest check out
    assert set(registry.active().report.heldout.folds) == {e["message"].removeprefix("held out: ")
                                                           for e in folds[:-1]}
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == clips

    code, events = run_retrain(corpus, store, tmp_path / "job2")   # the second run reads the cache
    assert code == 0 and events[0]["message"] == "0 clips not cached yet" and events[0]["done"] == clips
    assert len(ModelRegistry(store).versions()) == 2 and not list(store.glob(".tmp-*"))


def test_admin_retrain_says_what_is_missing(toy, tmp_path, monkeypatch):
    _, corpus, _ = toy
    store = retrain_store(toy, tmp_path, monkeypatch)
    (store / "encoders" / "whisper-base-2.tflite").unlink()
    code, events = run_retrain(corpus, store, tmp_path / "job")
    assert code == 2 and "make encoder" in events[-1]["message"] and events[-1]["event"] == "error"
    with pytest.raises(retrain.RetrainError, match="not a head the app can serve"):
        retrain.retrain(corpus, store, tmp_path / "job", candidate="temporal-0123")


def test_the_page_offers_exactly_the_servable_heads():
    assert sorted(ENCODER_HEADS) == sorted(SERVABLE) and ENCODER_HEADS[0] == retrain.DEFAULT_CANDIDATE


def test_a_fused_head_is_published_and_served_with_the_scores_it_was_fitted_to(toy, tmp_path, monkeypatch):
    from train.encoder.heads import FusedHead, TemporalHead

    root, corpus, encoder = toy
    monkeypatch.setattr(features, "CACHE_ROOT", root / "cache")   # the first test's features
    monkeypatch.setitem(bakeoff.CANDIDATES, "fused-012", lambda: FusedHead(
        linear=PooledLinear((0, 1, 2)), temporal=TemporalHead(epochs=3, width=16)))
    assert features.extract(read_manifest(corpus), encoder) == {}   # cached already when the first test ran
    frame, data = bakeoff.load_data(str(corpus), str(encoder), sequences=True)
    head, calibration, _, _ = bakeoff.fit_and_calibrate("fused-012", data, data["valid"].copy())
    store = tmp_path / "store"
    (store / "encoders").mkdir(parents=True)
    shutil.copy2(encoder, store / "encoders" / encoder.name)
    stand_in = HeldOutReport(folds={"family:a": FoldResult(6, 6, eer=0.1, own_bands=BandRates(0.0, 0.0))},
                             mean_eer=0.1, worst_fold="family:a")   # the fold figures: stand-ins
    summary = {"bands": {"genuine_below": 0.2, "synthetic_above": 0.8}, "val_eer": 0.0, "mean_heldout_eer": 0.1,
               "candidate": "fused-012", "heldout": to_dict(stand_in)}
    folder = publish(str(corpus), str(encoder), "fused-012", summary, store, "toy-fused", loaded=(frame, data),
                     fitted=(head, calibration, None, None))
    assert json.loads((folder / "encoder.json").read_text())["head"]["kind"] == "pooled+temporal"
    trust.promote(ModelRegistry(store), "toy-fused")   # sealed and checked like any version
    detector = Detector.from_store(store)
    clips = frame.index[frame["split"] == "test"][:6]
    served = [detector.analyse(frame.loc[i, "path"]).clip_logit for i in clips]
    fitted = head.logits(data["stats"][clips], seqs=[data["seqs"][i] for i in clips])
    # Statistics are cached as float32 (as served); the sequences as float16, which is all that differs here.
    np.testing.assert_allclose(served, fitted, atol=2e-3)
    # A clip longer than anything in training, across the encoder's 30-s chunks, both ways (issue 30, item 4).
    long_clip = tmp_path / "long.wav"
    paths = list(frame["path"])
    samples = np.concatenate([prepared_samples(p) for p in (paths * 20)[:40]])
    sf.write(long_clip, samples, 16_000)
    served_long = detector.analyse(long_clip)
    assert served_long.analysed_s >= 60
    entry = clip_entry(WhisperEncoder(encoder), str(long_clip))
    trained_long = head.logits(entry["stats"][None].astype(np.float32), seqs=[entry["sequence"].astype(np.float32)])
    print(f"long clip ({served_long.analysed_s:.1f} s): served {served_long.clip_logit:.5f}, "
          f"training path {trained_long[0]:.5f}")
    assert served_long.clip_logit == pytest.approx(float(trained_long[0]), abs=2e-3)
    # After a sequence over 30 s the head's interpreter is rebuilt (its buffers freed), and scores stay the same.
    program = detector.scorer._fused._program
    declared = program.input_shape(program.input_index("sequence"))
    assert declared[1] <= 300 and detector.analyse(long_clip).clip_logit == served_long.clip_logit


def test_publish_never_replaces_a_shared_encoder_with_another_file(tmp_path):
    from train.encoder.publish import place_shared_encoder

    encoder, other = tmp_path / "whisper-base-2.tflite", tmp_path / "other" / "whisper-base-2.tflite"
    encoder.write_bytes(b"one encoder")
    other.parent.mkdir()
    other.write_bytes(b"another encoder")
    store = tmp_path / "store"
    assert place_shared_encoder(encoder, store).read_bytes() == b"one encoder"      # copied in once
    assert place_shared_encoder(encoder, store).read_bytes() == b"one encoder"      # the same file again: fine
    with pytest.raises(FileExistsError, match="differs from the encoder"):
        place_shared_encoder(other, store)
    assert (store / "encoders" / "whisper-base-2.tflite").read_bytes() == b"one encoder"   # untouched
