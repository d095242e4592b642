"""train/channel_audit.py: the serving path's narrowband decision, tabulated against recorded conditions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.channel import level_spread_db
from train.channel_audit import measure, tables

CLIPS = Path(__file__).parent / "clips"


def test_measure_uses_the_serving_rule():
    assert measure(str(CLIPS / "en-allison" / "genuine.flac"))["narrowband"] is True    # an 8-kHz prompt
    assert measure(str(CLIPS / "ru-nsh" / "genuine.flac"))["narrowband"] is False       # wideband speech


def test_level_spread_is_low_when_noise_fills_the_pauses():
    loud, quiet = np.full((10, 4), 1.0), np.full((10, 4), 1e-4)   # 40 dB between loud and quiet frames
    assert level_spread_db(np.concatenate([loud, quiet])) == pytest.approx(40.0, abs=1e-6)
    assert level_spread_db(np.concatenate([loud, np.full((10, 4), 0.1)])) == pytest.approx(10.0, abs=1e-6)


def test_the_table_counts_agreement_by_hand():
    measured = pd.DataFrame({"condition": ["telephone", "telephone", "clean", "clean"],
                             "source": ["a", "a", "a", "b"], "label": ["genuine", "synthetic", "genuine", "synthetic"],
                             "narrowband": [True, False, True, False], "level_spread_db": [40.0, 41.0, 30.0, 50.0]})
    text = tables(measured)
    assert "| telephone | 2 | 50.0 % |" in text and "| clean | 2 | 50.0 % |" in text
    assert "50.0 % of 4 clips" in text   # right: telephone-narrow, clean-wide; wrong: the other two
    assert "| a | 100 % of 1 | – |" in text and "| b | – | 0 % of 1 |" in text
