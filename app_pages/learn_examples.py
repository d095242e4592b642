"""The Learn page's committed examples: one genuine recording and synthetic versions of the same words each.

The clips and ``manifest.json`` live in ``assets/learn/`` (``python -m train.learn_assets`` makes them).
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from app_pages.learn_view import show_scores, show_versions
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
    """Every committed example with players, spectrograms and (with a model) the scores of each version."""
    examples = load_manifest()
    if not examples:
        st.warning("The example clips are missing; regenerate them with `python -m train.learn_assets`.")
        return
    for example in examples:
        st.subheader(f"{example['title']}")
        quote = f"> “{example['text']}”"
        if example.get("translation"):
            quote += f"  \n> *{example['translation']}*"
        st.markdown(quote)
        st.caption(f"{example['note']} Genuine voice: {example['speaker']}, licence {example['license']} "
                   "(see assets/learn/ATTRIBUTION.md).")
        items = []
        for version in example["versions"]:
            samples, _, audio = read_clip(version["file"])
            items.append((version["kind"], version["label"], audio, "audio/flac", samples))
        show_versions(items, example["sample_rate"])
        if detector is not None:
            with st.expander(f"How does model {detector.name} score these versions?"):
                version_path = str(detector.version.path)
                show_scores([(v["label"], score_asset(detector, version_path, v["file"])) for v in example["versions"]],
                            detector, [v["kind"] for v in example["versions"]])
                st.caption("These recordings come from sources the model may have been trained on, so read the "
                           "scores as an illustration, not as a test of the model.")
        st.divider()
