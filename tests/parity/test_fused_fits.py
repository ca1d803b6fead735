"""Whole fits with the compiled forward/backward steps: scikit-learn's trajectories bit for bit.

With numba, every fit below takes the compiled loops of ``_network.fused`` (checked
by counting their calls) and must give scikit-learn's ``coefs_``, ``intercepts_``
and ``loss_curve_`` (``loss_`` for lbfgs) exactly; the centring setups scikit-learn
does not have must give the numpy path's results exactly.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn._network import fused

pytest.importorskip("numba")

X, _DIGITS = load_digits(return_X_y=True)
X, _DIGITS = X[:240] / 16.0, _DIGITS[:240]
TARGETS = {
    "multiclass": (_DIGITS, MLPClassifier, SkClassifier),
    "binary": (_DIGITS % 2, MLPClassifier, SkClassifier),
    "multilabel": (np.stack([_DIGITS % 2, _DIGITS > 4, _DIGITS % 3 == 0], axis=1),
                   MLPClassifier, SkClassifier),
    "regression": (np.stack([_DIGITS / 9.0, np.cos(_DIGITS)], axis=1), MLPRegressor,
                   SkRegressor),
}
SW = np.random.default_rng(0).uniform(0.2, 2.0, len(_DIGITS))


class _Counter:
    """Stands in for the module of compiled loops, counting the calls made through it."""

    def __init__(self, loops):
        self.loops, self.calls = loops, 0

    def __getattr__(self, name):
        self.calls += 1
        return getattr(self.loops, name)


class _NamedCounter(_Counter):
    """A :class:`_Counter` that also tells which loops were called."""

    def __init__(self, loops):
        super().__init__(loops)
        self.names = set()

    def __getattr__(self, name):
        self.names.add(name)
        return super().__getattr__(name)


@pytest.fixture
def counted(compiled_switch, monkeypatch):
    compiled_switch.ENABLED = True
    counter = _Counter(fused._kernels())
    monkeypatch.setattr(fused, "_loops", counter)
    return counter


def _fit(make, X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(**params).fit(X, y, sample_weight=sample_weight)


def _numpy_then_compiled(compiled_switch, monkeypatch, make, X, y, sample_weight=None,
                         **params):
    """``(numpy path's fit, compiled fit, the counter of the compiled loops it called)``."""
    compiled_switch.ENABLED = False
    expected = _fit(make, X, y, sample_weight, **params)
    compiled_switch.ENABLED = True
    counter = _NamedCounter(fused._kernels())
    monkeypatch.setattr(fused, "_loops", counter)
    return expected, _fit(make, X, y, sample_weight, **params), counter


def _assert_bitwise(ours, theirs):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_array_equal(ours.loss_curve_, theirs.loss_curve_)
    assert ours.loss_ == theirs.loss_


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("target", list(TARGETS))
def test_compiled_fits_are_scikit_learns_bit_for_bit(counted, activation, solver, target):
    y, ours_cls, sk_cls = TARGETS[target]
    params = dict(hidden_layer_sizes=(8, 5), activation=activation, solver=solver,
                  batch_size=64, max_iter=3, random_state=0)
    ours = _fit(ours_cls, X, y, **params)
    assert counted.calls > 0
    _assert_bitwise(ours, _fit(sk_cls, X, y, **params))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("target", ["multiclass", "binary", "regression"])
def test_compiled_fits_with_sample_weights_are_scikit_learns(counted, solver, target):
    y, ours_cls, sk_cls = TARGETS[target]
    params = dict(hidden_layer_sizes=(8,), solver=solver, batch_size=50, max_iter=3,
                  random_state=0)
    ours = _fit(ours_cls, X, y, SW, **params)
    assert counted.calls > 0
    _assert_bitwise(ours, _fit(sk_cls, X, y, SW, **params))


@pytest.mark.parametrize("solver", ["sgd", "adam"])  # lbfgs: scikit-learn returns float64
def test_compiled_float32_fits_are_scikit_learns(counted, solver):
    params = dict(hidden_layer_sizes=(8,), solver=solver, activation="tanh", max_iter=3,
                  random_state=0)
    X32 = X.astype(np.float32)
    ours = _fit(MLPClassifier, X32, _DIGITS, **params)
    assert counted.calls > 0
    _assert_bitwise(ours, _fit(SkClassifier, X32, _DIGITS, **params))


SETUPS = [dict(input_bias="learned"), dict(input_bias="learned", input_bias_init="center"),
          dict(input_bias="mean"), dict(input_bias="batch"),
          dict(gradient_centralization=True),
          dict(input_bias="batch", gradient_centralization=True,
               activation="centered_logistic"),
          dict(input_bias="mean", activation="lecun_tanh")]


@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: "-".join(map(str, s.values())))
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("weighted", [False, True])
def test_centring_setups_equal_the_numpy_path(compiled_switch, monkeypatch, setup, solver,
                                              weighted):
    params = dict(hidden_layer_sizes=(8, 5), solver=solver, batch_size=64, max_iter=3,
                  random_state=0, **setup)
    sw = SW if weighted else None
    expected, got, counter = _numpy_then_compiled(compiled_switch, monkeypatch, MLPClassifier,
                                                  X, _DIGITS, sw, **params)
    assert counter.calls > 0
    for name in ("coefs_", "intercepts_", "input_biases_"):
        for a, b in zip(getattr(got, name), getattr(expected, name)):
            if b is None:
                assert a is None
                continue
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(getattr(got, "loss_curve_", [got.loss_]),
                                  getattr(expected, "loss_curve_", [expected.loss_]))
    # the recorder saw the same steps (its counts are exact on both of its own paths)
    for metric in ("same_sign_fraction", "sample_same_sign_fraction", "sign_flip_fraction",
                   "positive_input_fraction"):
        np.testing.assert_array_equal(got.gradient_sign_history_[metric],
                                      expected.gradient_sign_history_[metric])


