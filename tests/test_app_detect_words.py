"""Issue 34: the Detect page and the Model card page in words a reporter reads right.

The main path says things plainly and keeps the engineering detail in "Technical details"
expanders; a short clip's text describes what is drawn; Detect's limits and the card name the
same training sources; the Model card page has one H1 and no raw Python list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from audio_fixtures import encode, voice_like
from streamlit.testing.v1 import AppTest

from detector.integrity import seal_folder

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TECHNICAL = "Technical details"


@pytest.fixture
def app(tiny_store, monkeypatch) -> AppTest:
    monkeypatch.setenv("DETECTOR_MODEL_STORE", str(tiny_store))
    return AppTest.from_file(APP, default_timeout=120)


def texts(node, skip_expanders: bool = True) -> list[str]:
    """The strings of every element under ``node``, in order; with ``skip_expanders``, none inside an expander."""
    out: list[str] = []
    for child in getattr(node, "children", {}).values():
        if skip_expanders and type(child).__name__ == "Expander":
            continue
        if getattr(child, "children", None):
            out += texts(child, skip_expanders)
        elif isinstance(getattr(child, "value", None), str):
            out.append(child.value)
    return out


def expander_texts(at: AppTest, label: str) -> list[list[str]]:
    return [texts(e, skip_expanders=False) for e in at.main.expander if e.label == label]


def upload(app: AppTest, seconds: float, name: str = "clip.wav") -> AppTest:
    app.run()
    app.file_uploader[0].set_value((name, encode(voice_like(seconds, seed=4), 16000, "wav"), "audio/wav")).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_short_clip_is_described_as_drawn(app):
    # Item 2: a 1.4-s clip had the heading "What the model heard" under text about a top row that was not drawn.
    app = upload(app, 1.4, "short.wav")
    assert "#### What the model heard" in [m.value for m in app.markdown]
    main = " ".join(texts(app.main, skip_expanders=False))
    assert "What the model heard" in main and "top row" not in main and "-second window" not in main
    assert any("one window long" in c.value and "so there is no timeline" in c.value for c in app.caption)
    longer = upload(app, 6.0, "long.wav")
    assert any("top row" in c.value for c in longer.caption)   # a timeline is drawn, and described


def test_the_main_path_is_plain_and_the_detail_is_in_an_expander(app):
    # Item 5: "analysed 30.1 s of 30.1 s, from 0.0 s (leading silence trimmed)", "patches of the log-mel
    # spectrogram…" and the card's "source klettres (22.58 % EER)" were on the main path.
    app = upload(app, 3.0)
    main = " ".join(texts(app.main))
    assert "The detector listened to" in main and "Why? Explain the verdict" in main   # the walk found the page
    assert "leading silence trimmed" not in main and "log-mel" not in main and "EER" not in main
    assert any(c.value.startswith("The detector listened to ") and "-second recording" in c.value
               for c in app.main.caption)
    assert any(c.value.startswith("The detector hides small pieces of the sound picture") for c in app.main.caption)
    details = expander_texts(app, TECHNICAL)
    assert len(details) == 2   # one under the verdict card, one under Explain
    card_detail = " ".join(details[0])
    assert "Model version `v1`" in card_detail and "(leading silence trimmed)" in card_detail
    assert "The model reads " in card_detail and "Hz" in card_detail
    assert "patches of the spectrogram are hidden" in " ".join(details[1])


def test_detect_limits_and_the_model_card_name_the_same_sources(app, tiny_store):
    # Item 6: Detect's limits named the test split's 6 genuine sources, the card the 11 of training.
    card = tiny_store / "v1" / "card.md"
    card.write_text("# Model card: v1\n\n## Data\n- Genuine speech: 40 clips, 0.1 h, 4 speakers, sources: alpha, "
                    "beta, gamma.\n- Synthetic speech: 40 clips, 0.1 h, families: formant, vocoder; 3 generator "
                    "voices from espeak-ng.\n\n## How well it works\n- At the deployed threshold (calibrated "
                    "probability 0.5): accuracy 50.00 %; confusion matrix (rows true genuine/synthetic, columns "
                    "scored below / at or above 0.5, a threshold for comparison, not the verdict bands): "
                    "[[10, 10], [10, 10]].\n- Wrong with confidence on held-out test parts, each fold model at the "
                    "bands its own validation set: up to 5.00 %.\n\n## Known limits\n- Weakest on test: source beta "
                    "(22.58 % EER); condition amr-nb (17.86 % EER).\n- Genuine speech comes only from the sources "
                    "listed above.\n")
    seal_folder(tiny_store / "v1")
    app = upload(app, 3.0)
    limits = " ".join(expander_texts(app, "What this model cannot tell you")[0])
    assert "the 3 sources it was trained on (alpha, beta, gamma)" in limits
    assert ("clips from the beta collection (23 % errors on test clips) and mobile-phone audio (AMR-NB codec) "
            "(18 % errors on test clips)") in limits
    assert "source beta (22.58 % EER)" in " ".join(expander_texts(app, TECHNICAL)[0])
    # Item 7: the Model card page, from the same card: one H1, no raw list, the bands, a verb.
    app.switch_page("app_pages/model_card.py").run()
    assert not app.exception, [e.value for e in app.exception]
    page = "\n".join(texts(app.main))
    assert "sources: alpha, beta, gamma." in page
    assert [t.value for t in app.title] == ["Model card"]
    assert not [line for line in page.splitlines() if line.startswith("# ")]
    assert "## Model card: v1" in page and "[[" not in page and "deployed threshold" not in page
    assert "of 20 genuine test clips, 10 scored below 0.5 and 10 at or above it" in page
    assert "verdicts use the verdict bands: likely genuine below 30 %, likely synthetic from 70 %" in page
    assert "each fold model at the bands set on its own validation clips" in page
