"""No green verdict on narrowband audio (issue 32's narrowband rule, for versions without per-channel bands).

Measured on independent clips: the shipped model called 26 % of never-heard fakes passed
through a telephone channel *likely genuine*, and no edge from this corpus's folds could
prevent it. So *likely genuine* is withheld wherever the app's own bandwidth rule says
narrowband; *likely synthetic* still stands there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from channel_copies import CLIPS, telephone_round_trip
from cli_helpers import run_cli
from conftest import REPO_STORE

from detector.inference import Detector
from detector.verdict import CANNOT_CLEAR, cannot_clear_reasons, capped_verdict

TELEPHONE_SENTENCE = "This model cannot clear telephone-quality audio"


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector.from_store(REPO_STORE)


def test_the_rule_withholds_only_the_green_verdict():
    withheld = cannot_clear_reasons(["short", "narrow_band"])
    assert list(withheld) == ["narrow_band"] and withheld["narrow_band"].startswith(TELEPHONE_SENTENCE)
    assert capped_verdict("likely_genuine", [], list(withheld)) == "uncertain"
    assert capped_verdict("likely_synthetic", [], list(withheld)) == "likely_synthetic"
    assert capped_verdict("uncertain", [], list(withheld)) == "uncertain"
    assert capped_verdict("likely_genuine", [], []) == "likely_genuine"
    # Heavy compression too: the corpus stores decoded audio, so no band was earned on a compressed file.
    assert list(cannot_clear_reasons(["short", "compressed"])) == ["compressed"]
    assert cannot_clear_reasons(["short", "mostly_silence"]) == {}


@pytest.mark.parametrize("clip", CLIPS, ids=[f"{c.parent.name}/{c.stem}" for c in CLIPS])
def test_no_telephone_copy_of_a_test_clip_reads_likely_genuine(shipped, clip):
    analysis = shipped.analyse(telephone_round_trip(clip), name="telephone.wav")
    assert "narrow_band" in [w.code for w in analysis.warnings]
    assert analysis.verdict != "likely_genuine"
    if shipped.calibration.verdict(analysis.p_synthetic) == "likely_genuine":   # the score alone would clear it
        assert analysis.verdict_capped_by == ["narrow_band"]
        assert CANNOT_CLEAR["narrow_band"] in analysis.explanation
        assert "not earned for each kind of channel" in analysis.explanation


def test_the_genuine_clip_is_cleared_wideband_and_withheld_after_a_telephone_channel(shipped):
    # The control: the rule changes the verdict of this clip only because of the channel.
    genuine = Path(__file__).parent / "clips" / "ru-nsh" / "genuine.flac"
    assert shipped.analyse(genuine).verdict == "likely_genuine"
    narrow = shipped.analyse(telephone_round_trip(genuine), name="telephone.wav")
    assert narrow.verdict == "uncertain" and narrow.verdict_capped_by == ["narrow_band"]


def test_a_synthetic_telephone_copy_is_still_flagged(shipped):
    espeak = Path(__file__).parent / "clips" / "ru-nsh" / "espeak.flac"
    assert shipped.analyse(telephone_round_trip(espeak), name="telephone.wav").verdict == "likely_synthetic"


def test_the_cli_gives_no_telephone_copy_the_green_verdict(tmp_path):
    for clip in CLIPS:
        (tmp_path / f"{clip.parent.name}-{clip.stem}.wav").write_bytes(telephone_round_trip(clip))
    code, out, err = run_cli("score", str(tmp_path), "--format", "json", store=REPO_STORE)
    rows = json.loads(out)
    assert code == 0 and len(rows) == len(CLIPS), err
    assert all(row["verdict"] in ("uncertain", "likely_synthetic") for row in rows)
    assert all(any(w.startswith("Narrow bandwidth") for w in row["warnings"]) for row in rows)
    assert sum(row["verdict"] == "likely_synthetic" for row in rows) == 1   # the espeak copy


def test_the_report_headline_carries_the_cap_and_the_warnings_come_before_the_charts(shipped):
    from webapp.report import report_html

    genuine = Path(__file__).parent / "clips" / "ru-nsh" / "genuine.flac"
    analysis = shipped.analyse(telephone_round_trip(genuine), name="telephone.wav")
    page = report_html(analysis, shipped.version, overview_png=b"png")
    headline = page.split('<p class="verdict uncertain">', 1)[1].split("</p>", 1)[0]
    assert headline.startswith("Uncertain (capped: telephone-quality audio, which this model cannot clear):")
    assert page.index("<h2>Recording quality</h2>") < page.index("<h2>Score over time") < page.index("<img")
    assert "Narrow bandwidth" in page.split("<h2>Recording quality</h2>", 1)[1].split("</ul>", 1)[0]
