"""webapp.report: the shareable HTML report and the JSON carry every promised field."""

from __future__ import annotations

import base64
import json
import re

import pytest
from audio_fixtures import encode, voice_like

from webapp import figures
from webapp.report import report_dict, report_html


@pytest.fixture(scope="module")
def analysed(tiny_detector):
    data = encode(voice_like(6.0, seed=9), 16000, "flac")
    return tiny_detector.analyse(data, name="interview <2>.flac"), tiny_detector


def test_json_report_holds_the_fields(analysed):
    analysis, detector = analysed
    data = report_dict(analysis, detector.version)
    json.dumps(data)  # serialisable
    for key in ("file", "sha256", "duration_s", "container", "codec", "original_sample_rate", "channels",
                "verdict", "verdict_label", "p_synthetic", "offset_s", "windows", "warnings", "synthetic_spans",
                "verdict_capped_by", "model", "bands", "limits"):
        assert key in data, key
    assert data["bands"]["genuine_below"] == 0.3 and data["bands"]["synthetic_above"] == 0.7
    assert data["model"]["version"] == "v1" and data["model"]["error_rates"]["test_eer"] == 0.5
    assert data["limits"].startswith("A verdict is evidence, not proof")  # the tiny card has no limits section


def test_html_report_holds_the_fields_and_needs_nothing_from_outside(analysed):
    analysis, detector = analysed
    calibration = detector.calibration
    png = figures.overview_png(analysis, calibration.genuine_below, calibration.synthetic_above)
    page = report_html(analysis, detector.version, png)
    assert "interview &lt;2&gt;.flac" in page and "<2>" not in page  # the file name is escaped
    assert analysis.sha256 in page
    assert f"{analysis.duration_s:.2f} s" in page and "flac" in page and "16000 Hz" in page
    assert analysis.verdict_label in page
    assert "below 30 % likely genuine" in page and "70 % or more likely synthetic" in page
    assert "<code>v1</code>" in page and "Error rate on test clips of the kinds it trained on</th><td>50.00 % (test split)" in page
    assert f"from {analysis.offset_s:.2f} s into the file" in page
    assert "What this cannot tell you" in page and "Recording quality" in page
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(embedded) == png
    assert not re.search(r'(src|href)="(https?:)?//', page)  # offline: no outside requests


def test_report_refuses_another_models_version(analysed, tiny_store):
    from detector.registry import ModelRegistry

    analysis, _ = analysed
    with pytest.raises(ValueError, match="made with 'v1'"):
        report_dict(analysis, ModelRegistry(tiny_store).load("v2"))
