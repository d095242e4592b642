"""The Whisper encoder in Keras: weights from CTranslate2's file, LiteRT export for serving."""
