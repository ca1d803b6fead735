"""Tests of the centring study (centered_nn.model_selection): verdict, inputs, results."""

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from centered_nn import Centerer, MLPClassifier


def make_pipe(estimator=MLPClassifier, max_iter=8, **params):
    """MinMaxScaler -> Centerer(strategy='none') -> a small sgd MLP, seed 0."""
    mlp = estimator(hidden_layer_sizes=(8,), solver="sgd", max_iter=max_iter, random_state=0,
                    **params)
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", mlp)])
