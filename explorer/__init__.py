"""Digit Confidence Explorer: the library behind the Streamlit app (no Streamlit here)."""
from explorer.checkpoints import CheckpointError, LoadedModel, load_model
from explorer.inference import predict_logits
from explorer.preprocess import canvas_to_mnist

__all__ = ["CheckpointError", "LoadedModel", "canvas_to_mnist", "load_model", "predict_logits"]
