"""The front-end registry: one :class:`FrontEnd` per feature type, one module each.

``FeatureConfig.feature`` names an entry here; everything that depends on the type
(bin counts, the drawable spectrum bins, the axis, the computation, the code
version, the words) is asked of the entry instead of testing the name.
"""

from __future__ import annotations

from detector.frontends.base import FEATURES_VERSION, FrontEnd
from detector.frontends.lfcc import LFCC
from detector.frontends.logspec import LOGSPEC
from detector.frontends.mel import MEL
from detector.frontends.melexc import MELEXC
from detector.frontends.melfine import MELFINE
from detector.frontends.whisper import WHISPER

__all__ = ["ENCODER_FRONT_ENDS", "FEATURES_VERSION", "FRONT_ENDS", "FrontEnd", "front_end"]

# The CNN's inputs, which the trainer and the app's selectors offer; order is the selectors' order.
FRONT_ENDS: dict[str, FrontEnd] = {f.name: f for f in (LOGSPEC, MEL, LFCC, MELFINE, MELEXC)}
# Inputs of a pretrained encoder: a version may name one in features.json (its head is trained by
# train.encoder, not train.fit), so they are served and drawn but not offered to the CNN trainer.
ENCODER_FRONT_ENDS: dict[str, FrontEnd] = {WHISPER.name: WHISPER}


def front_end(name: str) -> FrontEnd:
    """The front end called ``name``.

    Raises
    ------
    ValueError
        When no front end has that name.
    """
    known = {**FRONT_ENDS, **ENCODER_FRONT_ENDS}
    try:
        return known[name]
    except KeyError:
        raise ValueError(f"feature must be one of {tuple(known)}, got {name!r}") from None
