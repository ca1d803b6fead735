"""Failures never leave a broken model; divergence is named (the nine cases of issue 9)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn.activations import Activation, Tanh
from centered_nn.exceptions import DivergenceWarning

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:400] / 16.0
Y_DIGITS = Y_DIGITS[:400]
ESTIMATORS = [MLPClassifier, MLPRegressor]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore::RuntimeWarning")


def _target(cls):
    return Y_DIGITS if cls is MLPClassifier else Y_DIGITS / 9.0


class NaNAfter(Activation):
    """tanh that returns NaN once its input exceeds ``limit`` in absolute value."""

    def __init__(self, limit=2.0):
        self.limit = limit

    def value(self, z):
        return np.where(np.abs(z) > self.limit, np.nan, np.tanh(z))

    def derivative(self, z, a):
        return 1 - a * a


class WrongShape(Activation):
    def value(self, z):
        return np.tanh(z)[:, :1]

    def derivative(self, z, a):
        return 1 - a * a


class AsList(Activation):
    def value(self, z):
        return np.tanh(z).tolist()

    def derivative(self, z, a):
        return 1 - np.asarray(a) ** 2


class InterruptAt(Tanh):
    """tanh that raises KeyboardInterrupt on its ``at``-th call (Ctrl-C, reproducibly)."""

    def __init__(self, at=5):
        self.at = at

    def value(self, z):
        self.calls_ = getattr(self, "calls_", 0) + 1
        if self.calls_ == self.at:
            raise KeyboardInterrupt
        return super().value(z)


def _fitted_copy(est):
    return pickle.loads(pickle.dumps(est))


def _assert_unchanged(est, before, X):
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(est, name), getattr(before, name)):
            np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == before.loss_curve_
    np.testing.assert_array_equal(est.predict(X), before.predict(X))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_case1_divergence_raises_and_leaves_no_model(cls):
    X, y = load_digits(return_X_y=True)
    est = cls(solver="sgd", activation="identity", learning_rate_init=100.0, max_iter=20,
              random_state=0, hidden_layer_sizes=(16,))
    with pytest.raises(ValueError, match="non-finite in epoch .*learning rate may be too "
                                         r"large \(learning_rate_init=100.0\)"):
        est.fit(X[:600] * 6.25, y[:600] if cls is MLPClassifier else y[:600] / 9.0)
    assert not hasattr(est, "coefs_")
    with pytest.raises(NotFittedError):
        est.predict(X_DIGITS)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("params", [dict(solver="lbfgs"), dict(solver="sgd", early_stopping=True)],
                         ids=["lbfgs", "sgd-early-stopping"])
def test_case2_nan_activation_is_named(cls, params):
    est = cls(activation=NaNAfter(limit=0.5), hidden_layer_sizes=(8,), max_iter=10,
              random_state=0, **params)
    with pytest.raises(ValueError, match="the activation NaNAfter returned non-finite values"):
        est.fit(X_DIGITS * 10, _target(cls))
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("activation, got", [
    (WrongShape(), r"an array of shape \(2, 1\) and dtype float64"),
    (AsList(), "an object of type list"),
])
def test_case3_bad_activation_output_is_named_and_leaves_no_model(cls, activation, got):
    est = cls(activation=activation, hidden_layer_sizes=(4,), max_iter=2)
    with pytest.raises(TypeError, match=rf"{type(activation).__name__}.value returned {got}"):
        est.fit(X_DIGITS, _target(cls))
    with pytest.raises(NotFittedError):
        est.predict(X_DIGITS)


def test_activation_dtype_is_checked_for_float32():
    class Upcasts(Tanh):
        def value(self, z):
            return np.tanh(z.astype(np.float64))

    with pytest.raises(TypeError, match="dtype float64 for an array of shape .* dtype float32"):
        MLPClassifier(activation=Upcasts(), max_iter=2).fit(X_DIGITS.astype(np.float32), Y_DIGITS)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_case4_nan_validation_score_counts_as_no_improvement(cls):
    class NaNScore(cls):
        def _validation_score(self, P, Y, sample_weight):
            return np.nan

    est = NaNScore(solver="sgd", early_stopping=True, n_iter_no_change=3, max_iter=50,
                   hidden_layer_sizes=(8,), learning_rate_init=1e-3, random_state=0)
    est.fit(X_DIGITS, _target(cls))
    assert est.n_iter_ == 4  # stops once the counter exceeds n_iter_no_change, as sklearn


def test_case4_diverging_early_stopping_run_stops_at_once():
    """scikit-learn's own test_mlp_diverging_loss setup: here a ValueError, not a NaN model."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    est = MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd",
                       learning_rate_init=1, max_iter=20, early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match=r"became non-finite in epoch \d+; the learning rate"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("change, match", [
    (dict(hidden_layer_sizes=(5,)), r"hidden_layer_sizes=\(5,\) differs from the fitted "
                                    r"network's \(8,\); warm_start=True cannot change"),
    (dict(input_bias="mean"), "input_bias='mean' and input_bias_layers='all' differ"),
])
def test_case5_warm_start_refuses_a_changed_network(cls, change, match):
    est = cls(hidden_layer_sizes=(8,), max_iter=3, warm_start=True, random_state=0)
    est.fit(X_DIGITS, _target(cls))
    before = _fitted_copy(est)
    est.set_params(**change)
    with pytest.raises(ValueError, match=match + ".*warm_start=False"):
        est.fit(X_DIGITS, _target(cls))
    est.set_params(**before.get_params())
    _assert_unchanged(est, before, X_DIGITS)


