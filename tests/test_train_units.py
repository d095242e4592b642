"""Fast unit tests of the training side (no TensorFlow): EER, calibration, data, augmentation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import interp1d
from scipy.optimize import brentq
from sklearn.metrics import roc_curve

from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.features import model_input
from detector.metrics import compute_eer
from detector.windows import standardise
from train.augment import augment_batch
from train.batches import balanced_weights, train_batches
from train.calibrate import calibrate, choose_bands, fit_platt
from train.config import AugmentConfig
from train.dataset import ClipSet, clip_windows, config_hash
from train.evaluate import breakdown, group_figures
from train.schema import LeakageError, check_no_leakage, find_leakage


def sklearn_eer(labels: np.ndarray, scores: np.ndarray) -> float:
    """The classic recipe: sklearn ROC, interpolate, root of 1 - x - tpr(x)."""
    fpr, tpr, _ = roc_curve(labels, scores, pos_label=1)
    return brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0)


# EER ----------------------------------------------------------------------------------
def test_eer_perfect_inverted_and_constant() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert compute_eer(labels, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]))[0] == 0.0
    assert compute_eer(labels, -np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]))[0] == 1.0
    assert compute_eer(labels, np.zeros(6))[0] == pytest.approx(0.5)  # all tied: chance, not 0


def test_eer_threshold_separates_perfect_scores() -> None:
    labels = np.array([0, 0, 1, 1])
    eer, threshold = compute_eer(labels, np.array([-2.0, -1.0, 1.0, 2.0]))
    assert eer == 0.0 and -1.0 < threshold <= 1.0


def test_eer_random_scores_near_half() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 20000)
    assert compute_eer(labels, rng.random(20000))[0] == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_eer_matches_sklearn_recipe(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(400, int), np.ones(300, int)]
    scores = np.r_[rng.normal(0, 1, 400), rng.normal(1.5, 1, 300)]
    assert compute_eer(labels, scores)[0] == pytest.approx(sklearn_eer(labels, scores), abs=2e-3)


def test_eer_with_ties_matches_sklearn() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 500)
    scores = np.round(labels + rng.normal(0, 1.2, 500))  # heavy ties
    assert compute_eer(labels, scores)[0] == pytest.approx(sklearn_eer(labels, scores), abs=1e-3)


# Calibration --------------------------------------------------------------------------
def test_platt_is_monotonic_and_orders_classes() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(300, int), np.ones(300, int)]
    logits = np.r_[rng.normal(-2, 1, 300), rng.normal(2, 1, 300)]
    scale, bias = fit_platt(logits, labels)
    assert scale > 0
    grid = np.linspace(-10, 10, 201)
    p = np.asarray(Calibration(scale=scale, bias=bias).probability(grid))
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))
    # Symmetric classes: p(0) is close to one half.
    assert np.asarray(Calibration(scale=scale, bias=bias).probability([0.0]))[0] == pytest.approx(0.5, abs=0.1)


def test_platt_stays_finite_when_separable() -> None:
    labels = np.array([0] * 50 + [1] * 50)
    logits = np.r_[np.linspace(-5, -1, 50), np.linspace(1, 5, 50)]
    scale, bias = fit_platt(logits, labels)
    assert 0 < scale < 50 and abs(bias) < 5


def test_platt_refuses_inverted_scores() -> None:
    labels = np.array([0] * 20 + [1] * 20)
    with pytest.raises(ValueError, match="inverted"):
        fit_platt(np.r_[np.ones(20), -np.ones(20)] + np.linspace(0, 0.1, 40), labels)


def test_bands_bound_validation_errors() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(500, int), np.ones(500, int)]
    logits = np.r_[rng.normal(-1.5, 1, 500), rng.normal(1.5, 1, 500)]
    calibration, report = calibrate({"mean_logit": logits, "max_logit": logits + 0.3}, labels)
    assert 0 < calibration.genuine_below <= 0.4 and 0.6 <= calibration.synthetic_above < 1
    p = np.asarray(calibration.probability(logits))
    assert np.mean(p[labels == 1] < calibration.genuine_below) <= 0.01
    assert np.mean(p[labels == 0] >= calibration.synthetic_above) <= 0.01
    assert report["aggregation"] == "mean_logit"  # ties go to the default aggregation
    Calibration.from_dict(calibration.to_dict())  # the registry accepts it


def test_calibrate_refuses_a_model_no_better_than_chance() -> None:
    labels = np.array([0, 1] * 50)
    with pytest.raises(ValueError, match="no better than chance"):
        calibrate({"mean_logit": -labels + 0.0, "max_logit": -labels + 0.0}, labels)


def test_choose_bands_keeps_uncertain_zone_when_separable() -> None:
    labels = np.r_[np.zeros(100, int), np.ones(100, int)]
    p = np.r_[np.full(100, 0.01), np.full(100, 0.99)]
    low, high = choose_bands(p, labels)
    assert low <= 0.4 and high >= 0.6


# Data ---------------------------------------------------------------------------------
def _frame(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["file", "y", "speaker", "derived_from", "split"]).assign(
        y=lambda f: f["y"].astype(int), family=lambda f: np.where(f["y"] == 1, "neural", "genuine"))


def test_leakage_detects_shared_speakers_and_sources() -> None:
    clean = _frame([("a.wav", "0", "s1", "", "train"), ("b.wav", "1", "s1", "a.wav", "train"),
                    ("c.wav", "0", "s2", "", "test"), ("d.wav", "1", "s2", "c.wav", "test")])
    check_no_leakage(clean)
    shared_speaker = clean.assign(split=["train", "train", "test", "val"])
    assert find_leakage(shared_speaker)["speaker"] == ["s2"]
    crossed = clean.assign(speaker=["s1", "s9", "s2", "s8"], split=["train", "test", "test", "test"])
    assert find_leakage(crossed)["derived_from"] == ["a.wav"]
    # A vocoder copy keeps its speaker's name: it must stay in that speaker's split.
    vocoded = clean.assign(split=["train", "test", "test", "test"])
    assert find_leakage(vocoded)["speaker"] == ["s1"]
    # TTS voices may recur across splits; texts of a speaker may not leave the speaker's split.
    tts = pd.concat([clean, _frame([("e.wav", "1", "voiceA", "text:s1", "train"),
                                    ("f.wav", "1", "voiceA", "text:s2", "test")])], ignore_index=True)
    check_no_leakage(tts)
    assert find_leakage(tts.assign(split=[*tts["split"][:-1], "val"]))["derived_from"] == ["text:s2"]
    with pytest.raises(LeakageError):
        check_no_leakage(crossed)


def test_balanced_weights_equalise_classes_and_families() -> None:
    frame = pd.DataFrame({"y": [0] * 6 + [1] * 3 + [1], "family": ["genuine"] * 6 + ["neural"] * 3 + ["formant"]})
    weights = balanced_weights(frame)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[frame["y"] == 0].sum() == pytest.approx(0.5)
    assert weights[frame["family"] == "neural"].sum() == pytest.approx(weights[frame["family"] == "formant"].sum())


def test_speaker_balance_shares_each_group_among_its_speakers() -> None:
    frame = pd.DataFrame({"y": [0] * 6 + [1] * 4,
                          "family": ["genuine"] * 6 + ["neural"] * 3 + ["formant"],
                          "speaker": ["big"] * 4 + ["small1", "small2"] + ["v1", "v1", "v2", "f"]})
    by_clip = balanced_weights(frame)
    assert np.allclose(balanced_weights(frame, 0.0), by_clip)
    by_speaker = balanced_weights(frame, 1.0)
    # Class and family shares never move; only the split within a group does.
    for weights in (by_clip, by_speaker, balanced_weights(frame, 0.5)):
        assert weights[frame["y"] == 0].sum() == pytest.approx(0.5)
        assert weights[frame["family"] == "neural"].sum() == pytest.approx(0.25)
    big = (frame["speaker"] == "big").to_numpy()
    assert by_speaker[big].sum() == pytest.approx(by_speaker[frame["speaker"] == "small1"].sum())
    assert by_speaker[frame["speaker"] == "v1"].sum() == pytest.approx(by_speaker[frame["speaker"] == "v2"].sum())
    half = balanced_weights(frame, 0.5)
    assert by_clip[big].sum() > half[big].sum() > by_speaker[big].sum()
    with pytest.raises(ValueError):
        balanced_weights(frame, 1.5)


def test_training_windows_match_serving_windows() -> None:
    config = FeatureConfig()
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32)
    clip = model_input(samples, config)
    windows, features = clip.windows, clip.features
    np.testing.assert_allclose(clip_windows(features, config), windows, atol=1e-6)
    batch = features[np.newaxis, : config.window_frames]
    np.testing.assert_allclose(standardise(batch)[0], standardise(features[: config.window_frames]), atol=1e-5)


def test_per_band_windows_match_serving_and_ignore_a_fixed_colouring() -> None:
    config = FeatureConfig(feature="mel", window_norm="per_band")
    rng = np.random.default_rng(1)
    samples = (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32)
    clip = model_input(samples, config)
    windows, features = clip.windows, clip.features
    np.testing.assert_allclose(clip_windows(features, config), windows, atol=1e-6)
    crop = features[np.newaxis, : config.window_frames].astype(np.float32)
    served = standardise(crop[0], "per_band")
    np.testing.assert_allclose(standardise(crop, "per_band")[0], served, atol=1e-5)
    assert np.abs(served.mean(axis=0)).max() < 1e-4          # every band centred on its own mean
    assert served.std() == pytest.approx(1.0, abs=1e-3)
    # A colouring fixed over the window (a microphone's EQ, in dB per band) vanishes...
    colouring = np.linspace(-12.0, 6.0, crop.shape[2], dtype=np.float32)
    np.testing.assert_allclose(standardise(crop[0] + colouring, "per_band"), served, atol=1e-4)
    # ...whereas the global normalisation keeps it.
    assert np.abs(standardise(crop[0] + colouring) - standardise(crop[0])).max() > 0.1
    # The batches the trainer draws use the config's normalisation too.
    clips = ClipSet(pd.DataFrame({"y": [0, 1], "family": ["genuine", "neural"]}), [features, features])
    batch, _ = next(train_batches(clips, config, 4, None, seed=0))
    assert np.abs(batch[..., 0].mean(axis=1)).max() < 1e-4


def test_window_norm_is_saved_checked_and_kept_out_of_the_feature_cache_key() -> None:
    from train.config import TrainConfig

    assert FeatureConfig().window_norm == "global"   # models saved before the field existed
    with pytest.raises(ValueError):
        FeatureConfig(window_norm="per_clip")
    assert TrainConfig(window_norm="per_band").feature_config().window_norm == "per_band"
    # Cached features come before normalisation, so both settings share one cache.
    assert config_hash(FeatureConfig(window_norm="global")) == config_hash(FeatureConfig(window_norm="per_band"))
    assert config_hash(FeatureConfig(feature="mel")) != config_hash(FeatureConfig(feature="lfcc"))


def test_augmentation_masks_and_keeps_standardised_shape() -> None:
    config = FeatureConfig()
    rng = np.random.default_rng(0)
    raw = rng.normal(-40, 10, (8, config.window_frames, config.n_bins)).astype(np.float32)
    augment = AugmentConfig(prob=1.0, time_masks=1, time_mask_frames=30, freq_masks=1, freq_mask_fraction=0.2)
    out = augment_batch(raw.copy(), augment, config, rng, standardise)
    assert out.shape == raw.shape and np.isfinite(out).all()
    assert np.mean(out == 0.0) > 0.01  # masked cells are exactly zero
    untouched = augment_batch(raw.copy(), AugmentConfig(prob=0.0), config, rng, standardise)
    np.testing.assert_allclose(untouched, standardise(raw), atol=1e-6)


def test_equaliser_augmentation_leaves_melfine_fine_bands_alone() -> None:
    config = FeatureConfig(feature="melfine")
    rng = np.random.default_rng(1)
    raw = rng.normal(-40, 10, (4, config.window_frames, config.n_bins)).astype(np.float32)
    eq_only = AugmentConfig(prob=1.0, time_masks=0, freq_masks=0, eq_db=6.0)
    out = augment_batch(raw.copy(), eq_only, config, rng, lambda w: w)   # identity: see the gain itself
    change = out - raw
    assert np.abs(change[:, :, : config.n_mels]).max() > 0.5   # the spectrum part was equalised
    assert not change[:, :, config.n_mels:].any()              # the fine-structure part was not


# Evaluation breakdowns ----------------------------------------------------------------
def test_breakdown_scores_each_family_against_all_genuine() -> None:
    scored = pd.DataFrame({
        "y": [0] * 10 + [1] * 10,
        "family": ["genuine"] * 10 + ["neural"] * 5 + ["formant"] * 5,
        "condition": ["clean", "mp3"] * 10,
        "logit": np.r_[np.linspace(-2, 0, 10), np.linspace(1, 2, 5), np.linspace(-2, 0, 5)],
    })
    families = breakdown(scored, "family")
    assert set(families) == {"neural", "formant"}
    assert families["neural"].eer == 0.0 and families["neural"].n_genuine == 10
    assert families["formant"].eer > 0.3
    too_few = group_figures(np.array([0, 1, 1]), np.array([0.0, 1.0, 2.0]))
    assert too_few.eer is None and "fewer than" in too_few.note   # the held-out minimum-clips rule


def test_training_libraries_import_tensorflow_only_when_they_train() -> None:
    """The trainer and tuner (train.fit, train.tune, train.publish) load TensorFlow at module top by design; the
    libraries the Admin page, evaluation, the held-out folds and the corpus builder use must not."""
    import subprocess
    import sys

    code = ("import sys, train.config, train.evaluate, train.calibrate, train.dataset, train.card, "
            "train.plots, train.heldout, train.archs, train.export, train.loop, train.averaging, "
            "detector.registry, detector.model_report; "
            "sys.exit(1 if {'tensorflow', 'keras', 'keras_tuner'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_command_line_flags_override_the_defaults_and_a_config_file(tmp_path) -> None:
    from train.config import TrainConfig
    from train.fit import build_parser, config_from_args

    assert config_from_args(build_parser().parse_args(["--corpus", "c"])) == TrainConfig()
    saved = TrainConfig(epochs=3, feature="lfcc", weight_average_decay=0.9)
    saved.save(tmp_path / "train_config.json")
    args = build_parser().parse_args(["--corpus", "c", "--config", str(tmp_path / "train_config.json"),
                                      "--weight-average-decay", "0.99", "--features", "mel",
                                      "--window-norm", "per_band", "--speaker-balance", "0.5"])
    config = config_from_args(args)
    assert (config.epochs, config.feature, config.weight_average_decay) == (3, "mel", 0.99)
    assert (config.window_norm, config.speaker_balance) == ("per_band", 0.5)
    assert config.feature_config().window_norm == "per_band"
