"""The whole hostile-input table (``hostile_inputs.CASES``) through the Detect and Batch pages.

Issue #7: each refused input must produce a clear sentence in an error box (never a
traceback), each accepted one a verdict with its quality warnings, and in a batch
the bad files must not stop the good ones being scored. The expected sentence and
score come from the detector core itself (``tiny_detector``: the same model as the
app's store), so the pages are checked against what the core really says.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from audio_fixtures import encode, voice_like
from hostile_inputs import CASES, Case
from streamlit.testing.v1 import AppTest

from detector.bands import band_text
from detector.errors import AudioError
from detector.inference import Detector
from detector.names import safe_display_name
from webapp.batch import WARNING_LABELS, join_sentences

APP = str(Path(__file__).resolve().parent.parent / "app.py")
VERDICTS = ("Likely genuine", "Uncertain", "Likely synthetic")
# What a leaked traceback or exception repr would contain: a class name such as
# ``LibsndfileError``/``InvalidDataError``/``ValueError``, a Python frame, or a repr.
LEAK = re.compile(r"Traceback|File \"|\.py\b|\b\w*(Error|Exception)\b|<\w+ object at|\bErrno\b")


def is_sentence(text: str) -> bool:
    """One short human sentence (or two): a capital first, a full stop last, nothing internal."""
    return bool(text) and text[0].isupper() and text.endswith(".") and len(text) < 200 and not LEAK.search(text)


def expected_outcome(case: Case, detector: Detector) -> tuple[str, object]:
    """What the core says about this case: ("error", AudioError) or ("score", Analysis)."""
    name, data = case.make()
    try:
        return "score", detector.analyse(data, name=name)
    except AudioError as exc:
        return "error", exc


def page_texts(at: AppTest) -> list[str]:
    """Every piece of text the page shows, for the no-traceback check."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "metric", "title", "text", "code")
    return [str(element.value) for kind in kinds for element in getattr(at, kind)]


def verdict_text(at: AppTest) -> str | None:
    for block in at.markdown:
        if block.value.startswith("## ") and any(v in block.value for v in VERDICTS):
            return next(v for v in VERDICTS if v in block.value)
    return None


@pytest.fixture
def detect(tiny_store, monkeypatch) -> AppTest:
    """The app on its default (Detect) page, serving a fresh copy of the tiny store."""
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    return AppTest.from_file(APP, default_timeout=120).run()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_detect_page_answers_every_hostile_input(case, detect, tiny_detector, downloads):
    kind, expected = expected_outcome(case, tiny_detector)
    assert kind == case.outcome, f"the core no longer gives {case.outcome!r} for {case.id}"
    name, data = case.make()
    detect.file_uploader[0].set_value((name, data, "application/octet-stream")).run()

    assert not detect.exception, [e.value for e in detect.exception]
    assert not any("Traceback" in text for text in page_texts(detect))
    if case.outcome == "error":
        assert expected.code in case.codes
        errors = [e.value for e in detect.main.error]
        assert errors == [expected.message], errors  # exactly the core's sentence, in one error box
        assert is_sentence(errors[0]), errors[0]
        assert verdict_text(detect) is None and not detect.main.metric
        assert not downloads  # nothing to download for a refused file
        return
    assert not detect.main.error
    assert verdict_text(detect) == expected.verdict_label
    calibration = tiny_detector.calibration
    assert detect.main.metric[0].value == band_text([expected.p_synthetic], calibration.genuine_below,
                                                    calibration.synthetic_above).values[0]
    shown = [w.value for w in detect.main.warning]
    assert shown == [w.message for w in expected.warnings]
    assert case.codes <= {w.code for w in expected.warnings}  # the table's expected warnings are among them
    # The JSON download is named after the upload: never a path, never absurdly long.
    file_name = downloads[-1]["file_name"]
    assert file_name.endswith(".analysis.json") and "/" not in file_name and "\\" not in file_name
    assert len(file_name) <= 220 and ".." not in file_name.removesuffix(".analysis.json")


def good_clips() -> list[tuple[str, bytes, str]]:
    return [("good-one.wav", encode(voice_like(3.5, seed=11), 16000, "wav"), "audio/wav"),
            ("good-two.flac", encode(voice_like(4.5, seed=12), 16000, "flac"), "audio/flac")]


def test_batch_page_scores_the_good_and_explains_the_bad(tiny_store, tiny_detector, monkeypatch, downloads):
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("app_pages/batch.py").run()
    made = [case.make() for case in CASES]
    # Good clips first, in the middle and last: bad files around them must not stop them.
    uploads = ([good_clips()[0]] + [(n, d, "application/octet-stream") for n, d in made[:16]] + [good_clips()[1]]
               + [(n, d, "application/octet-stream") for n, d in made[16:]] + [good_clips()[0]])
    assert len({name for name, _, _ in uploads}) == len(CASES) + 2  # names are unique except the repeat
    at.file_uploader[0].set_value(uploads).run()

    assert not at.exception, [e.value for e in at.exception]
    assert not at.main.error  # per-file problems go into the tables, not error boxes
    distinct = uploads[:-1]   # the last upload repeats the first (same name and content): listed once
    assert any("Skipped 1 repeated file" in str(c.value) for c in at.caption)
    results = next(d.value for d in at.dataframe if "verdict" in d.value.columns).set_index("file")
    problems = next(d.value for d in at.dataframe if list(d.value.columns) == ["file", "error"]).set_index("file")
    assert len(results) + len(problems) == len(distinct)
    shown = {name: safe_display_name(name) for name, _, _ in distinct}   # as Detect and the JSON show them
    assert sorted([*results.index, *problems.index]) == sorted(shown.values())
    failed, sentences = 0, {}
    for name, data, _ in distinct:
        try:
            expected = tiny_detector.analyse(data, name=name)
        except AudioError as exc:
            failed += 1
            assert problems.loc[shown[name], "error"] == exc.message and is_sentence(exc.message), (name, exc.message)
            assert shown[name] not in results.index, name
            continue
        row = results.loc[shown[name]]
        assert shown[name] not in problems.index, name
        assert row["verdict"] == expected.verdict_label, name
        assert abs(row["p_synthetic"] - expected.p_synthetic * 100) <= 0.5, name   # per cent, one shared precision
        # The table names each warning in short (readable whole in its cell); the CSV carries the sentences.
        assert row["warnings"] == "; ".join(WARNING_LABELS[w.code] for w in expected.warnings), name
        sentences[shown[name]] = join_sentences(w.message for w in expected.warnings)
    assert failed == sum(case.outcome == "error" for case in CASES)
    assert {m.label: m.value for m in at.main.metric}["Failed"] == str(failed)
    assert f"Done: {len(distinct)} files analysed" in at.get("progress")[0].proto.text

    exported = pd.read_csv(io.BytesIO(downloads[-1]["data"]), keep_default_na=False)
    assert list(exported["file"]) == [shown[name] for name, _, _ in distinct]
    scored = exported[exported["error"] == ""]
    assert len(scored) == len(distinct) - failed and all(0.0 <= float(p) <= 1.0 for p in scored["p_synthetic"])
    assert dict(zip(scored["file"], scored["warnings"])) == sentences