@pytest.mark.parametrize("setup", [dict(), dict(input_bias="learned"),
                                   dict(input_bias="batch", activation="tanh")],
                         ids=["plain", "learned", "batch"])
@pytest.mark.parametrize("record", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_gradient_centralization_equals_the_numpy_path(compiled_switch, monkeypatch,
                                                                 setup, record, dtype):
    """Weight gradients large enough for the compiled centring and centred penalty (64x80),
    with the penalty added at once (no diagnostics) or after the observers (diagnostics)."""
    params = dict(hidden_layer_sizes=(80, 60), solver="adam", batch_size=50, max_iter=3,
                  random_state=0, gradient_centralization=True, alpha=1e-3,
                  record_gradient_signs=record, **setup)
    Xd = X.astype(dtype)
    expected, got, counter = _numpy_then_compiled(compiled_switch, monkeypatch, MLPClassifier,
                                                  Xd, _DIGITS, **params)
    assert {"centralize", "centered_penalize"} <= counter.names
    _assert_bitwise(got, expected)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_compiled_float32_regression_fits_equal_the_numpy_path(compiled_switch, monkeypatch,
                                                                solver, activation):
    """float32 X with float64 targets: float32 weights, float64 deltas and gradients; the
    derivative and penalty kernels take the mixed dtypes as numpy's in-place calls do,
    and both paths are scikit-learn's (whose optimiser state turns float64 at its first
    step, as ours does)."""
    params = dict(hidden_layer_sizes=(80,), solver=solver, activation=activation,
                  batch_size=50, max_iter=3, random_state=0)
    X32, y = X.astype(np.float32), np.stack([_DIGITS / 9.0, np.cos(_DIGITS)], axis=1)
    expected, got, counter = _numpy_then_compiled(compiled_switch, monkeypatch, MLPRegressor,
                                                  X32, y, **params)
    assert {"penalize"} <= counter.names
    assert {"square_delta", "relu_delta", "logistic_delta"} & counter.names
    assert got.coefs_[0].dtype == np.float32
    _assert_bitwise(got, expected)
    _assert_bitwise(got, _fit(SkRegressor, X32, y, **params))
