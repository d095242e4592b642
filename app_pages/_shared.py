"""Streamlit glue shared by the pages: the one cached model service, the sidebar, caches.

Not a page itself (``app.py`` lists the pages explicitly with ``st.navigation``).
Everything that is not Streamlit-specific lives in ``detector/``.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from typing import Any

import streamlit as st

from detector.errors import ModelError
from detector.inference import Detector
from detector.names import markdown_text, safe_display_name
from detector.paths import model_store
from webapp.model_sentences import RATE_HELP, headline_caption, plain_summary
from webapp.service import ModelService

log = logging.getLogger("detector.app")

AUDIO_TYPES = ["wav", "mp3", "flac", "ogg", "opus", "m4a", "aac", "webm"]
MIME_BY_EXTENSION = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg",
                     "opus": "audio/ogg", "m4a": "audio/mp4", "aac": "audio/aac", "webm": "audio/webm"}
NO_MODEL_HELP = (
    "**No model is available yet.** Train one, then make it active (on the Admin page, or from a terminal):\n\n"
    "```\npython -m train.fit --corpus <corpus folder>     # prints the new version's name\n"
    "python -m detector promote <version>\n```\n"
    "Or set `DETECTOR_MODEL_STORE` to a folder that already holds a trained model store."
)
NO_GOOD_MODEL_HELP = (
    "**No model can be served.** The model store holds {count} version(s), but none passes its checks (the "
    "message above names what failed; `python -m detector models` lists each version's state). Promote a good "
    "version (on the Admin page, or `python -m detector promote <version>`), or train a new one."
)
MODEL_CARD_PAGE = "app_pages/model_card.py"
PHONE_MAX_PX = 640   # Streamlit stacks columns on screens this narrow or narrower: a page's CSS for phones uses it
CACHE_SIZE = 3  # analyses kept per session: a 10-minute clip's analysis holds a few hundred MB of arrays


def store_path() -> str:
    """The model store folder, read at call time so tests and admins can point it elsewhere."""
    return str(model_store())


@st.cache_resource(show_spinner="Loading the model…")
def _service_for(store: str) -> ModelService:
    # Cached per store path: the process keeps ONE service (and so one loaded
    # interpreter) per store, shared by every session; the service itself
    # reloads when active.json changes.
    return ModelService(store)


def get_service() -> ModelService:
    """The process-wide :class:`ModelService` for the configured store."""
    return _service_for(store_path())


def current_detector(show_errors: bool = True) -> Detector | None:
    """The served detector, or ``None`` (with a clear message in the page) when there is no model."""
    service = get_service()
    try:
        detector = service.get()
    except ModelError as exc:
        if show_errors:
            st.error(f"{exc}")
            count = len(service.registry.versions())
            st.info(NO_GOOD_MODEL_HELP.format(count=count) if count else NO_MODEL_HELP)
        return None
    except Exception:  # an unexpected failure must not show a traceback to users
        log.exception("loading the model failed")
        if show_errors:
            st.error("The model could not be loaded because of an internal error; see the server log.")
        return None
    if service.last_error and show_errors:   # the sentence says what failed and which version serves instead
        st.warning(service.last_error)
    return detector


def render_sidebar() -> None:
    """Plain words first: what the active model is good and bad at, its version, a link to its card."""
    detector = current_detector(show_errors=False)
    with st.sidebar:
        st.markdown("### Model")
        if detector is None:
            st.warning("No model loaded. See the Detect page for how to train one.")
            return
        version = detector.version
        st.markdown(plain_summary(version))
        # A caption, not st.metric: a metric's large font cuts long version names off in the sidebar.
        st.caption("Active version")
        st.markdown(f"`{version.name}`")
        trained = f" · trained {version.created[:10]}" if version.created else ""
        # The held-out rate first (never-heard synthesisers and sources): the one to quote (issue 34).
        st.caption(f"{headline_caption(version)}{trained}", help=RATE_HELP)
        st.page_link(MODEL_CARD_PAGE, label="Model card: data, results, limits", icon=":material/description:")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def session_cache(name: str) -> OrderedDict:
    """A small per-session LRU dict in ``st.session_state`` (reruns reuse results)."""
    if name not in st.session_state:
        st.session_state[name] = OrderedDict()
    return st.session_state[name]


def remember(cache: OrderedDict, key: Any, value: Any, size: int = CACHE_SIZE) -> Any:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
    return value


def mime_for(name: str, browser_type: str | None = None) -> str:
    """MIME type for ``st.audio``: the browser's own guess, else one from the extension."""
    if browser_type and browser_type.startswith("audio/"):
        return browser_type
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return MIME_BY_EXTENSION.get(extension, "audio/wav")


def latest_source(upload_key: str, record_key: str, state_key: str) -> tuple[str, bytes, str] | None:
    """(name, bytes, mime) of whichever input the user changed last, or the one that is set.

    Both widgets stay on screen; ``on_change`` callbacks record which one moved last
    in ``st.session_state[state_key]``, so a new recording replaces an older upload.
    """
    upload = st.session_state.get(upload_key)
    recording = st.session_state.get(record_key)
    preferred = st.session_state.get(state_key, "upload")
    order = (recording, upload) if preferred == "record" else (upload, recording)
    for item in order:
        if item is not None:
            name = item.name or "recording.wav"
            return name, item.getvalue(), mime_for(name, item.type)
    return None


def latest_or_kept(upload_key: str, record_key: str, state_key: str, kept_key: str,
                   notice: st.delta_generator.DeltaGenerator | None = None) -> tuple[tuple[str, bytes, str] | None, bool]:
    """The clip in the inputs (remembered under ``kept_key``), else the one kept from earlier in the session.

    Widgets reset on a page switch; the kept clip brings the page's last result back. When the kept
    clip is used, a notice naming it (as text, never Markdown) is written to ``notice`` (default: the
    page). Returns ``(clip, kept)``.
    """
    source = latest_source(upload_key, record_key, state_key)
    if source is not None:
        st.session_state[kept_key] = source
        return source, False
    kept = st.session_state.get(kept_key)
    if kept is not None:
        (notice or st).info(f"Showing your last clip, **{markdown_text(safe_display_name(kept[0]))}**. "
                            "Upload or record another one to replace it.", icon=":material/history:")
    return kept, kept is not None


def mark_source(state_key: str, value: str) -> None:
    st.session_state[state_key] = value
