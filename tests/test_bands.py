"""detector.bands: probabilities and band edges are written so that they never contradict."""

from __future__ import annotations

import re

import numpy as np
import pytest

from detector.bands import band_text, format_percent

FIRST_CNN_BAND_EDGES = (0.03940867602806927, 0.9193973588832344)  # the first shipped CNN's edges


def shown(text: str) -> float:
    """The number a reader takes from ``text``; "< 0.01 %" reads as just under 0.01, "> 99.99 %" just over 99.99."""
    number = float(text.strip("<> %"))
    return number - 1e-9 if text.startswith("<") else number + 1e-9 if text.startswith(">") else number


def test_the_reported_case_no_longer_reads_4_percent_between_4_and_92():
    text = band_text([0.0397], *FIRST_CNN_BAND_EDGES)
    assert text.values[0] != text.genuine_below
    assert shown(text.values[0]) > shown(text.genuine_below)  # 3.97 % is uncertain, so it must read >= the edge
    assert (text.values[0], text.genuine_below, text.synthetic_above) == ("4.0 %", "3.9 %", "91.9 %")


def test_plain_values_keep_whole_percentages():
    text = band_text([0.5, 0.15], *FIRST_CNN_BAND_EDGES)
    assert text.values == ["50 %", "15 %"] and text.genuine_below == "4 %" and text.synthetic_above == "92 %"


def test_a_value_just_below_an_edge_reads_below_it():
    text = band_text([0.9193], *FIRST_CNN_BAND_EDGES)
    assert shown(text.values[0]) < shown(text.synthetic_above)


@pytest.mark.parametrize("seed", range(5))
def test_random_values_and_edges_keep_every_comparison(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        low, high = sorted(rng.uniform(0, 1, 2))
        values = list(rng.uniform(0, 1, 3)) + [low + rng.choice([-1, 1]) * 10 ** -rng.uniform(2, 5)]
        values = [min(max(v, 0.0), 1.0) for v in values]
        text = band_text(values, low, high)
        for value, written in zip(values, text.values):
            for edge, edge_text in ((low, text.genuine_below), (high, text.synthetic_above)):
                if abs(value - edge) >= 1e-6:  # closer than 0.0001 % cannot be written with 4 decimals
                    assert (value < edge) == (shown(written) < shown(edge_text)), (value, edge, text)


def test_format_percent_and_bad_input():
    assert format_percent(0.0394, 2) == "3.94 %"
    with pytest.raises(ValueError):
        band_text([1.5], *FIRST_CNN_BAND_EDGES)
    with pytest.raises(ValueError):
        band_text([float("nan")], *FIRST_CNN_BAND_EDGES)
    with pytest.raises(ValueError):
        band_text([0.5], 0.9, 0.1)


def test_a_score_is_never_written_as_a_certainty():
    # Issue 32: "Likely genuine, 0 %" read as a promise; a calibrated score strictly inside (0, 1) is neither.
    for value, edges in ((0.0036, (0.0108, 0.934)), (0.000004, (0.0108, 0.934)), (0.99999, (0.0108, 0.934)),
                         (0.9999999, (0.2, 0.8))):
        written = band_text([value], *edges).values[0]
        assert written not in ("0 %", "100 %") and not re.fullmatch(r"(0|100)(\.0+)? %", written), written
    assert band_text([0.0036], 0.0108, 0.934).values == ["0.4 %"]
    assert band_text([1e-9], 0.0108, 0.934).values == ["< 0.0001 %"]
    assert band_text([0.9999999], 0.2, 0.8).values == ["> 99.9999 %"]
    assert band_text([0.0, 1.0], 0.2, 0.8).values == ["0 %", "100 %"]   # exact ends stay what they are
    assert format_percent(0.00001, 1) == "< 0.1 %" and format_percent(0.99996, 2) == "> 99.99 %"
