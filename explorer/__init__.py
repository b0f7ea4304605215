"""Digit Confidence Explorer: the library behind the Streamlit app (no Streamlit here)."""
from explorer.inputs.preprocess import canvas_to_mnist
from explorer.lab.ood import not_a_digit
from explorer.model.checkpoints import CheckpointError, LoadedModel, load_model
from explorer.model.inference import predict_logits

__all__ = ["CheckpointError", "LoadedModel", "canvas_to_mnist", "load_model", "not_a_digit",
           "predict_logits"]
