"""Training losses: binary cross-entropy, or one-class softmax for unseen attacks.

One-class softmax (OC-Softmax; Zhang, Jiang and Duan, "One-class learning towards
synthetic voice spoofing detection", 2021) keeps genuine speech compact and lets
synthetic speech sit anywhere outside it. The network ends in a cosine score
``z = cos(w, e)`` between a unit weight vector and the unit embedding, oriented
here so that a high score means synthetic (the label 1 of this project):

* genuine clips are pushed to ``z < -M_GENUINE`` (cosine with the genuine side above 0.9);
* synthetic clips only need ``z > -M_SYNTHETIC`` (within 0.2 of it, anything goes).

The idea is that a synthesiser the model never heard still falls outside the tight
genuine region, where a two-class boundary may have put it on the genuine side.
The score in [-1, 1] is a "logit" like any other to the rest of the pipeline:
Platt calibration on validation turns it into a probability.
"""

from __future__ import annotations

import keras

LOSSES = ("bce", "ocsoftmax")
M_GENUINE = 0.9     # the paper's m_0: genuine embeddings within acos(0.9) of the genuine direction
M_SYNTHETIC = 0.2   # the paper's m_1: synthetic embeddings at least acos(0.2) away from it
OC_ALPHA = 20.0     # the paper's scale factor


def cosine_threshold() -> float:
    """Score halfway between the two margins (for the training accuracy only)."""
    return -(M_GENUINE + M_SYNTHETIC) / 2


def oc_softmax(y_true, score):
    """OC-Softmax loss per window for cosine scores oriented towards 'synthetic'."""
    y = keras.ops.cast(keras.ops.reshape(y_true, (-1, 1)), score.dtype)
    genuine = keras.ops.softplus(OC_ALPHA * (score + M_GENUINE))
    synthetic = keras.ops.softplus(OC_ALPHA * (-M_SYNTHETIC - score))
    return keras.ops.mean(y * synthetic + (1.0 - y) * genuine, axis=-1)


def make_loss(name: str, label_smoothing: float = 0.0):
    """The Keras loss and the accuracy threshold on the network's output for loss ``name``."""
    if name == "bce":
        return keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=label_smoothing), 0.0
    if name == "ocsoftmax":
        return oc_softmax, cosine_threshold()
    raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")
