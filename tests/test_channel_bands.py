"""Verdict bands per measured channel class (train/channel_bands.py, detector/channel.py, detector/verdict.py)."""

from __future__ import annotations

import numpy as np
import pytest

from detector.calibration import Calibration
from detector.channel import NOISY_SPREAD_DB, channel_class, level_spread_db
from detector.heldout_report import FoldResult, FoldScores, HeldScores
from detector.quality import QualityWarning
from detector.verdict import CANNOT_CLEAR, NOT_EARNED_PER_CHANNEL, judge
from train.channel_bands import MIN_HALF, PROMISE, channel_bands, chosen_target, split_half_error

VAL_GENUINE = list(np.linspace(0.001, 0.4, 200))     # every fold model's genuine validation clips
VAL_SYNTHETIC = list(np.linspace(0.6, 0.999, 200))


def _fold(held_fakes: tuple[np.ndarray, np.ndarray], test_fakes: np.ndarray, channel: str = "wideband",
          test_genuine: np.ndarray | None = None) -> FoldResult:
    """A family fold: never-heard fakes in two speaker halves (train/val) and test clips, all of one class."""
    half0, half1 = held_fakes
    held = HeldScores(list(half0) + list(half1), [1] * (len(half0) + len(half1)),
                      [channel] * (len(half0) + len(half1)), [0] * len(half0) + [1] * len(half1))
    genuine = np.linspace(0.01, 0.5, 60) if test_genuine is None else test_genuine
    p = list(test_fakes) + list(genuine)
    scores = FoldScores(p, [1] * len(test_fakes) + [0] * len(genuine), VAL_GENUINE, VAL_SYNTHETIC,
                        [channel] * len(p), held)
    return FoldResult(len(genuine), len(test_fakes), scores=scores)


def _validation() -> tuple[np.ndarray, np.ndarray]:
    return np.array(VAL_GENUINE + VAL_SYNTHETIC), np.array([0] * 200 + [1] * 200)


def _fakes(n: int, shift: float = 0.0) -> np.ndarray:
    """Never-heard fakes spread evenly above most genuine clips; two shifts interleave like two speaker halves."""
    return np.linspace(0.2, 0.9, n) + shift


def test_an_edge_is_earned_where_unseen_speakers_and_test_clips_keep_the_promise() -> None:
    folds = {"family:a": _fold((_fakes(100), _fakes(100, 0.001)), _fakes(100, 0.002)),
             "family:b": _fold((_fakes(60), _fakes(70, 0.001)), _fakes(90, 0.002))}
    # Set at 2 %, an edge on one half lets 2 % plus one clip of the interleaved other half through: 1 % keeps it.
    assert split_half_error(folds["family:a"].scores.held, "wideband", 0.02, True) == pytest.approx(0.03)
    target, why = chosen_target(folds, "wideband", genuine_edge=True)
    assert target == 0.01 and "unseen speakers" in why
    band = channel_bands(folds, _validation(), classes=("wideband",))["wideband"]
    assert band.genuine_below is not None and band.genuine_rank is not None
    # The edge lands among the final model's genuine validation clips at the strictest fold rank.
    assert 0.0 < band.genuine_below <= 0.4 and "likely genuine: set at 1.0%" in band.note


def test_no_edge_where_one_speaker_half_scores_below_everything_the_other_half_does() -> None:
    low, high = np.linspace(0.001, 0.05, 60), np.linspace(0.3, 0.9, 60)   # half 0 hides under every edge half 1 sets
    folds = {"family:a": _fold((low, high), np.linspace(0.3, 0.9, 100))}
    assert split_half_error(folds["family:a"].scores.held, "wideband", 0.0, True) > PROMISE
    band = channel_bands(folds, _validation(), classes=("wideband",))["wideband"]
    assert band.genuine_below is None and "even the strictest edge" in band.note and "family:a" in band.note


def test_the_test_clips_withdraw_an_edge_they_break_but_never_move_it() -> None:
    held = (_fakes(100), _fakes(100, 0.001))
    kept = channel_bands({"family:a": _fold(held, _fakes(100, 0.002))}, _validation(), ("wideband",))
    broken_test = np.concatenate([np.full(10, 0.002), _fakes(90, 0.002)])   # 10 % of the test fakes very low
    withdrawn = channel_bands({"family:a": _fold(held, broken_test)}, _validation(), ("wideband",))
    assert kept["wideband"].genuine_rank == withdrawn["wideband"].genuine_rank   # set without the test clips
    assert kept["wideband"].genuine_below is not None and withdrawn["wideband"].genuine_below is None
    assert "withdrawn: 11.0% of family:a" in withdrawn["wideband"].note   # the 10 and the lowest interleaved one


