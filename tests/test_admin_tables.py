"""webapp.admin_tables: the registry compares like with like; per cent everywhere; readable stored figures."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.io as pio

from detector.registry import ModelRegistry
from webapp.admin_tables import heldout_rows, incomparable_note, registry_row, same_corpus, tidy_figure
from webapp.job_view import load_results

STORE = Path(__file__).resolve().parent.parent / "model_store"
NEW, OLD = "20261130-0747-effnet-melexc", "20261122-1412-effnet-melexc"


def test_registry_says_which_corpus_each_test_eer_was_measured_on():
    registry = ModelRegistry(STORE)
    rows = [registry_row(registry.load(name), NEW) for name in (NEW, OLD)]
    assert rows[0]["test EER"] == "23.11 %" and rows[0]["measured on"] == "corpus v2, 1091 clips"
    assert rows[1]["test EER"] == "10.55 %" and "v1 or unversioned" in rows[1]["measured on"]
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
    assert all(row["EER"] is None or row["EER"].endswith(" %") for row in results.breakdown_rows())
    assert results.summary()["measured on"] == "corpus v2"


def test_stored_figures_get_readable_axes():
    results = load_results(STORE / NEW)
    det = tidy_figure("det", pio.from_json(results.figures["det"]))
    assert list(det.layout.xaxis.ticktext) == ["0.1%", "1.0%", "5.0%", "20.0%", "40.0%"]
    scores = tidy_figure("scores", pio.from_json(results.figures["scores"]))
    assert scores.layout.yaxis.type == "log" and scores.layout.yaxis.dtick == 1


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
