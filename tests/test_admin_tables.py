"""webapp.admin_tables: the registry compares like with like; per cent everywhere; readable stored figures."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.io as pio
import pytest

from detector.registry import ModelRegistry
from webapp.admin_tables import (
    DET_LABEL_GAP,
    compare_table,
    heldout_rows,
    incomparable_note,
    registry_row,
    same_corpus,
    tidy_figure,
    trace_values,
)
from webapp.job_view import load_results

STORE = Path(__file__).resolve().parent.parent / "model_store"
NEW, OLD = "20261130-0747-effnet-melexc", "20261122-1412-effnet-melexc"


def test_registry_says_which_corpus_each_test_eer_was_measured_on():
    registry = ModelRegistry(STORE)
    rows = [registry_row(registry.load(name), NEW) for name in (NEW, OLD)]
    assert rows[0]["test EER"] == "23.11 %" and rows[0]["measured on"] == "corpus v2, 1091 clips"
    # Plain words for what is known (issue 34): the corpus folder, that no version was recorded, the clips.
    assert rows[1]["test EER"] == "10.55 %"
    assert rows[1]["measured on"] == "corpus data/corpus (version not recorded), 1462 clips"
    assert [row["active"] for row in rows] == ["active", ""]   # a word, not an emoji a browser may lack
    assert "not comparable" in incomparable_note(rows)
    assert incomparable_note(rows[:1]) is None
    assert not same_corpus(registry.load(NEW).report, registry.load(OLD).report)
    assert same_corpus(registry.load(NEW).report, registry.load(NEW).report)


def test_heldout_rates_in_per_cent_say_they_come_from_each_fold_at_its_own_bands():
    rows = heldout_rows(ModelRegistry(STORE).load(NEW).report.heldout.folds)
    articulatory = next(row for row in rows if row["held out"] == "family:articulatory")
    assert articulatory["EER"] == "47.87 %"
    assert any("fold models at their own bands" in column for column in articulatory)
    results = load_results(STORE / NEW)
    assert all(row["EER"] == "–" or row["EER"].endswith(" %") for row in results.breakdown_rows())
    assert results.summary()["measured on"] == "corpus v2"


def test_stored_figures_get_readable_axes():
    results = load_results(STORE / NEW)
    scores = tidy_figure("scores", pio.from_json(results.figures["scores"]))
    assert scores.layout.yaxis.type == "log" and scores.layout.yaxis.dtick == 1


@pytest.mark.parametrize("version", sorted(p.parent.parent.name for p in STORE.glob("*/plots/det.json")))
def test_det_axes_are_labelled_over_the_whole_drawn_range(version):
    """Issue 34: the stored DET labelled 0.1-40 % only, bunched in the left 40 % of the x axis, with no y label
    above 40 %, while its curve ran on to 99.95 % into unlabelled space."""
    det = tidy_figure("det", pio.from_json(load_results(STORE / version).figures["det"]))
    curve = [value for trace in det.data for axis in (trace.x, trace.y) for value in trace_values(axis)]
    for axis in (det.layout.xaxis, det.layout.yaxis):
        low, high = axis.range
        span = high - low
        assert low <= min(curve) and max(curve) <= high          # the whole curve is drawn
        ticks = sorted(axis.tickvals)
        assert len(ticks) == len(axis.ticktext) >= 7
        # Labels from one end of the drawn range to the other, evenly enough that no stretch goes unlabelled...
        gaps = [ticks[0] - low, *(b - a for a, b in zip(ticks, ticks[1:])), high - ticks[-1]]
        assert max(gaps) <= 0.2 * span, (axis.ticktext, gaps)
        # ...and never so close that two overlap.
        assert min(b - a for a, b in zip(ticks, ticks[1:])) >= DET_LABEL_GAP * span - 1e-9
        assert {"1 %", "50 %", "99 %"} <= set(axis.ticktext)
        assert all(label.endswith(" %") for label in axis.ticktext)


def test_groups_without_an_eer_say_why_in_words_never_none():
    """Issue 34: the per-generator table showed a raw "None" in the EER column."""
    results = load_results(STORE / NEW)
    rows = results.breakdown_rows()
    assert all(value is not None and value != "None" for row in rows for value in row.values())
    few = next(row for row in rows if row["group"] == "espeak-ng:ar:f2")
    assert few["EER"] == "–"
    assert few["note"] == "too few clips for an EER: 1 synthetic (at least 5 of each class needed)"
    one_class = next(row for row in rows if row["by"] == "source" and row["group"] == "espeak-ng")
    assert one_class["EER"] == "–" and one_class["note"] == "no EER: no genuine clips in this group (an EER needs both)"
    measured = next(row for row in rows if row["EER"] != "–")
    assert measured["EER"].endswith(" %")


def test_candidate_versus_active_never_shows_none():
    import dataclasses

    old, new = load_results(STORE / OLD), load_results(STORE / NEW)
    old = dataclasses.replace(old, report=old.report.replace(heldout=None))   # a figure that was not measured
    table = compare_table(old.summary(), new.summary())
    assert list(table.columns) == ["candidate", "active"]
    assert "None" not in table.to_string() and table.loc["held-out mean EER", "candidate"] == "–"
    assert table.loc["measured on", "candidate"] == "corpus data/corpus (version not recorded)"


def test_no_page_relies_on_an_emoji_font():
    """Emoji render as empty boxes where no emoji font is installed; pages use Material icons or words."""
    emoji = re.compile("[\u2600-\u27bf\u231b\u23f3\u2b50\U0001f300-\U0001faff]")
    repo = STORE.parent
    for path in [repo / "app.py", *sorted((repo / "app_pages").glob("*.py")), *sorted((repo / "webapp").glob("*.py"))]:
        assert not emoji.search(path.read_text(encoding="utf-8")), path


def test_rescore_job_runs_the_evaluation_of_one_stored_version(tmp_path):
    from webapp.job_commands import rescore_job, runner_command

    args, params = rescore_job("old-version", tmp_path / "corpus", tmp_path / "store")
    assert args == ["--model", "old-version", "--corpus", str(tmp_path / "corpus"), "--store", str(tmp_path / "store"),
                    "--quiet"]
    assert params["model"] == "old-version"
    assert runner_command("train.evaluate", args)[-len(args) - 1:] == ["train.evaluate", *args]


def test_a_rescored_version_is_compared_on_the_corpus_of_its_new_test_figures():
    import dataclasses

    old = ModelRegistry(STORE).load(OLD).report
    rescored = old.replace(test=dataclasses.replace(old.test, corpus="data/corpus", corpus_version=2))
    assert same_corpus(rescored, ModelRegistry(STORE).load(NEW).report)


def test_score_histogram_draws_no_edge_the_model_cannot_reach():
    results = load_results(STORE / NEW)
    assert results.facts is not None and not results.facts.can_clear
    scores = tidy_figure("scores", pio.from_json(results.figures["scores"]), results.facts)
    edges = [shape.x0 for shape in scores.layout.shapes if shape.line.dash == "dash"]
    assert edges == [results.facts.synthetic_above]
    assert any(abs(shape.x0 - results.facts.floor) < 1e-9 for shape in scores.layout.shapes)
