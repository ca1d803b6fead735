"""Batch centring (input_bias='batch') and gradient centralization, on both estimators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn._network import network as _network
from centered_nn._training import loops as _training
from centered_nn._training.settings import FitSettings

X, Y = load_digits(return_X_y=True)
X, Y = X[:240] / 16.0, Y[:240]
SW = np.random.RandomState(0).uniform(0.2, 2.0, size=len(Y))
SHIFT = np.random.RandomState(1).uniform(2.0, 6.0, size=X.shape[1])

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _target(cls):
    return Y if cls is MLPClassifier else Y / 9.0


def _flat_loss_grad(est, X, Y, sample_weight):
    """The estimator's loss and gradient as functions of its flat trainable vector.

    Every evaluation recomputes the full-batch offsets, as an L-BFGS evaluation does.
    """
    net, state = est._network(), est._state
    params = FitSettings.from_params(est.get_params())
    arrays = _training.trainable(net, state.offsets)
    bounds = np.cumsum([0] + [a.size for a in arrays])
    tracker = state.offsets.tracker(est.input_bias_rate, full_batch=True)

    def loss_grad(x):
        for a, lo, hi in zip(arrays, bounds[:-1], bounds[1:]):
            a[...] = x[lo:hi].reshape(a.shape)
        loss, grads = _training._loss_and_grads(net, state, params, X, Y, sample_weight, tracker)
        return loss, np.hstack([g.ravel() for g in grads])

    return loss_grad, np.hstack([a.ravel() for a in arrays])


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("layers", ["first", "all"])
@pytest.mark.parametrize("weighted", [False, True])
def test_batch_gradient_includes_the_path_through_the_mean(cls, layers, weighted):
    est = cls(hidden_layer_sizes=(5, 4), input_bias="batch", input_bias_layers=layers,
              solver="lbfgs", max_iter=3, alpha=0.1, random_state=0)
    sw = SW[:60] if weighted else None
    est.fit(X[:60], _target(cls)[:60], sample_weight=sw)
    Yenc = (est._label_binarizer.transform(Y[:60]).astype(bool) if cls is MLPClassifier
            else (Y[:60] / 9.0).reshape(-1, 1))
    loss_grad, x0 = _flat_loss_grad(est, X[:60], Yenc, sw)
    _, grad = loss_grad(x0.copy())
    for i in np.random.RandomState(0).choice(x0.size, 40, replace=False):
        up, down = x0.copy(), x0.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric = (loss_grad(up)[0] - loss_grad(down)[0]) / 2e-6
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8), i


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("layers", ["first", "all"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_batch_centring_is_shift_invariant(cls, layers, solver):
    params = dict(hidden_layer_sizes=(8,), input_bias="batch", input_bias_layers=layers,
                  solver=solver, max_iter=5, random_state=0, batch_size=64,
                  learning_rate_init=0.01)
    plain = cls(**params).fit(X, _target(cls))
    shifted = cls(**params).fit(X + SHIFT, _target(cls))
    np.testing.assert_allclose(shifted.loss_curve_, plain.loss_curve_, rtol=1e-6)
    for a, b in zip(shifted.coefs_, plain.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(shifted.input_biases_[0], plain.input_biases_[0] - SHIFT,
                               rtol=1e-6)
    if cls is MLPClassifier:
        np.testing.assert_allclose(shifted.predict_proba(X + SHIFT), plain.predict_proba(X),
                                   rtol=1e-6, atol=1e-9)
    else:
        np.testing.assert_allclose(shifted.predict(X + SHIFT), plain.predict(X), rtol=1e-6,
                                   atol=1e-9)


def test_batch_offsets_for_prediction_are_running_means_of_batch_means():
    est = MLPRegressor(hidden_layer_sizes=(4,), input_bias="batch", input_bias_layers="first",
                       solver="sgd", shuffle=False, batch_size=80, input_bias_rate=0.25,
                       learning_rate_init=1e-3, random_state=0)
    est.partial_fit(X, Y / 9.0)
    m = X[:80].mean(axis=0)  # the first batch initialises, then rate 0.25
    for start in (80, 160):
        m = m + 0.25 * (X[start:start + 80].mean(axis=0) - m)
    np.testing.assert_allclose(est.input_biases_[0], -m, rtol=1e-12)


def test_batch_after_lbfgs_predicts_like_the_training_network():
    est = MLPClassifier(hidden_layer_sizes=(6, 5), input_bias="batch", solver="lbfgs",
                        max_iter=20, random_state=0).fit(X, Y, sample_weight=SW)
    inputs, _ = est._network().forward(X)
    for layer in range(3):  # the final full-data (weighted) means of every layer's input
        np.testing.assert_allclose(est.input_biases_[layer],
                                   -np.average(inputs[layer], axis=0, weights=SW), atol=1e-10)


def test_batch_on_sparse_input_equals_dense():
    Xs = np.where(X > 0.5, X, 0.0)
    params = dict(hidden_layer_sizes=(8,), input_bias="batch", max_iter=4, random_state=0)
    dense = MLPClassifier(**params).fit(Xs, Y)
    sparse = MLPClassifier(**params).fit(sp.csr_matrix(Xs), Y)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(Xs)), dense.predict_proba(Xs),
                               atol=1e-10)


def test_batch_with_early_stopping_restores_the_best_running_means():
    est = MLPClassifier(hidden_layer_sizes=(8,), input_bias="batch", early_stopping=True,
                        solver="adam", learning_rate_init=0.05, max_iter=40, random_state=0,
                        n_iter_no_change=3).fit(X, Y)
    best = int(np.argmax(est.validation_scores_))
    assert best < est.n_iter_ - 1  # the run went on past its best epoch
    # the restored model (weights and running means) scores the best validation
    # score on the fit's own split: the RandomState after the initial weight draws
    rng = check_random_state(0)
    _network.init_parameters(rng, [64, 8, 10], 6.0, np.float64)
    Yenc = est._label_binarizer.transform(Y).astype(bool)
    _, (X_val, Y_val, _) = est._split_validation(X, Yenc, None, rng)
    y_val = est._label_binarizer.inverse_transform(Y_val)
    assert est.score(X_val, y_val) == pytest.approx(est.best_validation_score_)


def _column_sums_at_init(cls, sizes):
    rng = check_random_state(0)
    coefs, _ = _network.init_parameters(rng, sizes, 6.0, np.float64)
    return [c.sum(axis=0) for c in coefs]


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_gradient_centralization_keeps_column_sums_under_sgd(cls):
    est = cls(hidden_layer_sizes=(7, 5), gradient_centralization=True, solver="sgd",
              momentum=0.9, nesterovs_momentum=True, alpha=0.5, learning_rate_init=0.05,
              max_iter=10, random_state=0).fit(X, _target(cls))
    sizes = [X.shape[1], 7, 5, est.n_outputs_]
    for fitted, initial in zip(est.coefs_, _column_sums_at_init(cls, sizes)):
        np.testing.assert_allclose(fitted.sum(axis=0), initial, atol=1e-10)
    plain = cls(**{**est.get_params(), "gradient_centralization": False}).fit(X, _target(cls))
    assert np.abs(plain.coefs_[0].sum(axis=0) - est.coefs_[0].sum(axis=0)).max() > 1e-3


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_gradient_centralization_step_is_the_projected_gradient(cls):
    """One full-batch sgd step without momentum: ΔW = P(ΔW of the plain run), P centring columns."""
    params = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, alpha=0.3,
                  batch_size=len(X), max_iter=1, learning_rate_init=0.1, random_state=0,
                  shuffle=False)
    gc = cls(gradient_centralization=True, **params).fit(X, _target(cls))
    plain = cls(**params).fit(X, _target(cls))
    sizes = [X.shape[1], 6, plain.n_outputs_]
    initial, _ = _network.init_parameters(check_random_state(0), sizes, 6.0, np.float64)
    for W0, W_gc, W_plain in zip(initial, gc.coefs_, plain.coefs_):
        step = W_plain - W0
        np.testing.assert_allclose(W_gc - W0, step - step.mean(axis=0), atol=1e-12)
    for c_gc, c_plain in zip(gc.intercepts_, plain.intercepts_):
        np.testing.assert_array_equal(c_gc, c_plain)


def test_gradient_centralization_constrains_lbfgs_too():
    est = MLPRegressor(hidden_layer_sizes=(6,), gradient_centralization=True, solver="lbfgs",
                       max_iter=30, random_state=0).fit(X, Y / 9.0)
    for fitted, initial in zip(est.coefs_, _column_sums_at_init(MLPRegressor, [64, 6, 1])):
        np.testing.assert_allclose(fitted.sum(axis=0), initial, atol=1e-8)


def test_all_positive_inputs_batch_centring_mixes_per_sample_signs():
    Xpos = X + 0.01
    raw = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", batch_size=20, max_iter=2,
                        random_state=0).fit(Xpos, Y)
    batch = MLPClassifier(**{**raw.get_params(), "input_bias": "batch"}).fit(Xpos, Y)
    np.testing.assert_array_equal(raw.gradient_sign_history_["sample_same_sign_fraction"][:, 0],
                                  1.0)
    assert batch.gradient_sign_history_["sample_same_sign_fraction"][:, 0].max() < 0.2


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_all_positive_inputs_gradient_centralization_mixes_per_sample_signs(cls):
    """The sign metrics follow the centred update: per-sample columns delta (e_s - mean e_s)."""
    Xpos = X + 0.01
    params = dict(hidden_layer_sizes=(8,), solver="sgd", batch_size=1, max_iter=1,
                  learning_rate_init=1e-3, random_state=0)
    raw = cls(**params).fit(Xpos, _target(cls))
    gc = cls(gradient_centralization=True, **params).fit(Xpos, _target(cls))
    for key in ("sample_same_sign_fraction", "same_sign_fraction"):
        np.testing.assert_array_equal(raw.gradient_sign_history_[key][:, 0], 1.0)
        np.testing.assert_array_equal(gc.gradient_sign_history_[key][:, 0], 0.0)
    # the input itself is unchanged by centring the gradient: the same first-layer mean
    assert gc.gradient_sign_history_["input_mean"][0, 0] == pytest.approx(
        raw.gradient_sign_history_["input_mean"][0, 0])
