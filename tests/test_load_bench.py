"""The load benchmark drives real Detect sessions (figures are printed by ``python -m bench``, not asserted)."""

from __future__ import annotations

from bench import load


def test_every_session_gets_a_verdict_and_reruns_do_not_analyse_again(tiny_store):
    figures = load.run(sessions=3, store=tiny_store)
    assert figures["failures"] == [] and figures["verdicts"] == 3
    # Three uploads and three later reruns: the analysis ran once per upload, never per rerun.
    assert figures["analyses_run"] == 3
    assert set(figures["time_to_verdict"]) == {"p50_s", "p95_s", "max_s"}
    assert figures["peak_rss_mb"] >= figures["peak_rss_before_sessions_mb"] > 0
