"""Serving an encoder model version: the shared Whisper encoder once over the clip, a linear head on pooled statistics.

One temporary store holds a 2-block random-weight encoder (through the shipped export
path) and a version written by :func:`train.encoder.version.write_encoder_version` from a
:class:`~train.encoder.heads.PooledLinear` fitted on random statistics, sealed as
publishing seals. The parity tests recompute the training features independently
(``train.encoder.features``) and compare with what the Detector served.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from encoder_helpers import random_variables

from detector import trust
from detector.audio import load_audio
from detector.calibration import Calibration
from detector.config import FEATURE_TYPES, FeatureConfig
from detector.encoder.head_spec import HeadSpec
from detector.encoder.record import ENCODER_RECORD_FILE, EncoderRecord
from detector.encoder.runtime import WhisperEncoder, encoder_input, pooled_stats
from detector.encoder.scorer import EncoderScorer, encoder_clip, head_input
from detector.errors import ModelError
from detector.explain import occlusion_map, region_score
from detector.features import clip_features, feature_axis
from detector.inference import Detector
from detector.integrity import verify
from detector.registry import ModelRegistry
from detector.verdict import VERDICTS

CLIPS = Path(__file__).parent / "clips"
SPOKEN = CLIPS / "ru-nsh" / "genuine.flac"     # 4.3 s: several 2-s windows
OUTPUTS = (0, 1, 2)                            # the stem and both blocks of the 2-block encoder
CALIBRATION = Calibration(scale=1.3, bias=0.2, genuine_below=0.3, synthetic_above=0.7, method="platt")


def platt(logit: float) -> float:
    """CALIBRATION's probability written out: the logistic function of 1.3 * logit + 0.2."""
    return 1.0 / (1.0 + math.exp(-(1.3 * logit + 0.2)))


