"""Detector analysis, verdict bands, thread safety and the last-good-model service."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from audio_fixtures import encode, voice_like

from detector import trust
from detector.calibration import Calibration
from detector.errors import AudioError, ModelError
from detector.explain import occlusion_map
from detector.inference import Detector
from detector.integrity import seal_folder
from detector.registry import ModelRegistry
from webapp.service import ModelService


def test_analysis_has_everything_the_ui_needs(tiny_detector):
    clip = encode(voice_like(6.5, 44100), 44100, "mp3")
    analysis = tiny_detector.analyse(clip, name="call.mp3")
    assert 0.0 <= analysis.p_synthetic <= 1.0
    assert analysis.verdict in {"likely_genuine", "uncertain", "likely_synthetic"}
    assert analysis.model_version == "v1"
    assert len(analysis.windows) == 6  # 6.5 s, 2 s windows every 1 s, last aligned to the end
    assert analysis.windows[-1].end_s == pytest.approx(analysis.analysed_s, abs=0.02)
    assert analysis.features.shape[1] == tiny_detector.config.n_bins
    assert len(analysis.feature_axis) == tiny_detector.config.n_bins
    data = json.loads(json.dumps(analysis.to_dict()))
    assert data["file"] == "call.mp3" and len(data["sha256"]) == 64
    assert {"p_synthetic", "verdict", "windows", "warnings", "model_version", "created"} <= set(data)


def test_clip_probability_is_calibrated_mean_of_window_logits(tiny_detector):
    analysis = tiny_detector.analyse(encode(voice_like(4.0), 16000, "wav"))
    logits = tiny_detector.scorer.window_logits(analysis.model_input)
    calibration = tiny_detector.calibration
    assert calibration.aggregation == "mean_logit" and (calibration.scale, calibration.bias) != (1.0, 0.0)
    expected = 1 / (1 + np.exp(-(calibration.scale * np.mean(logits) + calibration.bias)))
    assert analysis.p_synthetic == pytest.approx(expected, rel=1e-6)


def test_scores_are_deterministic(tiny_detector):
    clip = encode(voice_like(3.0, seed=4), 16000, "flac")
    assert tiny_detector.analyse(clip).p_synthetic == tiny_detector.analyse(clip).p_synthetic


def test_verdict_bands():
    calibration = Calibration(genuine_below=0.25, synthetic_above=0.75)
    assert calibration.verdict(0.1) == "likely_genuine"
    assert calibration.verdict(0.25) == "uncertain"
    assert calibration.verdict(0.74) == "uncertain"
    assert calibration.verdict(0.75) == "likely_synthetic"


def test_quality_warnings_for_telephone_and_short_clips(tiny_detector):
    analysis = tiny_detector.analyse(encode(voice_like(1.5, 8000), 8000, "wav"))
    codes = {w.code for w in analysis.warnings}
    assert {"narrow_band", "short"} <= codes


def test_bad_input_raises_audio_error(tiny_detector):
    with pytest.raises(AudioError):
        tiny_detector.analyse(b"not audio at all, just words\n" * 10)
    with pytest.raises(AudioError) as info:
        tiny_detector.analyse(encode(np.zeros(32000, np.float32), 16000, "wav"))
    assert info.value.code == "silent"


def test_concurrent_clients_get_serial_scores(tiny_detector):
    clips = [encode(voice_like(2.0 + i % 5, seed=i), 16000, "wav") for i in range(20)]
    serial = [tiny_detector.analyse(c).p_synthetic for c in clips]
    with ThreadPoolExecutor(max_workers=20) as pool:
        parallel = list(pool.map(lambda c: tiny_detector.analyse(c).p_synthetic, clips))
    assert parallel == serial


def test_occlusion_map_matches_features(tiny_detector):
    analysis = tiny_detector.analyse(encode(voice_like(3.0), 16000, "wav"))
    heat = occlusion_map(tiny_detector, analysis, patch_s=0.5, patch_bins=10)
    assert heat.shape == analysis.features.shape
    assert np.all(np.isfinite(heat)) and np.any(heat != 0)


def test_occlusion_hides_excitation_rows_as_one_patch_apart_from_the_spectrum(tmp_path):
    """A melexc model: 40 mel bins in patches of 16 (the last one 8 wide), then the 8 excitation rows alone."""
    from tiny_models import EXC_CONFIG as config
    from tiny_models import tiny_version

    from detector.excitation import EXCITATION_ROWS
    from detector.explain import summary_effect

    assert config.feature == "melexc" and config.n_mels == 40
    detector = Detector.from_store(tiny_version(tmp_path / "exc", "tiny-exc").parent, "exc")
    analysis = detector.analyse(encode(voice_like(3.0), 16000, "wav"))
    assert analysis.features.shape[1] == 40 + EXCITATION_ROWS
    heat = occlusion_map(detector, analysis, patch_s=0.5, patch_bins=16)
    # Every patch hides whole rows: columns within one patch carry the same change.
    for lo, hi in ((0, 16), (16, 32), (32, 40), (40, 48)):
        np.testing.assert_array_equal(heat[:, lo:hi], np.repeat(heat[:, lo:lo + 1], hi - lo, axis=1))
    assert np.any(heat[:, 39] != heat[:, 40])  # the last mel patch stops where the excitation rows begin
    np.testing.assert_allclose(summary_effect(heat, config.spectrum_bins), heat[:, 40])
    assert summary_effect(heat[:, :40], 40) is None


def test_corrupt_model_is_a_model_error(tiny_store):
    (tiny_store / "v2" / "model.tflite").write_bytes(b"garbage" * 100)
    with pytest.raises(ModelError, match="corrupt"):
        Detector.from_store(tiny_store, "v2")


def test_service_keeps_last_good_model(tiny_store):
    service = ModelService(tiny_store)
    assert service.get().name == "v1"
    trust.promote(ModelRegistry(tiny_store), "v2")
    assert service.get().name == "v2"  # follows promotion
    broken = tiny_store / "v3"
    shutil.copytree(tiny_store / "v1", broken)
    seal_folder(broken)   # a copy is sealed under its own name (a record names the version it was sealed for)
    trust.promote(ModelRegistry(tiny_store), "v3")
    (broken / "model.tflite").write_bytes(b"\x00" * 64)  # corrupted after promotion
    assert service.get().name == "v2"
    assert "corrupt" in service.last_error
    (tiny_store / "active.json").write_text(json.dumps({"version": "missing"}))
    assert service.get().name == "v2"
    assert "does not exist" in service.last_error


def test_service_without_any_model(tmp_path):
    with pytest.raises(ModelError, match="No active model"):
        ModelService(tmp_path / "nothing").get()


def test_served_model_input_is_exactly_the_training_input(tiny_detector):
    # Train/serve skew guard: the Detector's inputs equal what the trainer builds.
    from detector.audio import load_audio
    from detector.features import model_input

    clip = encode(voice_like(5.5, 22050, seed=9), 22050, "ogg")
    analysis = tiny_detector.analyse(clip)
    decoded = load_audio(clip, tiny_detector.config.sample_rate)
    served = model_input(decoded.samples, tiny_detector.config)
    windows, starts, features = served.windows, served.starts_s, served.features
    np.testing.assert_array_equal(analysis.model_input, windows)
    np.testing.assert_array_equal(analysis.features, features)
    assert [w.start_s for w in analysis.windows] == list(starts)


def test_served_windows_follow_the_saved_window_norm(tmp_path):
    # A model trained with per-band normalisation must be served with it: the setting
    # travels in features.json, and the trainer's windows equal the served ones.
    from tiny_models import TINY_CONFIG, tiny_version

    from detector.config import FeatureConfig
    from train.dataset import clip_windows

    per_band = FeatureConfig.from_dict({**TINY_CONFIG.to_dict(), "window_norm": "per_band"})
    tiny_version(tmp_path / "store" / "pb", "tiny-a", config=per_band)
    trust.promote(ModelRegistry(tmp_path / "store"), "pb")
    detector = Detector.from_store(tmp_path / "store")
    assert detector.config.window_norm == "per_band"
    analysis = detector.analyse(encode(voice_like(4.0, 16000, seed=4), 16000, "wav"))
    band_means = analysis.model_input[..., 0].mean(axis=1)
    assert np.abs(band_means).max() < 1e-4
    np.testing.assert_allclose(analysis.model_input, clip_windows(analysis.features, per_band), atol=1e-6)
    assert 0.0 <= analysis.p_synthetic <= 1.0
