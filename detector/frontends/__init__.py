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

__all__ = ["FEATURES_VERSION", "FRONT_ENDS", "FrontEnd", "front_end"]

# Order is the order the app's selectors list them in.
FRONT_ENDS: dict[str, FrontEnd] = {f.name: f for f in (LOGSPEC, MEL, LFCC, MELFINE, MELEXC)}


def front_end(name: str) -> FrontEnd:
    """The front end called ``name``.

    Raises
    ------
    ValueError
        When no front end has that name.
    """
    try:
        return FRONT_ENDS[name]
    except KeyError:
        raise ValueError(f"feature must be one of {tuple(FRONT_ENDS)}, got {name!r}") from None
