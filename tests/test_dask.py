"""Past one machine: grid searches through joblib's dask backend, and dask arrays
streamed block by block through ``dask_ml.wrappers.Incremental``, on a local
dask.distributed cluster with worker processes (the ``dask_cluster`` fixture)."""

import warnings

import dask.array as da
import numpy as np
import pytest
from dask_ml.wrappers import Incremental
from distributed import Client, get_task_stream
from joblib import parallel_backend
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn.activations import LeakyReLU

ESTIMATORS = [MLPClassifier, MLPRegressor]


def _data(Estimator, n_samples=157, n_features=4, seed=0):
    """Uncentred features and targets fitting the estimator's task."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features)) + 3.0
    signal = X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=n_samples)
    if is_classifier(Estimator()):
        return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    return X, signal


def _quietly(method, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return method(*args, **kwargs)


def _ran_on(cluster, tasks):
    """The workers of `cluster` that ran the recorded `tasks` (all of them ran there)."""
    workers = set(cluster.scheduler_info["workers"])
    used = {task["worker"] for task in tasks}
    assert used <= workers, (used, workers)
    return used


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_grid_search_on_the_dask_backend_equals_the_serial_run(Estimator, dask_cluster):
    X, y = _data(Estimator)
    grid = {"activation": [LeakyReLU(alpha=0.2), "tanh"], "input_bias": ["none", "mean"],
            "solver": ["adam", "lbfgs"]}
    estimator = Estimator(hidden_layer_sizes=(6,), max_iter=15, random_state=0)

    def search(**kwargs):
        return _quietly(GridSearchCV(estimator, grid, cv=3, **kwargs).fit, X, y)

    serial = search(n_jobs=1)
    with Client(dask_cluster) as client, get_task_stream(client) as stream:
        with parallel_backend("dask"):
            on_dask = search(n_jobs=-1)
    assert _ran_on(dask_cluster, stream.data)  # the fits really ran on the workers
    assert on_dask.cv_results_["params"] == serial.cv_results_["params"]
    for key in ["mean_test_score", "rank_test_score", *(f"split{k}_test_score" for k in range(3))]:
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key], err_msg=key)
    assert on_dask.best_params_ == serial.best_params_
    np.testing.assert_array_equal(on_dask.predict(X), serial.predict(X))


@pytest.mark.parametrize("shuffle_blocks", [False, True], ids=["in-order", "shuffled"])
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_incremental_over_dask_blocks_equals_sequential_partial_fit(Estimator, shuffle_blocks,
                                                                    dask_cluster):
    X, y = _data(Estimator)
    chunks = (40, 40, 40, 37)  # unequal blocks: the streamed mean must weight them
    X_dask = da.from_array(X, chunks=(chunks, X.shape[1]))
    y_dask = da.from_array(y, chunks=(chunks,))
    estimator = Estimator(hidden_layer_sizes=(5, 3), solver="sgd", learning_rate_init=0.05,
                          input_bias="mean", random_state=0)
    extra = {"classes": np.unique(y)} if is_classifier(estimator) else {}
    with Client(dask_cluster) as client, get_task_stream(client) as stream:
        streamed = Incremental(estimator, shuffle_blocks=shuffle_blocks, random_state=7)
        streamed.fit(X_dask, y_dask, **extra)
    assert _ran_on(dask_cluster, stream.data)
    model = streamed.estimator_

    # the same blocks, in the order dask_ml documents (random_state shuffles the blocks)
    order = list(range(len(chunks)))
    if shuffle_blocks:
        np.random.RandomState(7).shuffle(order)
    bounds = np.cumsum((0,) + chunks)
    sequential = clone(estimator)
    for block in order:
        rows = slice(bounds[block], bounds[block + 1])
        sequential.partial_fit(X[rows], y[rows], **extra)

    assert model.loss_curve_ == sequential.loss_curve_
    assert len(model.loss_curve_) == len(chunks)
    for name in ["coefs_", "intercepts_", "input_biases_"]:
        for got, expected in zip(getattr(model, name), getattr(sequential, name)):
            np.testing.assert_array_equal(got, expected, err_msg=name)
    for metric, values in model.gradient_sign_history_.items():
        np.testing.assert_array_equal(values, sequential.gradient_sign_history_[metric], metric)
    # the first layer's offset is minus the mean of the whole array, not of the last block
    np.testing.assert_allclose(model.input_biases_[0], -np.mean(X, axis=0), rtol=1e-12, atol=0)
    np.testing.assert_array_equal(streamed.predict(X), sequential.predict(X))
