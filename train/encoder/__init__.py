"""The Whisper encoder in Keras: weights from CTranslate2's file, LiteRT export for serving.

``version`` writes an encoder model version (the head as LiteRT, ``encoder.json``) from a
fitted :class:`~train.encoder.heads.PooledLinear`, for :mod:`detector.encoder.scorer` to serve.
"""
