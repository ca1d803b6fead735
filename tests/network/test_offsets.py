"""Per-input offsets b in f = W(a + b) + c: input_bias='learned' and 'mean'."""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from centered_nn import Centerer, MLPClassifier
from centered_nn._network.network import move_offset

from ..harness import flat_loss_and_gradient

X_RAW, Y = load_digits(return_X_y=True)
X_RAW, Y = X_RAW[:500], Y[:500]
X_SHIFTED = StandardScaler().fit_transform(X_RAW) + 3.0  # standardised, then all shifted
SW = np.random.RandomState(1).uniform(0.2, 3.0, size=len(Y))


def _fit(X=X_SHIFTED, y=Y, fit_params=None, **params):
    params = {"hidden_layer_sizes": (12,), "random_state": 0, "max_iter": 5, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(**params).fit(X, y, **(fit_params or {}))


@pytest.mark.parametrize("input_bias", ["learned", "mean"])
@pytest.mark.parametrize("layers, expected", [("first", [True, False]), ("all", [True, True])])
def test_offset_layout(input_bias, layers, expected):
    clf = _fit(input_bias=input_bias, input_bias_layers=layers)
    assert [b is not None for b in clf.input_biases_] == expected
    for b, W in zip(clf.input_biases_, clf.coefs_):
        assert b is None or (b.shape == (W.shape[0],) and b.dtype == W.dtype)
    assert _fit().input_biases_ == [None, None]


def test_mean_first_layer_is_the_exact_weighted_training_mean():
    clf = _fit(input_bias="mean", solver="sgd", fit_params={"sample_weight": SW})
    np.testing.assert_allclose(clf.input_biases_[0], -np.average(X_SHIFTED, axis=0, weights=SW), rtol=1e-12)


def test_mean_first_layer_streams_across_partial_fit():
    clf = MLPClassifier(hidden_layer_sizes=(8,), input_bias="mean", random_state=0)
    chunks = np.array_split(np.arange(len(Y)), 3)
    for chunk in chunks:
        clf.partial_fit(X_SHIFTED[chunk] * (1 + chunk[:, None] / 500), Y[chunk], sample_weight=SW[chunk],
                        classes=np.unique(Y))
    seen = X_SHIFTED * (1 + np.arange(len(Y))[:, None] / 500)
    np.testing.assert_allclose(clf.input_biases_[0], -np.average(seen, axis=0, weights=SW), rtol=1e-12)


def test_mean_first_layer_first_epoch_equals_centerer_pipeline():
    params = dict(hidden_layer_sizes=(12,), solver="sgd", random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(Centerer(), MLPClassifier(**params)).fit(X_SHIFTED, Y)
        offset = MLPClassifier(input_bias="mean", input_bias_layers="first", **params).fit(X_SHIFTED, Y)
    np.testing.assert_allclose(offset.loss_curve_[0], pipe[-1].loss_curve_[0], rtol=1e-12)
    # the first layer's offset stays fixed at -mean, so the whole trajectory agrees
    np.testing.assert_allclose(offset.loss_curve_, pipe[-1].loss_curve_, rtol=1e-10)


def test_learned_center_init_starts_at_minus_mean_and_zeros_at_zero():
    # a vanishing learning rate leaves the initial offsets in place
    frozen = dict(solver="sgd", learning_rate_init=1e-300, momentum=0.0, max_iter=1)
    centred = _fit(input_bias="learned", input_bias_layers="first", **frozen)
    np.testing.assert_allclose(centred.input_biases_[0], -X_SHIFTED.mean(axis=0), rtol=1e-12)
    zeros = _fit(input_bias="learned", input_bias_init="zeros", **frozen)
    assert all(np.abs(b).max() < 1e-250 for b in zeros.input_biases_)


def test_learned_offsets_are_trained():
    init = _fit(input_bias="learned", solver="sgd", learning_rate_init=1e-300, momentum=0.0, max_iter=1)
    trained = _fit(input_bias="learned", solver="sgd", learning_rate_init=0.05, max_iter=3)
    assert np.abs(trained.input_biases_[1] - init.input_biases_[1]).max() > 1e-4


def test_learned_first_layer_equals_centered_data_at_init():
    """With init 'center' the network starts as the plain network on centred data."""
    one_batch = dict(solver="sgd", max_iter=1, batch_size=len(Y))  # the loss before any step
    plain = _fit(X=X_SHIFTED - X_SHIFTED.mean(axis=0), **one_batch)
    learned = _fit(input_bias="learned", input_bias_layers="first", **one_batch)
    np.testing.assert_allclose(learned.loss_curve_[0], plain.loss_curve_[0], rtol=1e-12)


@pytest.mark.parametrize("input_bias", ["learned", "mean"])
def test_moving_offsets_with_compensation_preserves_predictions(input_bias):
    clf = _fit(input_bias=input_bias)
    before = clf.predict_proba(X_SHIFTED)
    rng = np.random.RandomState(0)
    for W, c, b in zip(clf.coefs_, clf.intercepts_, clf.input_biases_):
        move_offset(W, c, b, b + rng.normal(scale=2.0, size=b.shape))
    np.testing.assert_allclose(clf.predict_proba(X_SHIFTED), before, rtol=0, atol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("input_bias", ["learned", "mean"])
def test_sparse_input_matches_dense(solver, input_bias):
    X = sp.random(200, 30, density=0.3, format="csr", random_state=0) * 4
    y = np.arange(200) % 3
    params = dict(solver=solver, input_bias=input_bias, max_iter=5)
    sparse_fit, dense_fit = _fit(X=X, y=y, **params), _fit(X=X.toarray(), y=y, **params)
    np.testing.assert_allclose(sparse_fit.loss_curve_, dense_fit.loss_curve_, rtol=1e-9)
    for a, b in zip(sparse_fit.input_biases_, dense_fit.input_biases_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_sparse_mean_offsets_never_densify_x():
    X = sp.random(20_000, 2_000, density=0.002, format="csr", random_state=0, dtype=np.float64)
    y = np.arange(X.shape[0]) % 2
    dense_bytes = X.shape[0] * X.shape[1] * 8
    tracemalloc.start()
    try:
        clf = _fit(X=X, y=y, hidden_layer_sizes=(8,), input_bias="mean", max_iter=1, batch_size=500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.05 * dense_bytes, (peak, dense_bytes)
    np.testing.assert_allclose(clf.input_biases_[0], -np.asarray(X.mean(axis=0)).ravel(), rtol=1e-10)


@pytest.mark.parametrize("input_bias", ["learned", "mean"])
def test_warm_start_and_early_stopping(input_bias):
    clf = _fit(input_bias=input_bias, warm_start=True, early_stopping=True, max_iter=4)
    first_curve = list(clf.loss_curve_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_SHIFTED, Y)
    assert clf.loss_curve_[: len(first_curve)] == first_curve
    assert len(clf.loss_curve_) == len(first_curve) + clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert all(np.isfinite(b).all() for b in clf.input_biases_)


def test_changing_offsets_under_warm_start_is_refused():
    clf = _fit(warm_start=True)
    clf.set_params(input_bias="mean")
    with pytest.raises(ValueError, match="cannot change between warm_start or partial_fit calls"):
        clf.fit(X_SHIFTED, Y)


def test_hidden_mean_offsets_follow_the_running_mean_with_compensation():
    """Two batches, frozen weights: b1 = -(m1 + rate (m2 - m1)), c1 pays for the move."""
    n = len(Y) // 2 * 2
    clf = _fit(X=X_SHIFTED[:n], y=Y[:n], input_bias="mean", solver="sgd", learning_rate_init=1e-300,
               momentum=0.0, input_bias_rate=0.3, batch_size=n // 2, shuffle=False, max_iter=1)
    # the same initial network, computed independently
    rng = np.random.RandomState(0)
    units = [X_SHIFTED.shape[1], 12, 10]
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    X = X_SHIFTED[:n] - X_SHIFTED[:n].mean(axis=0)
    hidden = np.maximum(X @ coefs[0] + intercepts[0], 0)
    m1, m2 = hidden[: n // 2].mean(axis=0), hidden[n // 2:].mean(axis=0)
    expected_b = -(m1 + 0.3 * (m2 - m1))
    np.testing.assert_allclose(clf.input_biases_[1], expected_b, rtol=1e-10)
    # initialising b1 = -m1 is not compensated; the later move is
    expected_c = intercepts[1] - (expected_b + m1) @ coefs[1]
    np.testing.assert_allclose(clf.intercepts_[1], expected_c, rtol=1e-10)


@pytest.mark.parametrize("input_bias", ["learned", "mean"])
def test_pickle_round_trip_keeps_offsets(input_bias):
    clf = _fit(input_bias=input_bias)
    restored = pickle.loads(pickle.dumps(clf))
    for a, b in zip(restored.input_biases_, clf.input_biases_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(restored.predict_proba(X_SHIFTED), clf.predict_proba(X_SHIFTED))


def test_offsets_are_used_by_predict():
    clf = _fit(input_bias="mean")
    proba = clf.predict_proba(X_SHIFTED)
    clf.input_biases_[0][:] = 0.0
    assert np.abs(clf.predict_proba(X_SHIFTED) - proba).max() > 1e-3


@pytest.mark.parametrize("input_bias", ["learned", "mean"])
def test_offsets_use_the_training_part_only_with_early_stopping(input_bias):
    """The first-layer mean excludes the early-stopping validation rows."""
    from sklearn.model_selection import train_test_split

    frozen = dict(solver="sgd", learning_rate_init=1e-300, momentum=0.0, max_iter=1)
    clf = _fit(input_bias=input_bias, input_bias_layers="first", early_stopping=True, **frozen)
    # the same split scikit-learn makes: after the initial weights are drawn
    rng = np.random.RandomState(0)
    for fan_in, fan_out in [(64, 12), (12, 10)]:
        rng.uniform(size=(fan_in, fan_out))
        rng.uniform(size=fan_out)
    X_train = train_test_split(X_SHIFTED, test_size=0.1, random_state=rng, stratify=None)[0]
    np.testing.assert_allclose(clf.input_biases_[0], -X_train.mean(axis=0), rtol=1e-10)
    assert np.abs(clf.input_biases_[0] + X_SHIFTED.mean(axis=0)).max() > 1e-6


def test_lbfgs_hidden_offsets_are_recentred_each_fit_without_changing_predictions():
    clf = _fit(input_bias="mean", solver="lbfgs", warm_start=True, max_iter=20)
    inputs, _ = clf._network().forward(X_SHIFTED)
    np.testing.assert_allclose(clf.input_biases_[1], -inputs[1].mean(axis=0), rtol=1e-8, atol=1e-10)
    clf.set_params(max_iter=1)
    X_more = X_SHIFTED * 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_more, Y)
    inputs, _ = clf._network().forward(X_more)
    np.testing.assert_allclose(clf.input_biases_[1], -inputs[1].mean(axis=0), rtol=1e-8, atol=1e-10)
    # re-centring on other data moves the offsets but not the predictions
    before = clf.predict_proba(X_SHIFTED)
    clf._state.offsets.finish(clf._network(), X_SHIFTED, None)
    np.testing.assert_allclose(clf.predict_proba(X_SHIFTED), before, rtol=0, atol=1e-12)


def test_input_bias_rate_can_change_between_partial_fit_calls():
    clf = MLPClassifier(hidden_layer_sizes=(8,), input_bias="mean", random_state=0, solver="sgd",
                        learning_rate_init=1e-300, momentum=0.0)  # the weights stay put
    clf.partial_fit(X_SHIFTED, Y, classes=np.unique(Y))
    clf.set_params(input_bias_rate=1.0)
    clf.partial_fit(X_SHIFTED[:50], Y[:50])
    # rate 1 on a single batch: the hidden offset is minus that batch's hidden mean
    inputs, _ = clf._network().forward(X_SHIFTED[:50])
    np.testing.assert_allclose(clf.input_biases_[1], -inputs[1].mean(axis=0), rtol=1e-8)


@pytest.mark.parametrize("layers", ["first", "all"])
def test_estimator_gradient_in_trainable_order_matches_finite_differences(layers):
    """The flat parameter vector L-BFGS sees: weights, intercepts, learned offsets."""
    clf = _fit(X=X_SHIFTED[:60], y=Y[:60], hidden_layer_sizes=(5,), input_bias="learned",
               input_bias_layers=layers, max_iter=2, alpha=0.1)
    X, Ybin = X_SHIFTED[:60], clf._label_binarizer.transform(Y[:60]).astype(bool)
    x0, loss_grad = flat_loss_and_gradient(clf, X, Ybin)
    _, grad = loss_grad(x0.copy())
    rng = np.random.RandomState(0)
    offsets_start = sum(p.size for p in clf.coefs_ + clf.intercepts_)
    coords = np.r_[rng.choice(offsets_start, 20, replace=False), np.arange(offsets_start, x0.size)]
    for i in coords:
        up, down = x0.copy(), x0.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric = (loss_grad(up)[0] - loss_grad(down)[0]) / 2e-6
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8), i