def random_stats(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pooled-statistics-shaped training data whose labels a linear head can learn a little."""
    labels = np.arange(n) % 2
    stats = rng.normal(size=(n, 3, 2, 512)).astype(np.float32)
    stats[:, 1, 0, :8] += 0.8 * labels[:, None]
    return stats, labels


@pytest.fixture(scope="module")
def encoder_store(tmp_path_factory):
    """A store with ``encoders/whisper-base-2.tflite`` and the sealed encoder version ``enc-v1``; and its head."""
    from train.encoder.export import export_encoder
    from train.encoder.heads import PooledLinear
    from train.encoder.version import write_encoder_version

    store = tmp_path_factory.mktemp("encoder-store")
    encoder = export_encoder(2, store / "encoders" / "whisper-base-2.tflite", variables=random_variables(2, seed=7))
    rng = np.random.default_rng(24)
    head = PooledLinear(OUTPUTS).fit(*random_stats(rng, 60), *random_stats(rng, 40))
    write_encoder_version(store / "enc-v1", head, encoder, 2, CALIBRATION, seal=True)
    return store, head


@pytest.fixture(scope="module")
def encoder_detector(encoder_store):
    return Detector(trust.check(ModelRegistry(encoder_store[0]), "enc-v1"))


def copy_version(source_store: Path, target_store: Path, with_encoder: bool = True) -> Path:
    """``enc-v1`` (and the encoders folder, unless told not to) in a fresh store."""
    shutil.copytree(source_store / "enc-v1", target_store / "enc-v1")
    if with_encoder:
        shutil.copytree(source_store / "encoders", target_store / "encoders")
    return target_store


def test_the_version_folder_holds_the_format(encoder_store):
    store, head = encoder_store
    folder = store / "enc-v1"
    assert {p.name for p in folder.iterdir()} == {"model.tflite", "features.json", "calibration.json", "metrics.json",
                                                  "card.md", "integrity.json", "encoder.json"}
    record = json.loads((folder / ENCODER_RECORD_FILE).read_text())
    assert record["file"] == "whisper-base-2.tflite" and record["blocks"] == 2
    # The head's spec, written once: what it reads and how it was regularised (issue 30, item 3).
    assert record["head"] == {"kind": "pooled", "outputs": [0, 1, 2], "temporal_outputs": [],
                              "c_grid": [0.001, 0.003, 0.01, 0.03, 0.1], "per_output": False}
    assert json.loads((folder / "metrics.json").read_text())["arch"] == "whisper-base-2 + linear-012"
    assert record["pooling"] == "mean and standard deviation over encoder frames"
    assert FeatureConfig.load(folder / "features.json").feature == "whisper"
    assert "encoder.json" in json.loads((folder / "integrity.json").read_text())["files"]
    assert not (folder / "whisper-base-2.tflite").exists()   # the shared encoder is never copied in


def test_analyse_gives_a_verdict_window_scores_and_the_encoders_spectrogram(encoder_store, encoder_detector):
    recorded = json.loads((encoder_store[0] / "enc-v1" / "calibration.json").read_text())
    assert (recorded["scale"], recorded["bias"]) == (1.3, 0.2)   # what platt() writes out
    analysis = encoder_detector.analyse(SPOKEN)
    assert analysis.verdict in VERDICTS and 0.0 < analysis.p_synthetic < 1.0
    assert analysis.p_synthetic == pytest.approx(platt(analysis.clip_logit), abs=1e-12)
    # 0.43 s of leading silence is trimmed off the 4.3-s clip; 2-s windows every second, the last at the end.
    assert analysis.offset_s == pytest.approx(0.43, abs=0.005)
    assert [(w.start_s, w.end_s) for w in analysis.windows] == [
        (pytest.approx(0.43, abs=0.005), pytest.approx(2.43, abs=0.005)),
        (pytest.approx(1.43, abs=0.005), pytest.approx(3.43, abs=0.005)),
        (pytest.approx(1.69, abs=0.005), pytest.approx(3.69, abs=0.005))]
    assert analysis.windows[-1].end_s == pytest.approx(analysis.offset_s + analysis.analysed_s, abs=0.02)
    # The random head scores every window near 0.53, under the 0.7 edge: no stretch is called synthetic.
    assert all(0.3 < w.p_synthetic < 0.7 for w in analysis.windows) and analysis.synthetic_spans == []
    assert analysis.model_input is None
    # The drawn spectrogram is the encoder's own input: Whisper's log-mel of the prepared clip, 100 frames a second.
    np.testing.assert_allclose(analysis.features, encoder_input(analysis.samples), atol=1e-6)
    axis, unit = feature_axis(encoder_detector.config)
    assert analysis.features.shape[1] == len(axis) == 80 and unit == "Hz" and 0 < axis[0] < axis[-1] < 8000
    assert analysis.feature_times[1] - analysis.feature_times[0] == pytest.approx(0.01)


def with_edge(detector: Detector, synthetic_above: float) -> Detector:
    """The same version with its likely-synthetic edge moved."""
    return Detector(dataclasses.replace(detector.version, calibration=dataclasses.replace(
        CALIBRATION, synthetic_above=synthetic_above)), num_threads=1)


def test_stretches_follow_the_window_scores(encoder_detector):
    analysis = encoder_detector.analyse(SPOKEN)   # windows 0.43-2.43, 1.43-3.43 and 1.69-3.69 s
    window_p = sorted(w.p_synthetic for w in analysis.windows)
    edge = (window_p[-1] + window_p[-2]) / 2   # only the top-scoring window passes
    spans = with_edge(encoder_detector, edge).analyse(SPOKEN).synthetic_spans
    top = max(analysis.windows, key=lambda w: w.p_synthetic)
    assert spans == [(pytest.approx(top.start_s), pytest.approx(top.end_s))]
    # With the edge at the lowest window score all three pass, and overlapping they make one stretch.
    spans = with_edge(encoder_detector, window_p[0]).analyse(SPOKEN).synthetic_spans
    assert spans == [(pytest.approx(0.43, abs=0.005), pytest.approx(3.69, abs=0.005))]


def test_served_scores_are_the_training_features_through_the_head(encoder_store, encoder_detector):
    """Train/serve parity: the training path (train.encoder.features) and the head computed independently."""
    from train.encoder.features import prepared_samples

    store, head = encoder_store
    frames = WhisperEncoder(store / "encoders" / "whisper-base-2.tflite").encode(prepared_samples(str(SPOKEN)))
    analysis = encoder_detector.analyse(SPOKEN)
    assert analysis.clip_logit == pytest.approx(float(head.logits(pooled_stats(frames)[None])[0]), abs=1e-4)
    # Window scores: the head on the pooled statistics of each 2-s stretch (100 frames, every 50), the last at the end.
    starts = list(range(0, len(frames) - 100 + 1, 50))
    starts += [len(frames) - 100] if starts[-1] != len(frames) - 100 else []
    assert len(starts) >= 3
    expected = head.logits(np.stack([pooled_stats(frames[s:s + 100]) for s in starts]))
    np.testing.assert_allclose([platt(x) for x in expected], [w.p_synthetic for w in analysis.windows], atol=1e-5)


@pytest.mark.parametrize("clip", sorted(CLIPS.glob("*/*.flac")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_cached_training_features_give_the_served_logit(encoder_store, encoder_detector, tmp_path, monkeypatch,
                                                            clip):
    """What the bake-off and the retrain fit on (the cache entry) scores each real clip as serving does, to 1e-4."""
    import pandas as pd

    from train.encoder import features

    store, head = encoder_store
    monkeypatch.setattr(features, "CACHE_ROOT", tmp_path / "cache")
    encoder, frame = store / "encoders" / "whisper-base-2.tflite", pd.DataFrame({"path": [str(clip)]})
    assert features.extract(frame, encoder) == {}
    stats = features.load(frame, encoder)
    assert stats.dtype == np.float32
    cached = float(head.logits(stats)[0])
    assert encoder_detector.analyse(clip).clip_logit == pytest.approx(cached, abs=1e-4)


def test_evaluation_scores_through_the_same_scorer(encoder_detector):
    analysis = encoder_detector.analyse(SPOKEN)
    decoded = load_audio(SPOKEN, 16_000).samples
    features = encoder_clip(decoded, encoder_detector.config).features
    np.testing.assert_array_equal(features, clip_features(analysis.samples, encoder_detector.config))
    scores = encoder_detector.score_features([features, features[:150]])
    assert scores.clip_logits[0] == pytest.approx(analysis.clip_logit, abs=1e-6)
    assert scores.p_synthetic[0] == pytest.approx(analysis.p_synthetic, abs=1e-6)
    assert len(scores.window_logits[0]) == len(analysis.windows) and len(scores.window_logits[1]) == 1


def test_evaluating_a_split_gives_the_served_clip_scores(encoder_detector):
    import pandas as pd

    from train.evaluate import score_split

    clips = [SPOKEN, CLIPS / "ru-nsh" / "world.flac"]
    rows = score_split(encoder_detector, pd.DataFrame({"path": [str(c) for c in clips], "split": "test"}))
    served = [encoder_detector.analyse(c) for c in clips]
    np.testing.assert_allclose(rows["logit"], [a.clip_logit for a in served], atol=1e-6)
    np.testing.assert_allclose(rows["p_synthetic"], [a.p_synthetic for a in served], atol=1e-6)


def test_an_encoder_versions_latency_is_the_median_time_to_score_a_10_s_clip(monkeypatch):
    """How fast is for the benchmarks; here, what is timed and which figure comes out, on a clock set by hand."""
    import train.evaluate as evaluate

    scored = []

    class Scorer(EncoderScorer):
        def __init__(self):   # the timing call of a real encoder scorer, with scoring replaced by a recorder
            pass

        def score_samples(self, samples):
            scored.append((samples.shape, samples.dtype))

    # perf_counter before and after each call: the first (which plans the encoder) takes 9 s and is not
    # counted; then 4 ms, 1 ms and 2.5 ms, whose median is 2.5 ms.
    readings = iter([100.0, 109.0, 200.0, 200.004, 300.0, 300.001, 400.0, 400.0025])
    monkeypatch.setattr(evaluate, "time", SimpleNamespace(perf_counter=lambda: next(readings)))
    assert evaluate.serving_latency_ms(Scorer(), repeats=3) == pytest.approx(2.5)
    assert scored == [((160_000,), np.float32)] * 4 and next(readings, None) is None   # 10 s at 16 kHz, 1 + 3 times


def test_an_encoder_versions_report_records_its_encoder_latency(encoder_store, tmp_path, monkeypatch):
    import pandas as pd

    import train.evaluate as evaluate
    from detector.encoder.scorer import EncoderScorer

    timed = []
    monkeypatch.setattr(evaluate, "serving_latency_ms", lambda scorer: timed.append(scorer) or 123.25)
    clips = {"en-allison/genuine": 0, "ru-nsh/genuine": 0, "ru-nsh/world": 1, "ru-nsh/griffin_lim": 1,
             "ru-nsh/espeak": 1}
    frame = pd.DataFrame({"path": [str(CLIPS / f"{clip}.flac") for clip in clips], "split": "test",
                          "y": list(clips.values()), "family": ["", "", "vocoder", "vocoder", "tts"],
                          "generator": ["", "", "world", "griffinlim", "espeak"],
                          "language": ["en", "ru", "ru", "ru", "ru"], "condition": "clean", "source": "tests"})
    figures, scored = evaluate.evaluate_version(encoder_store[0] / "enc-v1", frame, tmp_path / "no-corpus")
    assert len(scored) == 5 and len(timed) == 1 and isinstance(timed[0], EncoderScorer)
    assert figures.serving.latency_ms_10s_clip == 123.25
    assert figures.serving.tflite_bytes == (encoder_store[0] / "enc-v1" / "model.tflite").stat().st_size


def test_the_head_is_the_fitted_pooled_linear(encoder_store, encoder_detector):
    _, head = encoder_store
    stats, _ = random_stats(np.random.default_rng(3), 16)
    served = encoder_detector.scorer.head_logits(stats.reshape(16, -1))
    np.testing.assert_allclose(served, head.logits(stats), atol=1e-4)
    frames = np.random.default_rng(4).normal(size=(40, 3, 512)).astype(np.float32)
    np.testing.assert_array_equal(head_input(frames, OUTPUTS), pooled_stats(frames).reshape(-1))


@pytest.mark.parametrize("changed", ["encoder file", "recorded digest"])
def test_an_encoder_other_than_the_recorded_one_is_refused(encoder_store, tmp_path, changed):
    """A record without a fingerprint (written before them) accepts its own bytes only; with one, see
    tests/test_encoder_fingerprint.py."""
    store = copy_version(encoder_store[0], tmp_path)
    record = dataclasses.replace(EncoderRecord.from_dict(json.loads((store / "enc-v1" / ENCODER_RECORD_FILE).read_text())),
                                 fingerprint=None)
    if changed == "encoder file":
        with open(store / "encoders" / "whisper-base-2.tflite", "ab") as handle:
            handle.write(b"\0")
    else:
        record = dataclasses.replace(record, sha256="0" * 64)
    record.save(store / "enc-v1")
    with pytest.raises(ModelError, match=r"encoders/whisper-base-2\.tflite whose SHA-256.*make encoder"):
        ModelRegistry(store).load("enc-v1")


def test_a_missing_shared_encoder_is_refused(encoder_store, tmp_path):
    store = copy_version(encoder_store[0], tmp_path, with_encoder=False)
    with pytest.raises(ModelError, match=r"encoders/whisper-base-2\.tflite, which is missing.*make encoder"):
        trust.check(ModelRegistry(store), "enc-v1")
    with pytest.raises(ModelError):
        trust.promote(ModelRegistry(store), "enc-v1")


def test_an_encoder_version_without_its_record_is_refused(encoder_store, tmp_path):
    store = copy_version(encoder_store[0], tmp_path)
    (store / "enc-v1" / ENCODER_RECORD_FILE).unlink()
    with pytest.raises(ModelError, match="inconsistent.*lacks encoder.json"):
        ModelRegistry(store).load("enc-v1")


def test_the_record_names_its_head_and_refuses_an_unknown_one(encoder_store):
    data = json.loads((encoder_store[0] / "enc-v1" / ENCODER_RECORD_FILE).read_text())
    record = EncoderRecord.from_dict(data)
    assert record.spec.name == "linear-012" and record.head == "pooled" and record.outputs == (0, 1, 2)
    assert EncoderRecord.from_dict(record.to_dict()) == record
    # Records written before specs: top-level outputs, and "head" only for a fused head; regularisation unknown.
    legacy = {k: v for k, v in data.items() if k != "head"} | {"outputs": [0, 1, 2]}
    assert EncoderRecord.from_dict(legacy).spec == HeadSpec("pooled", (0, 1, 2), c_grid=None)
    four_blocks = {k: v for k, v in legacy.items() if k != "fingerprint"} | {"blocks": 4}   # a temporal part reads 0-3
    fused = EncoderRecord.from_dict({**four_blocks, "head": "pooled+temporal"})
    assert fused.spec.name == "fused-012-temporal-0123" and fused.spec.temporal_outputs == (0, 1, 2, 3)
    assert EncoderRecord.from_dict(fused.to_dict()) == fused
    for bad in ({**legacy, "head": "attention"}, {**legacy, "head": 3}, {**data, "extra": 1},
                {**data, "outputs": [0, 1, 2]}, {**data, "head": {**data["head"], "kind": "attention"}},
                {**data, "head": {**data["head"], "temporal_outputs": [0, 1]}}):
        with pytest.raises(ValueError):
            EncoderRecord.from_dict(bad)


def test_a_record_naming_other_outputs_is_refused(encoder_store, tmp_path):
    store = copy_version(encoder_store[0], tmp_path)
    record = EncoderRecord.from_dict(json.loads((store / "enc-v1" / ENCODER_RECORD_FILE).read_text()))
    dataclasses.replace(record, spec=dataclasses.replace(record.spec, outputs=(1, 2))).save(store / "enc-v1")
    version = ModelRegistry(store).load("enc-v1")
    with pytest.raises(ModelError, match="head expects input"):
        Detector(version)
    with pytest.raises(ModelError, match="integrity check: encoder.json"):
        verify(version)


def test_integrity_reproduces_the_reference_scores_through_the_detector(encoder_store):
    version = ModelRegistry(encoder_store[0]).load("enc-v1")
    recorded = json.loads((version.path / "integrity.json").read_text())["references"]
    detector = Detector(version, num_threads=1)
    for entry in recorded:
        clip = Path(__file__).parent.parent / "assets" / "reference" / entry["clip"]
        assert detector.analyse(clip).clip_logit == pytest.approx(entry["clip_logit"], abs=1e-5)


def test_explaining_an_encoder_version_hides_log_mel_patches_and_re_encodes(encoder_detector):
    from app_pages._detect_sections import region_subset

    analysis = encoder_detector.analyse(SPOKEN)
    region = region_subset(analysis, encoder_detector, analysis.windows[0].start_s, analysis.windows[-1].end_s)
    assert len(region.windows) <= 3 and region.model_input is None
    heat = occlusion_map(encoder_detector, region, patch_s=0.5, patch_bins=40)
    assert heat.shape == region.features.shape and np.isfinite(heat).all() and np.abs(heat).max() > 0
    # one cell of the map, recomputed by hand: the patch blurred to the region's mean spectrum
    hidden = region.features.copy()
    hidden[:50, :40] = region.features.mean(axis=0)[:40]
    logit = encoder_detector.scorer.log_mel_logit
    expected = logit(region.features) - logit(hidden)
    assert heat[0, 0] == pytest.approx(expected, abs=1e-5) and heat[49, 39] == heat[0, 0]
    # the region is the first window's stretch of log-mel: its score is close to that window's timeline score
    # (not equal: the timeline's window sees frames the encoder computed with the whole clip as context)
    first = region_subset(analysis, encoder_detector, analysis.windows[0].start_s, analysis.windows[0].end_s)
    alone = 1.0 / (1.0 + math.exp(-(1.3 * logit(first.features) + 0.2)))   # CALIBRATION by hand
    assert alone == pytest.approx(analysis.windows[0].p_synthetic, abs=0.05)
    assert region_score(encoder_detector, first) == pytest.approx(alone, abs=1e-9)   # the score the page shows


def test_cnn_versions_are_served_as_before(tiny_detector):
    assert tiny_detector.version.encoder is None and tiny_detector.scorer.kind == "cnn"
    analysis = tiny_detector.analyse(SPOKEN)
    assert analysis.model_input is not None and len(analysis.model_input) == len(analysis.windows)


def test_the_whisper_front_end_is_served_but_not_offered_to_the_cnn_trainer():
    config = FeatureConfig(feature="whisper")
    assert "whisper" not in FEATURE_TYPES
    assert config.n_bins == config.spectrum_bins == 80 and "80-band Whisper log-mel" in config.front_end.describe(config)
    one_second = (0.1 * np.sin(2 * np.pi * 220 * np.arange(16_000) / 16_000)).astype(np.float32)
    features = clip_features(one_second, config)
    assert features.shape == (100, 80)   # the clip as it is: never repeated to fill a 2-s window
    np.testing.assert_array_equal(features, encoder_input(one_second))


def encoder_detector_level(store) -> str:
    return Detector.from_store(store).analyse(SPOKEN).feature_level


def test_the_detect_page_serves_and_explains_an_encoder_version(encoder_store, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    store = copy_version(encoder_store[0], tmp_path)
    trust.promote(ModelRegistry(store), "enc-v1")
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(store))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    at.file_uploader[0].set_value(("clip.flac", SPOKEN.read_bytes(), "audio/flac")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(v in m.value for m in at.markdown for v in ("Likely genuine", "Uncertain", "Likely synthetic"))
    assert any("The verdict comes from the whole clip at once" in c.value for c in at.caption)
    assert len(at.get("image")) == 2   # the verdict bar; the overview: timeline, waveform and the encoder's log-mel
    assert encoder_detector_level(store) == "loudness (1 unit = 40 dB)"   # issue 34: no "Whisper log-mel" jargon
    assert any("blurred to the region's average" in c.value for c in at.caption)
    at.button(key="explain_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("image")) == 3 and any(c.value.startswith("Explained: seconds") for c in at.caption)


def test_the_feature_cache_is_keyed_on_everything_that_shapes_a_feature(encoder_store, monkeypatch):
    from train.encoder import features

    encoder = encoder_store[0] / "encoders" / "whisper-base-2.tflite"
    key = features.cache_key(encoder)
    for name, value in (("PREPARATION", dataclasses.replace(features.PREPARATION, target_rms_dbfs=-20.0)),
                        ("CACHE_FORMAT", features.CACHE_FORMAT + 1)):
        with monkeypatch.context() as patch:
            patch.setattr(features, name, value)
            assert features.cache_key(encoder) != key, name
    assert features.cache_key(encoder) == key
