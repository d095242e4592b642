"""No green verdict on heavily compressed files (issue 32): 32-kbit/s MP3 copies of the test clips, shipped model.

The corpus stores decoded audio, so no band was ever earned on a file that is itself
heavily compressed (``detector.verdict.CANNOT_CLEAR["compressed"]``). The class is read
from the file's container (``detector.quality``: a lossy codec under 48 kbit/s).
"""

from __future__ import annotations

import json

import pytest
from channel_copies import CLIPS, SYNTHETIC_CLIPS, mp3_copy
from cli_helpers import run_cli
from conftest import REPO_STORE
from streamlit.testing.v1 import AppTest
from test_app_detect import APP, assert_clean, verdict_text

from detector.inference import Detector
from detector.verdict import CANNOT_CLEAR


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector.from_store(REPO_STORE)


@pytest.mark.parametrize("clip", CLIPS, ids=[f"{c.parent.name}/{c.stem}" for c in CLIPS])
def test_no_mp3_copy_of_a_test_clip_reads_likely_genuine(shipped, clip):
    analysis = shipped.analyse(mp3_copy(clip), name="copy.mp3")
    assert analysis.bit_rate == 32_000 and "compressed" in [w.code for w in analysis.warnings]
    assert analysis.channel in ("compressed", "narrowband")   # narrowband wins where the copy is that too
    assert analysis.verdict != "likely_genuine"
    if shipped.calibration.verdict(analysis.p_synthetic) == "likely_genuine":   # the score alone would clear it
        assert analysis.verdict_capped_by and CANNOT_CLEAR["compressed"] in analysis.explanation


def test_the_cli_gives_no_mp3_copy_of_a_synthetic_clip_the_green_verdict(tmp_path):
    for clip in SYNTHETIC_CLIPS:
        (tmp_path / f"{clip.parent.name}-{clip.stem}.mp3").write_bytes(mp3_copy(clip))
    code, out, err = run_cli("score", str(tmp_path), "--format", "json", store=REPO_STORE)
    rows = json.loads(out)
    assert code == 0 and len(rows) == len(SYNTHETIC_CLIPS), err
    assert all(row["verdict"] in ("uncertain", "likely_synthetic") for row in rows)
    assert all(any(w.startswith("Heavily compressed") for w in row["warnings"]) for row in rows)


@pytest.mark.app
def test_the_detect_page_gives_an_mp3_copy_of_a_synthetic_clip_no_green_verdict(monkeypatch):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(REPO_STORE))
    app = AppTest.from_file(APP, default_timeout=120).run()
    world = next(c for c in SYNTHETIC_CLIPS if c.stem == "world")
    app.file_uploader[0].set_value(("world.mp3", mp3_copy(world), "audio/mpeg")).run()
    assert_clean(app)
    assert verdict_text(app) in ("Uncertain", "Likely synthetic")
    assert any("Heavily compressed" in w.value for w in app.warning)
