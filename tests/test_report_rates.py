"""webapp.report's model section (issue 34, item 1): the held-out rates lead, and every rate says what it was
measured on, so that "Synthetic clips called likely genuine 0.18 %" (the test split) cannot be quoted as the
model's miss rate on a new generator (up to 35.38 % in the held-out folds)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from detector.analysis import Analysis
from detector.registry import ModelRegistry
from detector.verdict import WindowScore
from webapp.report import report_dict, report_html

STORE = Path(__file__).resolve().parent.parent / "model_store"
CNN_MODEL = "20261130-0747-effnet-melexc"


def made_up(version, p: float = 0.5) -> Analysis:
    """An analysis of ``version`` with flat window scores (no audio: the report needs none)."""
    return Analysis(name="clip.wav", sha256="0" * 64, model_version=version.name, p_synthetic=p, clip_logit=0.0,
                    verdict=version.calibration.verdict(p), explanation="Made up.",
                    windows=[WindowScore(i, i + 2.0, p) for i in range(3)], warnings=[], duration_s=4.0,
                    analysed_s=4.0, source_duration_s=4.0, original_sample_rate=16000, container="wav",
                    codec="pcm_s16le", truncated=False, sample_rate=16000, samples=np.zeros(16000, np.float32),
                    features=np.zeros((10, 4), np.float32), feature_times=np.arange(10) * 0.01,
                    feature_axis=np.arange(4.0))


def model_rows(page: str) -> list[tuple[str, str]]:
    section = page.split("<h2>The model</h2>")[1].split("</table>")[0]
    return [(html.unescape(k), html.unescape(re.sub(r"<[^>]+>", "", v)))
            for k, v in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", section)]


def test_the_report_leads_with_the_held_out_rates_and_says_where_each_was_measured():
    version = ModelRegistry(STORE).active()
    rows = dict(model_rows(report_html(made_up(version), version)))
    names = list(rows)
    assert names[:2] == ["Version", "In plain words"]
    assert names[2] == "Error rate on synthesisers and recording sources it never heard (the figure to quote)"
    assert rows[names[2]] == "21.85 % (held-out folds, each scored by a model retrained without it)"
    assert rows["Never-heard synthetic voices called likely genuine"].startswith(
        "up to 35.38 % (the never-heard synthesiser it missed most, held-out folds")
    assert rows["Never-heard genuine voices called likely synthetic"].startswith("up to 8.87 % (")
    # The test split's figures come after, each naming the kinds of audio it was measured on.
    test_rows = [name for name in names if "test clips" in name]
    assert test_rows == ["Error rate on test clips of the kinds it trained on",
                         "Synthetic test clips of the kinds it trained on called likely genuine",
                         "Genuine test clips of the kinds it trained on called likely synthetic"]
    assert min(names.index(name) for name in test_rows) > names.index("Never-heard genuine voices called likely "
                                                                       "synthetic")
    assert rows["Synthetic test clips of the kinds it trained on called likely genuine"] == (
        "0.18 % (synthetic clips of the test split, corpus v2, 1091 clips)")
    assert "Synthetic clips called likely genuine" not in names and "held-out test set" not in str(rows)
    for name, value in rows.items():   # every rate in the table says what it was measured on
        if name != "In plain words" and re.search(r"\d %", value):
            assert re.search(r"% \((held-out|the never-heard|test split|synthetic clips of|genuine clips of)", value), \
                (name, value)
    data = report_dict(made_up(version), version)["model"]["error_rates"]
    assert next(iter(data)) == "heldout_mean_eer"


def test_a_model_that_cannot_clear_states_no_likely_genuine_rate_held_out_or_not():
    version = ModelRegistry(STORE).load(CNN_MODEL)
    rows = dict(model_rows(report_html(made_up(version), version)))
    never = "none possible: this model never says likely genuine"
    assert rows["Never-heard synthetic voices called likely genuine"] == never
    assert rows["Synthetic test clips of the kinds it trained on called likely genuine"] == never
