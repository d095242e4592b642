"""Deepfake voice detector core: decoding, validation, features, inference, metrics, registry.

Never imports Streamlit or TensorFlow; the app's pages and the trainer build on it.
"""

from detector.config import FeatureConfig
from detector.errors import AudioError, ModelError

__all__ = ["AudioError", "FeatureConfig", "ModelError"]

