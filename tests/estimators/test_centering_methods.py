"""Batch centring (input_bias='batch') and gradient centralization, on both estimators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn._network import network as _network

from ..harness import flat_loss_and_gradient

X, Y = load_digits(return_X_y=True)
X, Y = X[:240] / 16.0, Y[:240]
SW = np.random.RandomState(0).uniform(0.2, 2.0, size=len(Y))
SHIFT = np.random.RandomState(1).uniform(2.0, 6.0, size=X.shape[1])

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _target(cls):
    return Y if cls is MLPClassifier else Y / 9.0


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
    x0, loss_grad = flat_loss_and_gradient(est, X[:60], Yenc, sw)
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
    params = dict(hidden_layer_sizes=(8,), input_bias="batch", early_stopping=True,
                  solver="adam", learning_rate_init=0.1, max_iter=40, random_state=0,
                  n_iter_no_change=5)
    est = MLPClassifier(**params).fit(X, Y)
    best = int(np.argmax(est.validation_scores_))
    # the run went on past its best epoch and ended below it: keeping the last weights
    # would not score the best
    assert est.validation_scores_[-1] < max(est.validation_scores_)
    # the restored weights and running means are the best epoch's: those of a refit
    # that stops after it (the same trajectory up to there)
    upto = MLPClassifier(**{**params, "max_iter": best + 1}).fit(X, Y)
    assert upto.validation_scores_ == est.validation_scores_[:best + 1]
    for name in ("coefs_", "intercepts_", "input_biases_"):
        for restored, at_best in zip(getattr(est, name), getattr(upto, name)):
            np.testing.assert_array_equal(restored, at_best)
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


# ------------------------------------ one-sample minibatches under 'batch' (issue 18, item 1)
ONE_SAMPLE = r"input_bias='batch' expected more than 1 value per channel when training"


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_batch_refuses_minibatches_of_one_sample(cls, solver):
    est = cls(hidden_layer_sizes=(5,), solver=solver, input_bias="batch", batch_size=1,
              max_iter=2, random_state=0)
    with pytest.raises(ValueError, match=ONE_SAMPLE + r".*\(batch_size=1 on 240 training"):
        est.fit(X, _target(cls))
    assert not hasattr(est, "coefs_")
    extra = {"classes": np.unique(Y)} if cls is MLPClassifier else {}
    est.set_params(batch_size="auto")
    with pytest.raises(ValueError, match=ONE_SAMPLE + r".*batch_size='auto' on 1 training"):
        est.partial_fit(X[:1], _target(cls)[:1], **extra)
    assert not hasattr(est, "coefs_")
    est.partial_fit(X[:2], _target(cls)[:2], **extra)  # two samples are enough
    assert est.n_iter_ == 1


def _one_step_fit(cls, X_rows, y_rows, sample_weight=None, **params):
    """sgd without momentum, alpha=0, no shuffling: one epoch of steps in order."""
    est = cls(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, alpha=0.0, shuffle=False,
              input_bias="batch", max_iter=1, learning_rate_init=0.1, random_state=0, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X_rows, y_rows, sample_weight=sample_weight)
    return est, [str(w.message) for w in caught if "input_bias='batch'" in str(w.message)]


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("case", ["last-row", "weight-on-one-row"])
def test_batch_one_sample_minibatch_warns_and_leaves_centred_weights(cls, case):
    """The documented decision: the step on a one-row minibatch (the last one when
    n % batch_size == 1), or one whose weight sits on one row, is taken with a warning;
    the centred layers' weights do not move in it."""
    n, y = len(Y), _target(cls)
    if case == "last-row":
        batch, sample_weight = n - 1, None
    else:
        batch, sample_weight = n // 2, np.ones(n)
        sample_weight[n // 2 + 1:] = 0.0  # the second minibatch weighs on its first row
    full, messages = _one_step_fit(cls, X, y, sample_weight, batch_size=batch)
    assert len(messages) == 1  # once per call, though the hidden layer is centred too
    assert "was centred on its one sample" in messages[0]
    assert "n_samples % batch_size == 1" in messages[0]
    # the same first step alone: the first minibatch, one step
    first_weight = None if sample_weight is None else sample_weight[:batch]
    first, none = _one_step_fit(cls, X[:batch], y[:batch], first_weight, batch_size=batch)
    assert none == []
    for a, b in zip(full.coefs_, first.coefs_):  # every weight matrix is centred
        np.testing.assert_array_equal(a, b)
    # the step was taken: the output intercept moved
    assert np.abs(full.intercepts_[-1] - first.intercepts_[-1]).max() > 1e-6


def test_batch_without_one_sample_minibatches_does_not_warn():
    _, messages = _one_step_fit(MLPClassifier, X, Y, batch_size=len(Y) - 2)  # last batch: 2
    assert messages == []


# ------------------------------- gradient centralization's by-construction facts (item 6)
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("params", [dict(solver="sgd", batch_size=1),
                                    dict(solver="adam", batch_size=2, input_bias="batch",
                                         input_bias_layers="first"),
                                    dict(solver="lbfgs")],
                         ids=["sgd-batch1", "adam-batch-bias", "lbfgs"])
def test_gradient_centralization_same_sign_fractions_are_zero_where_defined(cls, params):
    common = dict(hidden_layer_sizes=(8, 4), max_iter=3, random_state=0, **params)
    gc = cls(gradient_centralization=True, **common).fit(X, _target(cls))
    plain = cls(**common).fit(X, _target(cls))
    for key in ("same_sign_fraction", "sample_same_sign_fraction"):
        values = gc.gradient_sign_history_[key]
        defined = ~np.isnan(values)
        assert defined.all(axis=0).all()  # every weight matrix has fan_in > 1 here
        np.testing.assert_array_equal(values, 0.0)
        assert np.nanmax(plain.gradient_sign_history_[key]) > 0  # not 0 for another reason


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("X1, sizes, layer, what", [
    (X[:, 20:21], (4,), 0, "one input feature"),
    (X, (1,), 1, "a hidden layer of one unit"),
])
def test_gradient_centralization_warns_of_a_layer_with_fan_in_one(cls, X1, sizes, layer, what):
    params = dict(hidden_layer_sizes=sizes, solver="sgd", max_iter=3, random_state=0)
    with pytest.warns(UserWarning, match=rf"gradient_centralization=True: weight matrix "
                                         rf"coefs_\[{layer}\] has fan_in 1 \({what}\)"):
        est = cls(gradient_centralization=True, **params).fit(X1, _target(cls))
    # the fact warned about: those weights are still the initial draw
    rng = check_random_state(0)
    initial, _ = _network.init_parameters(rng, [X1.shape[1], *sizes, est.n_outputs_], 6.0,
                                          np.float64)
    np.testing.assert_array_equal(est.coefs_[layer], initial[layer])
    for key in ("same_sign_fraction", "sample_same_sign_fraction"):
        assert np.isnan(est.gradient_sign_history_[key][:, layer]).all()
    with warnings.catch_warnings(record=True) as caught:  # no warning without centralization
        warnings.simplefilter("always")
        cls(**params).fit(X1, _target(cls))
    assert not [w for w in caught if "gradient_centralization" in str(w.message)]
