"""detector.model_facts and the words built on it: what a model can say follows from its report.

Two fixture models (tests/tiny_models.py) share a score floor of 10.9 %: "clears" has its
genuine edge above the floor, "cannot-clear" below it, as the shipped model (floor 18.9 %,
edge 14.9 %). The same code must promise *likely genuine* for the first and never for the second.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tiny_models import floor_version

from detector.analysis import Analysis
from detector.model_facts import facts_of
from detector.registry import ModelRegistry, load_folder
from detector.verdict import (
    CANNOT_CLEAR_STEPS,
    NEXT_STEPS,
    WindowScore,
    explain_probability,
    is_spliced,
    spans_sentence,
    stretches_sentence,
    synthetic_spans,
)
from webapp import figures, plots
from webapp.model_sentences import error_rates, limits_text, plain_summary
from webapp.report import report_dict, report_html

STORE = Path(__file__).resolve().parent.parent / "model_store"
LATEST_CNN = "20261130-0747-effnet-melexc"


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    root = tmp_path_factory.mktemp("floors")
    return {kind: load_folder(floor_version(root / kind, kind)) for kind in ("clears", "cannot-clear")}


def analysis(version, p: float, windows: list[float]) -> Analysis:
    """A made-up analysis with window scores (no audio arrays: the report needs none)."""
    import numpy as np

    scores = [WindowScore(i * 1.0, i * 1.0 + 2.0, w) for i, w in enumerate(windows)]
    facts = facts_of(version)
    verdict = version.calibration.verdict(p)
    return Analysis(name="clip.wav", sha256="0" * 64, model_version=version.name, p_synthetic=p, clip_logit=0.0,
                    verdict=verdict, explanation=explain_probability(p, verdict, version.calibration, facts=facts),
                    windows=scores, warnings=[], duration_s=10.0, analysed_s=10.0, source_duration_s=10.0,
                    original_sample_rate=16000, container="wav", codec="pcm_s16le", truncated=False,
                    sample_rate=16000, samples=np.zeros(16000, np.float32), features=np.zeros((10, 4), np.float32),
                    feature_times=np.arange(10) * 0.01, feature_axis=np.arange(4.0),
                    synthetic_spans=synthetic_spans(scores, facts.synthetic_above),
                    spliced=is_spliced(scores, facts))


def test_shipped_model_cannot_clear_and_says_its_lowest_score():
    version = ModelRegistry(STORE).load(LATEST_CNN)
    facts = facts_of(version)
    assert round(facts.floor, 3) == 0.189 and facts.floor > facts.genuine_below
    assert not facts.can_clear and facts.reachable == ("uncertain", "likely_synthetic")
    assert [span.verdict for span in facts.band_spans()] == ["uncertain", "likely_synthetic"]
    assert facts.band_spans()[0].low == pytest.approx(facts.floor)
    assert "It can flag a fake but cannot clear a clip: its lowest score is 19 %" in plain_summary(version)
    sentence = explain_probability(0.1905, "uncertain", version.calibration, facts=facts)
    assert sentence.startswith("Nothing in this clip looked synthetic to this model: 19 % is the lowest score")
    assert "32 % of the time" in sentence and "does not show that the voice is genuine" in sentence
    assert NEXT_STEPS not in sentence and CANNOT_CLEAR_STEPS in sentence


def test_every_rate_says_where_it_was_measured():
    facts = facts_of(ModelRegistry(STORE).load(LATEST_CNN))
    assert facts.test_eer.text(2) == "23.11 % (test split, corpus v2, 1091 clips)"
    assert facts.heldout_eer.measured_on == "held-out folds, each scored by a model retrained without it"
    assert facts.test_missed.value is None   # a band it cannot reach has no rate
    old = facts_of(ModelRegistry(STORE).load("20261122-1412-effnet-melexc"))
    assert "data/corpus (version not recorded)" in old.test_eer.measured_on and "1462 clips" in old.test_eer.measured_on


@pytest.mark.parametrize("kind", ["clears", "cannot-clear"])
def test_the_same_code_promises_likely_genuine_only_when_the_model_can_clear(versions, kind):
    version = versions[kind]
    facts, calibration = facts_of(version), version.calibration
    clears = kind == "clears"
    assert facts.can_clear is clears and round(facts.floor, 3) == 0.109
    assert ("likely_genuine" in [s.verdict for s in facts.band_spans()]) is clears
    uncertain = explain_probability(0.5, "uncertain", calibration, facts=facts)
    assert (NEXT_STEPS in uncertain) is clears and (CANNOT_CLEAR_STEPS in uncertain) is not clears
    at_floor = explain_probability(0.11, calibration.verdict(0.11), calibration, facts=facts)
    assert at_floor.startswith("Nothing in this clip looked synthetic") is not clears
    assert ("cannot clear a clip" in plain_summary(version)) is not clears
    rates = error_rates(version)
    assert (rates["genuine_band_error"] is not None) is clears and (rates["synthetic_called_genuine"] is not None) is clears
    assert set(rates["measured_on"]) >= set(rates) - {"measured_on"}   # every rate says where it was measured


@pytest.mark.parametrize("kind", ["clears", "cannot-clear"])
def test_charts_draw_only_reachable_bands(versions, kind):
    version = versions[kind]
    facts, calibration = facts_of(version), version.calibration
    windows = [WindowScore(0.0, 2.0, 0.12), WindowScore(1.0, 3.0, 0.8)]
    timeline = plots.timeline_figure(windows, calibration.genuine_below, calibration.synthetic_above, facts=facts)
    names = [trace.name for trace in timeline.data if trace.name]
    assert any(name.startswith("likely genuine") for name in names) is (kind == "clears")
    greens = [s for s in timeline.layout.shapes if s.fillcolor == plots.GENUINE_COLOUR]
    assert bool(greens) is (kind == "clears")
    histogram = plots.histogram_figure([0.12, 0.8], calibration.genuine_below, calibration.synthetic_above,
                                       facts=facts)
    assert bool([s for s in histogram.layout.shapes if s.fillcolor == plots.GENUINE_COLOUR]) is (kind == "clears")
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    figures.draw_timeline(ax, windows, calibration.genuine_below, calibration.synthetic_above, facts)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ("likely genuine" in labels) is (kind == "clears")


@pytest.mark.parametrize("kind", ["clears", "cannot-clear"])
def test_report_states_no_rate_of_an_unreachable_band_and_renders_its_text(versions, kind):
    version = versions[kind]
    shown = analysis(version, 0.5, [0.5, 0.5])
    page = report_html(shown, version)
    assert "*" not in re.sub(r"<[^>]+>", "", page.split("<body>")[1])   # Markdown rendered, not shown raw
    assert "channel(s)" not in page and "mono" in page
    assert "listed above" not in page
    assert ("below 30 % likely genuine" in page) is (kind == "clears")
    assert ("never says likely genuine" in page) is (kind != "clears")
    assert "test split, corpus v3, 1000 clips" in page
    data = report_dict(shown, version)
    assert ("likely_genuine" in data["bands"]["reachable"]) is (kind == "clears")
    assert data["next_steps"] == (NEXT_STEPS if kind == "clears" else CANNOT_CLEAR_STEPS)


def test_a_wholly_synthetic_clip_is_not_spliced(versions):
    facts = facts_of(versions["cannot-clear"])
    synthetic = [WindowScore(i, i + 2.0, 0.75) for i in range(5)]
    assert not is_spliced(synthetic, facts)
    assert stretches_sentence([(0.0, 6.0)], False, "likely_synthetic") == ""
    half = synthetic[:2] + [WindowScore(5, 7, 0.11), WindowScore(6, 8, 0.12)]
    assert is_spliced(half, facts)
    assert not is_spliced(synthetic[:2] + [WindowScore(5, 7, 0.4), WindowScore(6, 8, 0.4)], facts)   # uncertain
    pause = synthetic[:2] + [WindowScore(2, 4, 0.11)] + synthetic[3:]   # one quiet window between phrases
    assert not is_spliced(pause, facts)
    assert stretches_sentence([(0.0, 3.0)], True, "uncertain").startswith("Possibly spliced: seconds 0.0–3.0")


def test_a_long_list_of_stretches_is_summarised():
    spans = [(10.0 * i, 10.0 * i + 4.0) for i in range(20)]
    assert spans_sentence(spans) == ("20 stretches, 80.0 s in all, score likely synthetic: the first at seconds "
                                     "0.0–4.0, the last at seconds 190.0–194.0.")


def test_limits_shown_alone_point_at_nothing_above():
    for name in (LATEST_CNN, "20261122-1412-effnet-melexc"):
        text = limits_text(ModelRegistry(STORE).load(name))
        assert "above" not in text, text
    assert "vocoder copies of real voices" in limits_text(ModelRegistry(STORE).load(LATEST_CNN))


def test_damage_on_an_uncertain_score_is_not_said_twice():
    version = ModelRegistry(STORE).load(LATEST_CNN)
    sentence = explain_probability(0.5, "uncertain", version.calibration, ["the recording is clipped"],
                                   facts_of(version))
    assert sentence.count("uncertain") == 0 and "could not get a confident verdict anyway" in sentence


@pytest.mark.parametrize("kind", ["clears", "cannot-clear"])
def test_learn_explains_uncertain_and_comments_from_the_scores_shown(versions, kind):
    from app_pages.learn_view import score_comment, uncertain_text

    facts = facts_of(versions[kind])
    text = uncertain_text(facts)
    assert ("low scores were almost always genuine" in text) is (kind == "clears")
    assert ("cannot clear a clip" in text) is (kind != "clears")
    # A Griffin-Lim copy scoring like its original (19.0 vs 19.0 %) is named, with the reason.
    assert "does not catch this kind of copy" in score_comment("griffin_lim", 0.40, 0.41, facts)
    assert score_comment("espeak", 0.69, 0.41, facts) is None
    assert (score_comment("genuine", 0.11, None, facts) is None) is (kind == "clears")


def test_batch_rows_never_read_on_the_wrong_side_of_an_edge_and_name_spliced_seconds(versions):
    from types import SimpleNamespace

    from webapp.batch import BatchRow, join_sentences
    from webapp.batch_table import row_text, scored_table, written_table

    version = versions["cannot-clear"]
    detector = SimpleNamespace(calibration=version.calibration, facts=facts_of(version))
    rows = [BatchRow("a.wav", "Uncertain", 0.6995, 3.0), BatchRow("b.wav", "Likely synthetic", 0.7004, 3.0,
                                                                  synthetic_stretches="Seconds 1.0–3.0 ...")]
    shown = [row_text(row, detector).value for row in rows]
    assert shown == ["69.95 %", "70.04 %"]   # "Uncertain 70 %" never sits beside "Likely synthetic 70 %"
    table = written_table(rows, detector).to_string()   # what the table shows
    assert "Uncertain 69.95 %" in table and "Likely synthetic 70.04 %" in table
    assert scored_table(rows)["p_synthetic"].tolist() == [69.95, 70.04]   # numbers underneath: sorted as numbers
    assert "synthetic_stretches" in scored_table(rows).columns
    assert join_sentences(["Short clip.", "Clipped"]) == "Short clip. Clipped."


def test_a_long_file_is_described_by_its_full_length(versions):
    import dataclasses

    version = versions["clears"]
    long = dataclasses.replace(analysis(version, 0.5, [0.5]), truncated=True, duration_s=600.0,
                               analysed_s=600.0, source_duration_s=720.0)
    assert long.file_duration_s == 720.0   # the card caption reads "analysed 600.0 s of 720.0 s"
    assert "720.00 s (only the first 600.0 s were analysed)" in report_html(long, version)


def test_readme_shows_what_a_genuine_recording_gets_from_the_active_model():
    readme = (STORE.parent / "README.md").read_text(encoding="utf-8")
    facts = facts_of(ModelRegistry(STORE).active())
    assert "docs/screenshot-genuine.png" in readme and (STORE.parent / "docs" / "screenshot-genuine.png").is_file()
    if not facts.can_clear:
        assert f"its lowest score, {facts.floor * 100:.0f} %, is above its likely-genuine edge" in readme
    else:   # a model that can clear: the README says what the screenshot's genuine recording gets, and what clears
        from detector.inference import Detector

        detector = Detector.from_store(STORE)
        analysis = detector.analyse(STORE.parent / "assets" / "learn" / "es-saturn" / "genuine.flac")
        words, flat = analysis.verdict.replace("_", " "), " ".join(readme.split())   # line breaks aside
        assert f"[genuine recording alone](docs/screenshot-genuine.png) reads *{words}* at " \
               f"{analysis.p_synthetic * 100:.0f} %" in flat
        assert f"band ends at {detector.calibration.genuine_below * 100:.1f} %" in flat
        assert detector.analyse(STORE.parent / "tests" / "clips" / "ru-nsh" / "genuine.flac").verdict == "likely_genuine"
        assert "the Russian reference voice in `tests/clips` reads *likely genuine*" in readme


def test_the_shipped_card_states_no_rate_for_the_band_it_cannot_reach():
    card = ModelRegistry(STORE).load(LATEST_CNN).card
    assert "of synthetic clips were called likely genuine" not in card
    assert "columns called genuine" not in card   # p = 0.5 is a threshold, not a verdict
    assert "never reached: the score floor is higher" in card


def test_batch_tiles_offer_only_the_verdicts_the_model_can_give(versions):
    from app_pages.batch_view import verdict_counts
    from webapp.batch import BatchRow

    rows = [BatchRow("a.wav", "Uncertain", 0.5)]
    assert list(verdict_counts(rows, facts_of(versions["cannot-clear"]).reachable)) == ["Uncertain", "Likely synthetic"]
    assert list(verdict_counts(rows, facts_of(versions["clears"]).reachable)) == ["Likely genuine", "Uncertain",
                                                                                   "Likely synthetic"]
