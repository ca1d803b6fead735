"""Grid searches over activation parameters, in parallel and through dask."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from centered_nn import Centerer, MLPClassifier
from centered_nn.activations import LeakyReLU

from .test_activations import Swish

X, Y = load_iris(return_X_y=True)


def _search(activation, grid, **kwargs):
    pipe = Pipeline([("center", Centerer()),
                     ("mlp", MLPClassifier(hidden_layer_sizes=(6,), activation=activation,
                                           max_iter=20, random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(pipe, grid, cv=3, **kwargs).fit(X, Y)


@pytest.mark.parametrize(
    "activation, grid",
    [(LeakyReLU(), {"mlp__activation__alpha": [0.01, 0.5]}),
     (Swish(), {"mlp__activation__beta": [0.5, 2.0], "center__strategy": ["none", "mean"]})],
    ids=["leaky_relu-alpha", "user-subclass-beta"],
)
def test_activation_parameters_are_grid_searchable_in_parallel(activation, grid):
    serial = _search(activation, grid, n_jobs=1)
    parallel = _search(activation, grid, n_jobs=2)
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    # different parameter values are really used: the fitted activations differ
    name, values = next(iter(grid.items()))
    best = parallel.best_estimator_.named_steps["mlp"]
    assert best.activation_.get_params()[name.split("__")[-1]] == parallel.best_params_[name]
    assert activation.get_params() == type(activation)().get_params()  # the caller's is untouched


def test_grid_search_through_the_dask_backend(dask_cluster):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend

    grid = {"mlp__activation__alpha": [0.01, 0.5], "mlp__input_bias": ["none", "mean"]}
    serial = _search(LeakyReLU(), grid, n_jobs=1)
    with distributed.Client(dask_cluster):  # worker processes: everything travels pickled
        with parallel_backend("dask"):
            on_dask = _search(LeakyReLU(), grid, n_jobs=-1)
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
