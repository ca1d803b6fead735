"""Measure how zero-centring affects neural-network training."""

from . import activations
from ._estimators.classifier import MLPClassifier
from ._estimators.regressor import MLPRegressor
from .preprocessing import Centerer, SampleCenterer

__version__ = "0.1.0.dev0"

__all__ = ["Centerer", "MLPClassifier", "MLPRegressor", "SampleCenterer", "activations",
           "__version__"]