def test_narrowband_never_earns_a_green_edge_and_small_halves_check_nothing() -> None:
    narrow = {"family:a": _fold((_fakes(100), _fakes(100, 0.001)), _fakes(99, 0.002), channel="narrowband")}
    band = channel_bands(narrow, _validation(), ("narrowband",))["narrowband"]
    assert band.genuine_below is None and band.genuine_rank is None and "narrowband" in band.note
    small = _fold((_fakes(MIN_HALF - 1), _fakes(80, 0.001)), _fakes(99, 0.002))
    assert split_half_error(small.scores.held, "wideband", 0.02, True) is None


def test_the_channel_class_is_measured_from_warnings_and_level_spread() -> None:
    speech_with_pauses = np.concatenate([np.full((50, 4), 1.0), np.full((50, 4), 1e-6)])   # 60 dB between them
    noise_in_pauses = np.concatenate([np.full((50, 4), 1.0), np.full((50, 4), 1e-2)])      # 20 dB
    assert level_spread_db(speech_with_pauses) == pytest.approx(60.0)
    assert level_spread_db(noise_in_pauses) < NOISY_SPREAD_DB
    assert channel_class([], speech_with_pauses) == "wideband"
    assert channel_class([], noise_in_pauses) == "noisy"
    assert channel_class(["compressed"], noise_in_pauses) == "compressed"
    assert channel_class(["short", "narrow_band", "compressed"], speech_with_pauses) == "narrowband"
    with pytest.raises(ValueError):
        level_spread_db(np.zeros(10))


def test_a_version_with_per_class_bands_judges_by_the_clips_class() -> None:
    bands = {"wideband": {"genuine_below": 0.01, "synthetic_above": 0.95},
             "noisy": {"genuine_below": None, "synthetic_above": 0.95}}
    calibration = Calibration(genuine_below=0.02, synthetic_above=0.9, channel_bands=bands)
    assert judge(0.005, [], calibration, channel="wideband").verdict == "likely_genuine"
    noisy = judge(0.005, [], calibration, channel="noisy")
    assert noisy.verdict == "uncertain" and noisy.capped_by == ["not_earned"]
    assert ("On noisy audio this model earned no *likely genuine* verdict (by its overall edges this score would "
            "read *likely genuine*)") in noisy.explanation
    # An uncertain score on a class without edges says that no verdict was earned there, not which edges apply.
    blind = judge(0.5, [], calibration, channel="compressed")
    assert blind.capped_by == [] and "earned no *likely genuine* or *likely synthetic* verdict" in blind.explanation
    # A class the version has no entry for gets no confident verdict either way.
    assert judge(0.999, [], calibration, channel="compressed").verdict == "uncertain"
    flagged = judge(0.96, [], calibration, channel="noisy")
    assert flagged.verdict == "likely_synthetic" and "scored at 95 % or more" in flagged.explanation   # its class's edge
    with pytest.raises(ValueError):
        Calibration(channel_bands={"wideband": {"genuine_below": 0.5, "synthetic_above": 0.4}})


def test_a_version_without_per_class_bands_still_withholds_green_on_telephone_and_compressed_audio() -> None:
    calibration = Calibration(genuine_below=0.02, synthetic_above=0.9)
    assert "channel_bands" not in calibration.to_dict()   # older calibration.json files read back unchanged
    for code in ("narrow_band", "compressed"):
        judged = judge(0.005, [QualityWarning(code, "...")], calibration, channel="narrowband")
        assert judged.verdict == "uncertain" and judged.capped_by == [code]
        assert CANNOT_CLEAR[code] in judged.explanation and NOT_EARNED_PER_CHANNEL in judged.explanation
    assert judge(0.95, [QualityWarning("narrow_band", "...")], calibration).verdict == "likely_synthetic"
    assert judge(0.005, [QualityWarning("short", "...")], calibration).verdict == "likely_genuine"
