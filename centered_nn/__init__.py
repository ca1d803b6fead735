"""Measure how zero-centring affects neural-network training."""

from . import activations
from ._mlp import MLPClassifier
from .preprocessing import Centerer, SampleCenterer

__version__ = "0.1.0.dev0"

__all__ = ["Centerer", "MLPClassifier", "SampleCenterer", "activations", "__version__"]
