"""MLPRegressor against scikit-learn's own, trajectory for trajectory, and its own facts."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler

from centered_nn import MLPClassifier, MLPRegressor

from ..harness import flat_loss_and_gradient

X_DIAB, Y_DIAB = load_diabetes(return_X_y=True)
X_DIAB = StandardScaler().fit_transform(X_DIAB)
Y_DIAB = (Y_DIAB - Y_DIAB.mean()) / Y_DIAB.std()
# a second target column and non-negative counts for the Poisson loss
Y2_DIAB = np.column_stack([Y_DIAB, np.random.RandomState(0).normal(size=len(Y_DIAB))])
Y_COUNTS = np.random.RandomState(1).poisson(np.exp(0.3 * X_DIAB[:, 2])).astype(float)
SW = np.random.RandomState(2).uniform(0.1, 2.0, size=len(Y_DIAB))


def _fit_both(X, y, fit_params=None, **params):
    params = {"hidden_layer_sizes": (16,), "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(**params).fit(X, y, **(fit_params or {}))
        theirs = SkMLPRegressor(**params).fit(X, y, **(fit_params or {}))
    return ours, theirs


def _assert_same_model(ours, theirs, X, rtol=1e-6):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
        assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(ours, name), getattr(theirs, name)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    pred, ref = ours.predict(X), theirs.predict(X)
    assert pred.shape == ref.shape and pred.dtype == ref.dtype
    np.testing.assert_allclose(pred, ref, rtol=rtol, atol=rtol * np.abs(ref).max())


@pytest.mark.parametrize("loss, y", [("squared_error", Y_DIAB), ("poisson", Y_COUNTS)],
                         ids=["squared_error", "poisson"])
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", max_iter=20),
        dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.05, max_iter=15),
        dict(solver="sgd", learning_rate="adaptive", momentum=0.0, learning_rate_init=0.01,
             tol=1e-2, n_iter_no_change=2, max_iter=40),
        dict(solver="lbfgs", max_iter=30),
        dict(solver="adam", early_stopping=True, max_iter=40),
        dict(solver="sgd", activation="tanh", hidden_layer_sizes=(12, 8), batch_size=32,
             learning_rate_init=0.01, max_iter=10),
    ],
    ids=["adam", "sgd-invscaling", "sgd-adaptive", "lbfgs", "early-stopping", "tanh-deep"],
)
def test_parity(params, loss, y):
    ours, theirs = _fit_both(X_DIAB, y, loss=loss, **params)
    _assert_same_model(ours, theirs, X_DIAB)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == theirs.best_validation_score_


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_parity_multioutput(solver):
    ours, theirs = _fit_both(X_DIAB, Y2_DIAB, solver=solver, max_iter=15)
    _assert_same_model(ours, theirs, X_DIAB)
    assert ours.predict(X_DIAB).shape == Y2_DIAB.shape


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_parity_sample_weight(solver, early_stopping):
    if solver == "lbfgs" and early_stopping:
        pytest.skip("lbfgs has no early stopping")
    ours, theirs = _fit_both(X_DIAB, Y_DIAB, {"sample_weight": SW}, solver=solver,
                             early_stopping=early_stopping, learning_rate_init=0.01, max_iter=15)
    _assert_same_model(ours, theirs, X_DIAB)


def test_parity_sample_weight_early_stopping_restores_the_best():
    ours, theirs = _fit_both(X_DIAB, Y_DIAB, {"sample_weight": SW}, solver="sgd",
                             early_stopping=True, learning_rate_init=0.05, max_iter=60)
    # the last epoch scores below the best: both restore the best epoch's weights
    assert ours.validation_scores_[-1] < max(ours.validation_scores_)
    _assert_same_model(ours, theirs, X_DIAB)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-6)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_parity_sparse(solver):
    X = sp.csr_matrix(np.where(X_DIAB > 0.5, X_DIAB, 0.0))
    ours, theirs = _fit_both(X, Y_DIAB, solver=solver, max_iter=10)
    _assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("solver, rtol", [("adam", 1e-6), ("sgd", 1e-6), ("lbfgs", 1e-3)])
def test_parity_float32(solver, rtol):
    X = X_DIAB.astype(np.float32)
    ours, theirs = _fit_both(X, Y_DIAB, solver=solver, learning_rate_init=0.01, max_iter=10)
    assert ours.coefs_[0].dtype == np.float32 and ours.predict(X).dtype == np.float32
    np.testing.assert_allclose(ours.loss_curve_[:len(getattr(theirs, "loss_curve_", []))],
                               getattr(theirs, "loss_curve_", []), rtol=rtol)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=rtol, atol=rtol)


def test_partial_fit_parity_and_no_lbfgs():
    ours = MLPRegressor(hidden_layer_sizes=(8,), random_state=0, solver="sgd",
                        learning_rate_init=0.01)
    theirs = SkMLPRegressor(hidden_layer_sizes=(8,), random_state=0, solver="sgd",
                            learning_rate_init=0.01)
    for start in (0, 200):
        ours.partial_fit(X_DIAB[start:start + 200], Y_DIAB[start:start + 200])
        theirs.partial_fit(X_DIAB[start:start + 200], Y_DIAB[start:start + 200])
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    np.testing.assert_array_equal(ours.coefs_[0], theirs.coefs_[0])
    assert ours.gradient_sign_history_["same_sign_fraction"].shape == (2, 2)
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


def test_same_constructor_signature_as_scikit_learn():
    ours, theirs = MLPRegressor().get_params(), SkMLPRegressor().get_params()
    for name, value in theirs.items():
        assert ours[name] == value, name
    assert set(ours) - set(theirs) == set(MLPClassifier().get_params()) - {
        name for name in SkMLPRegressor().get_params() if name != "loss"} - {"class_weight"}
    assert list(MLPRegressor.__init__.__code__.co_varnames[1:4]) == [
        "loss", "hidden_layer_sizes", "activation"]


def test_poisson_refuses_negative_targets():
    with pytest.raises(ValueError, match="loss='poisson' requires non-negative targets"):
        MLPRegressor(loss="poisson").fit(X_DIAB, Y_DIAB)


def test_all_positive_inputs_give_single_signed_per_sample_gradients():
    """The seed's fact on a regression target: batch_size=1, no offsets."""
    X = load_digits().data[:150] / 16.0 + 0.01  # every entry > 0
    y = np.random.RandomState(0).normal(size=150)
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", batch_size=1, max_iter=2,
                       learning_rate_init=1e-3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two epochs: signs, not a fit
        reg.fit(X, y)
        centred = MLPRegressor(**reg.get_params()).fit(X - X.mean(axis=0), y)
    history = reg.gradient_sign_history_
    np.testing.assert_array_equal(history["sample_same_sign_fraction"][:, 0], 1.0)
    np.testing.assert_array_equal(history["same_sign_fraction"][:, 0], 1.0)
    assert centred.gradient_sign_history_["sample_same_sign_fraction"][:, 0].max() < 0.1