def test_case5_partial_fit_refuses_more_outputs():
    est = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    est.partial_fit(X_DIGITS, Y_DIGITS / 9.0)
    with pytest.raises(ValueError, match=r"y has 2 output\(s\) but the fitted network has 1; "
                                         "partial_fit cannot change"):
        est.partial_fit(X_DIGITS, np.column_stack([Y_DIGITS, Y_DIGITS]) / 9.0)


def test_case6_exploding_finite_loss_warns_divergence():
    """The log-loss is clipped, so the L2 term of exploding weights carries the loss to 1e5."""
    est = MLPClassifier(solver="sgd", learning_rate_init=100.0, momentum=0.9,
                        hidden_layer_sizes=(16,), max_iter=6, random_state=0)
    with pytest.warns(DivergenceWarning, match="the run diverged. Try a smaller "
                                               r"learning_rate_init \(now 100.0\)"):
        est.fit(X_DIGITS, Y_DIGITS)
    curve = est.loss_curve_
    assert np.isfinite(curve).all() and curve[-1] > 10 * curve[0]  # the rule, as documented
    assert issubclass(DivergenceWarning, ConvergenceWarning)


def test_case6_divergence_warning_leaves_the_trajectory_as_scikit_learns():
    params = dict(solver="sgd", learning_rate_init=100.0, momentum=0.9,
                  hidden_layer_sizes=(16,), max_iter=6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPClassifier(**params).fit(X_DIGITS, Y_DIGITS)
        theirs = SkMLPClassifier(**params).fit(X_DIGITS, Y_DIGITS)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)


def test_case7_failed_refit_keeps_the_previous_model():
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X_DIGITS, Y_DIGITS)
    before = _fitted_copy(est)
    letters = np.array(list("abcdefghij"))[Y_DIGITS]
    with pytest.raises(ValueError, match="sample_weight.shape"):
        est.fit(X_DIGITS, letters, sample_weight=np.ones(3))  # classes_ replaced, then fails
    np.testing.assert_array_equal(est.classes_, np.arange(10))
    _assert_unchanged(est, before, X_DIGITS)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_case8_interrupted_steps_do_not_leak_into_the_next_fit(cls):
    est = cls(activation=InterruptAt(at=6), hidden_layer_sizes=(8,), batch_size=100,
              max_iter=3, warm_start=True, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X_DIGITS, _target(cls))
    # call 1 is the fit's check of the activation, then 4 batches an epoch: the 6th
    # call is the first step of epoch 2, cut short
    assert len(est.loss_curve_) == 1
    recorder = est._state.recorder
    assert all(count == 0 for row in recorder._counts for count in row.values())
    assert est.gradient_sign_history_["same_sign_fraction"].shape == (1, 2)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_case9_warm_start_early_stopping_keeps_the_best_weights(cls):
    est = cls(solver="adam", early_stopping=True, warm_start=True, hidden_layer_sizes=(16,),
              max_iter=60, random_state=0, learning_rate_init=1e-2)
    est.fit(X_DIGITS, _target(cls))
    best = est.best_validation_score_
    before = _fitted_copy(est)
    est.set_params(learning_rate_init=5.0, max_iter=12)  # every epoch worse than `best`
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_DIGITS, _target(cls))
    assert max(est.validation_scores_[-est.n_iter_:]) < best
    for a, b in zip(est.coefs_, before.coefs_):
        np.testing.assert_array_equal(a, b)  # the best weights seen: the first fit's
    np.testing.assert_array_equal(est.predict(X_DIGITS), before.predict(X_DIGITS))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_zero_weight_minibatch_is_named_and_leaves_no_model(cls):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(10, 3)), np.arange(10) % 2
    sw = np.ones(10)
    sw[0] = 0.0
    est = cls(hidden_layer_sizes=(4,), solver="sgd", batch_size=1, shuffle=False, random_state=0)
    with pytest.raises(ValueError, match=r"sample weights of a batch of 1 sample\(s\) sum to 0.0"):
        est.fit(X, y, sample_weight=sw)
    with pytest.raises(NotFittedError):
        est.predict(X)
