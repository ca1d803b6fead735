"""Measure how zero-centring affects neural-network training."""

from . import activations
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor
from .preprocessing import Centerer, SampleCenterer

__version__ = "0.1.0.dev0"

__all__ = ["Centerer", "MLPClassifier", "MLPRegressor", "SampleCenterer", "activations",
           "__version__"]