@pytest.mark.parametrize("loss, y", [("squared_error", Y2_DIAB[:60]), ("poisson", Y_COUNTS[:60])])
def test_estimator_gradient_matches_finite_differences(loss, y):
    """The gradient training uses is that of OutputLayer.objective plus the penalty."""
    reg = MLPRegressor(loss=loss, hidden_layer_sizes=(5,), input_bias="learned", alpha=0.1,
                       max_iter=2, random_state=0, solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_DIAB[:60], y)
    x0, loss_grad = flat_loss_and_gradient(reg, X_DIAB[:60], y.reshape(60, -1))
    _, grad = loss_grad(x0.copy())
    rng = np.random.RandomState(0)
    start = 0
    for array in reg.coefs_ + reg.intercepts_ + [b for b in reg.input_biases_ if b is not None]:
        for i in start + rng.randint(array.size, size=4):  # four entries of every array
            up, down = x0.copy(), x0.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            numeric = (loss_grad(up)[0] - loss_grad(down)[0]) / 2e-6
            assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
        start += array.size
    assert start == x0.size


def test_reported_squared_error_is_the_objective_over_n_outputs():
    # one batch and a negligible step: loss_ is the loss at the final weights
    reg, _ = _fit_both(X_DIAB, Y2_DIAB, solver="sgd", max_iter=1, learning_rate_init=1e-12,
                       momentum=0.0, batch_size=len(X_DIAB))
    P = reg.predict(X_DIAB)
    objective = 0.5 * ((P - Y2_DIAB) ** 2).sum(axis=1).mean()
    penalty = 0.5 * 1e-4 * sum((c ** 2).sum() for c in reg.coefs_) / len(X_DIAB)
    assert reg.loss_ == pytest.approx(objective / 2 + penalty, rel=1e-6)


