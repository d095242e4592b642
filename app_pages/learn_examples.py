"""The Learn page's committed examples: one genuine recording and synthetic versions of the same words each.

What the served model makes of each example is said first, in words (right, missed, not cleared), then shown
in a table; the versions follow, then the zoom on the recording and its vocoder copies.

The clips and ``manifest.json`` live in ``assets/learn/`` (``python -m train.learn_assets`` makes them).
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from app_pages.learn_view import show_scores, show_versions, show_zoom
from detector.inference import Detector
from detector.paths import ASSETS_DIR
from webapp.batch import BatchRow, score_one

ASSETS = ASSETS_DIR / "learn"


def load_manifest() -> list[dict]:
    """The committed examples (an empty list when the assets are missing)."""
    manifest = ASSETS / "manifest.json"
    if not manifest.is_file():
        return []
    return json.loads(manifest.read_text(encoding="utf-8"))["examples"]


@st.cache_data(show_spinner=False)
def read_clip(relative: str) -> tuple[np.ndarray, int, bytes]:
    """Samples, rate and file bytes of a committed clip (read once per process)."""
    import soundfile as sf

    path = ASSETS / relative
    samples, rate = sf.read(path, dtype="float32")
    return samples, int(rate), path.read_bytes()


@st.cache_data(show_spinner=False, max_entries=256)
def score_asset(_detector: Detector, version_path: str, relative: str) -> BatchRow:
    """Score a committed clip with the served model; ``version_path`` keys the cache, so a promotion rescores."""
    return score_one(_detector, relative, read_clip(relative)[2])


def examples_section(detector: Detector | None) -> None:
    """Every committed example: players, large spectrograms, the zoom, and (with a model) what it makes of each."""
    examples = load_manifest()
    if not examples:
        st.warning("The example clips are missing; regenerate them with `python -m train.learn_assets`.")
        return
    st.markdown("Each example first says what the model being served makes of it: which versions it gets right, "
                "which it misses. The two were picked with the model shipped with the app: it flags both vocoder "
                "copies of the first recording and misses both of the second's. Copies like these are among the "
                "kinds it misses most.")
    for example in examples:
        st.subheader(f"{example['title']}")
        quote = f"> “{example['text']}”"
        if example.get("translation"):
            quote += f"  \n> *{example['translation']}*"
        st.markdown(quote)
        st.caption(f"{example['note']} Genuine voice: {example['speaker']}, licence {example['license']} "
                   "(see assets/learn/ATTRIBUTION.md).")
        if detector is not None:
            version_path = str(detector.version.path)
            show_scores([(v["kind"], v["label"], score_asset(detector, version_path, v["file"]))
                         for v in example["versions"]], detector)
            st.caption("Neither example recording is in the project's training corpus (v2), but other recordings by "
                       "the same speaker are, so read these scores as an illustration, not as a test of the model.")
        items = []
        for version in example["versions"]:
            samples, _, audio = read_clip(version["file"])
            items.append((version["kind"], version["label"], audio, "audio/flac", samples))
        show_versions(items, example["sample_rate"])
        show_zoom(items, example["sample_rate"])
        st.divider()
