"""Write an encoder model version folder from a fitted :class:`~train.encoder.heads.PooledLinear`.

The folder is what :class:`detector.inference.Detector` serves through
:mod:`detector.encoder.scorer` (the format: :mod:`detector.encoder.record`):

* ``model.tflite`` -- the head: (n, len(outputs) * 1024) pooled statistics in, the raw
  synthetic logit (n, 1) out. The fitted StandardScaler is folded into one Dense layer,
  ``w' = coef / scale`` and ``b' = intercept - sum(coef * mean / scale)``, so the head
  reads the encoder's statistics as they are;
* ``encoder.json`` -- the shared encoder file's name, SHA-256, blocks and fingerprint (its
  outputs on a fixed input), the outputs read;
* ``features.json`` -- the ``whisper`` front end with the preparation settings training
  used (:data:`train.encoder.features.PREPARATION`), so serving trims and normalises alike;
* ``calibration.json``, ``metrics.json`` and ``card.md``.

Sealing (``integrity.json``) needs the version inside a model store whose ``encoders/``
holds the encoder: pass ``seal=True`` or run ``python -m detector seal VERSION`` there.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from detector import model_report
from detector.calibration import Calibration
from detector.encoder.record import ENCODER_WIDTH, EncoderRecord
from detector.encoder.runtime import WhisperEncoder
from detector.features import feature_code
from detector.model_report import ModelReport
from train.encoder.features import PREPARATION
from train.encoder.heads import FusedHead, PooledLinear, spec_of


def folded_head(head: PooledLinear) -> tuple[np.ndarray, float]:
    """The fitted head as one linear map on unscaled pooled statistics: (weights (d,), bias).

    Raises
    ------
    ValueError
        When the head has not been fitted.
    """
    if head.model is None or head.scaler is None:
        raise ValueError("the head is not fitted")
    coef = np.asarray(head.model.coef_, dtype=np.float64).reshape(-1)
    mean, scale = np.asarray(head.scaler.mean_, np.float64), np.asarray(head.scaler.scale_, np.float64)
    weights = coef / scale
    bias = float(np.asarray(head.model.intercept_).reshape(-1)[0] - np.sum(coef * mean / scale))
    return weights, bias


def export_head(weights: np.ndarray, bias: float, path: str | Path) -> Path:
    """Write a LiteRT head: (n, len(weights)) float32 in, ``x @ weights + bias`` as (n, 1) out."""
    import keras

    from train.export import export_tflite

    inputs = keras.Input((len(weights),), name="pooled_stats")
    dense = keras.layers.Dense(1, name="logit")
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([np.asarray(weights, np.float32).reshape(-1, 1), np.array([bias], np.float32)])
    return export_tflite(model, path)


def export_fused_head(head: FusedHead, path: str | Path) -> Path:
    """Write a fused LiteRT head (:mod:`detector.encoder.fused_head`): the folded linear head on
    ``pooled_stats``, the trained temporal head on ``sequence`` and ``mask``, and the fusion weights."""
    import keras

    from train.export import export_tflite

    weights, bias = folded_head(head.linear)
    pooled = keras.Input((len(weights),), name="pooled_stats")
    sequence = keras.Input((None, head.temporal.layers, ENCODER_WIDTH), name="sequence")
    mask = keras.Input((None,), name="mask")
    linear = keras.layers.Dense(1, name="linear_logit")
    fuse = keras.layers.Dense(1, name="fused_logit")
    both = keras.layers.Concatenate()([linear(pooled), head.temporal.model([sequence, mask])])
    model = keras.Model([pooled, sequence, mask], fuse(both))
    linear.set_weights([np.asarray(weights, np.float32).reshape(-1, 1), np.array([bias], np.float32)])
    fuse.set_weights([np.asarray(head.weights, np.float32).reshape(2, 1), np.array([head.bias], np.float32)])
    return export_tflite(model, path)


def head_words(head: PooledLinear | FusedHead) -> str:
    """The head in a phrase for the card."""
    if isinstance(head, FusedHead):
        return (f"{head_words(head.linear)}, fused with a temporal head (learned weights over the stem and blocks "
                f"1-3, a temporal convolution over 0.1-s steps, attentive statistics pooling) with weights "
                f"{[round(float(w), 3) for w in head.weights]} fitted on validation,")
    if head.per_output:
        return f"one logistic regression per encoder output (C = {list(head.chosen_c)}), their logits averaged,"
    return f"logistic regression (C = {head.chosen_c})"


def short_card(name: str, record: EncoderRecord, head: PooledLinear | FusedHead) -> str:
    """A short model card: what the version is, in plain words."""
    return (f"# Model {name}\n\n"
            f"- Front end: the pretrained Whisper base encoder, first {record.blocks} blocks (`{record.file}`, "
            f"SHA-256 {record.sha256[:12]}…), run once over the whole clip.\n"
            f"- Head (`{record.spec.name}`): {record.spec.words()}; fitted as {head_words(head)}.\n"
            "- The verdict comes from the whole clip; the scores per window are a guide to where, not verdicts.\n")


def write_encoder_version(folder: str | Path, head: PooledLinear | FusedHead, encoder_file: str | Path, blocks: int,
                          calibration: Calibration, report: ModelReport | None = None, card: str | None = None,
                          seal: bool = False, version: str | None = None) -> Path:
    """Write an encoder model version into ``folder`` (created; existing files are overwritten).

    Parameters
    ----------
    folder : str or Path
        The version folder; its name is the version's name.
    head : PooledLinear or FusedHead
        A fitted head; its (linear part's) ``outputs`` become ``encoder.json``'s outputs.
    encoder_file : str or Path
        The shared LiteRT encoder the head's features came from; its name, SHA-256 and
        fingerprint are recorded (serving finds it in ``<store>/encoders/``).
    blocks : int
        The encoder's transformer blocks.
    calibration : Calibration
        Maps the head's clip logit to a probability and bands (fitted by the caller).
    report : ModelReport, optional
        The measured figures; ``created``, ``version``, ``feature`` and ``feature_code`` are filled in.
    card : str, optional
        The model card; :func:`short_card` when omitted.
    seal : bool
        Also write ``integrity.json`` (the folder must then sit in a store holding the encoder).
    version : str, optional
        The version's name when ``folder`` is a temporary folder renamed afterwards.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fused = isinstance(head, FusedHead)
    linear = head.linear if fused else head
    encoder = WhisperEncoder(encoder_file, num_threads=1)   # one read: the digest and fingerprint are of the same bytes
    record = EncoderRecord(file=Path(encoder_file).name, sha256=encoder.sha256, blocks=blocks, spec=spec_of(head),
                           fingerprint=encoder.fingerprint())
    weights, bias = folded_head(linear)
    if len(weights) != record.head_inputs:
        raise ValueError(f"the head reads {len(weights)} values, but outputs {list(record.outputs)} give "
                         f"{record.head_inputs}")
    features = PREPARATION   # the configuration the features were computed with (train.encoder.features)
    if fused:
        export_fused_head(head, folder / "model.tflite")
    else:
        export_head(weights, bias, folder / "model.tflite")
    record.save(folder)
    features.save(folder / "features.json")
    (folder / "calibration.json").write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report = report or ModelReport()
    arch = f"whisper-base-{blocks} + {record.spec.name}"   # the head's spec names what it reads
    report = report.replace(created=report.created or created, version=version or folder.name, feature=features.feature,
                            arch=arch, feature_code=feature_code(features))
    model_report.save(folder, report)
    (folder / "card.md").write_text(card or short_card(version or folder.name, record, head), encoding="utf-8")
    if seal:
        from detector.integrity import seal_folder

        seal_folder(folder, name=version or folder.name)
    return folder