def test_pickle_carries_parameters_and_optimizer_state_only():
    """A fitted regressor pickles to its parameters, Adam's two moments (for partial_fit)
    and the int8 gradient signs the next flip fraction compares with: no snapshot."""
    reg, _ = _fit_both(X_DIAB, Y_DIAB, max_iter=5, hidden_layer_sizes=(64, 32),
                       early_stopping=True)
    n_params = sum(a.size for a in reg.coefs_ + reg.intercepts_)
    size = len(pickle.dumps(reg))
    assert size < 8 * n_params * (3 + 1 / 8) + 8192
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X_DIAB), reg.predict(X_DIAB))


# ---------------------------- partial_fit keeps sample_weight (issue 18, item 15)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_sample_weight_parity(solver):
    params = dict(hidden_layer_sizes=(8,), solver=solver, learning_rate_init=0.01,
                  random_state=0)
    ours, theirs = MLPRegressor(**params), SkMLPRegressor(**params)
    for chunk in np.array_split(np.arange(len(Y_DIAB)), 3):
        ours.partial_fit(X_DIAB[chunk], Y_DIAB[chunk], sample_weight=SW[chunk])
        theirs.partial_fit(X_DIAB[chunk], Y_DIAB[chunk], sample_weight=SW[chunk])
    _assert_same_model(ours, theirs, X_DIAB)
    unweighted = MLPRegressor(**params).partial_fit(X_DIAB, Y_DIAB)
    assert not np.allclose(unweighted.loss_curve_, ours.loss_curve_[:1], rtol=1e-3)


@pytest.mark.parametrize("input_bias", ["none", "learned", "mean", "batch"])
def test_partial_fit_zero_one_weights_equal_the_weighted_rows_alone(input_bias):
    """One minibatch per call (batch_size auto: 200 >= a chunk), no shuffling: weight 0
    drops a row, weight 1 keeps it."""
    keep = np.random.RandomState(5).rand(len(Y_DIAB)) < 0.6
    params = dict(hidden_layer_sizes=(8, 4), solver="sgd", batch_size="auto",
                  shuffle=False, alpha=1e-2, learning_rate_init=0.01, input_bias=input_bias,
                  random_state=0)
    weighted, alone = MLPRegressor(**params), MLPRegressor(**params)
    for chunk in np.array_split(np.arange(len(Y_DIAB)), 3):
        weighted.partial_fit(X_DIAB[chunk], Y_DIAB[chunk], sample_weight=keep[chunk] * 1.0)
        kept = chunk[keep[chunk]]
        alone.partial_fit(X_DIAB[kept], Y_DIAB[kept])
    np.testing.assert_allclose(weighted.loss_curve_, alone.loss_curve_, rtol=1e-12)
    for name in ("coefs_", "intercepts_", "input_biases_"):
        for a, b in zip(getattr(weighted, name), getattr(alone, name)):
            if b is None:
                assert a is None
            else:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("path", ["numpy", "numba"])
@pytest.mark.parametrize("solver, extra", [("sgd", {}), ("sgd", {"nesterovs_momentum": False}),
                                           ("adam", {})])
@pytest.mark.parametrize("batch_size", [1, 50])
def test_float32_inputs_with_float64_targets_follow_scikit_learn(compiled_switch, path, solver,
                                                                 extra, batch_size):
    """float32 X, float64 targets: the gradients are float64, and so becomes the optimiser's
    state at its first step, as scikit-learn's (it rebuilds it from ``momentum * velocity -
    lr * grad``); the weights stay float32."""
    if path == "numba":
        pytest.importorskip("numba")
    compiled_switch.ENABLED = path == "numba"
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPRegressor as SkRegressor

    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300] / 9.0
    params = dict(hidden_layer_sizes=(8,), solver=solver, batch_size=batch_size, max_iter=2,
                  random_state=0, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPRegressor(**params).fit(X, y), SkRegressor(**params).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert ours.loss_curve_ == theirs.loss_curve_
