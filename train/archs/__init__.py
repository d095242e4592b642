"""Architecture registry: one file per architecture, looked up by name.

Every ``build`` function takes the input shape ``(frames, bins, 1)`` plus its own
keyword hyper-parameters and returns an uncompiled Keras model whose output is
ONE raw logit per window (no sigmoid), as the server expects.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# The table lives in train.config (TensorFlow-free) so the admin page can list the names
# without importing this package; modules import Keras lazily inside build().
from train.config import ARCHITECTURES as ARCHITECTURES
from train.config import available_archs


def available() -> list[str]:
    """Registered architecture names."""
    return available_archs()


def build_model(name: str, input_shape: tuple[int, int, int], **params: Any):
    """Build architecture ``name`` for ``input_shape``.

    Parameters
    ----------
    name : str
        A key of :data:`ARCHITECTURES`.
    input_shape : tuple of int
        ``(frames, bins, 1)`` from :attr:`FeatureConfig.input_shape`.
    **params
        Architecture hyper-parameters (see each module's ``build``).

    Returns
    -------
    keras.Model
        Input (batch, frames, bins, 1) float32, output (batch, 1) logits.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {available()}")
    module = import_module(ARCHITECTURES[name])
    return module.build(tuple(input_shape), **params)
