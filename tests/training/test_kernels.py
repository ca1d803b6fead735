"""The compiled optimiser steps equal the numpy steps bit for bit; the numpy path without numba."""

import sys

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier, MLPRegressor, _compiled
from centered_nn._training import kernels
from centered_nn._training.solvers import SGD, Adam

pytest.importorskip("numba")


def _arrays(dtype, n, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 4, n)
    values[:3] = [0.0, -0.0, 1e-300]  # zeros and subnormals (float32: flushed to 0 or tiny)
    return values.astype(dtype)


def _steps(make, path, param_dtype, grad_dtype, n_steps=15, n=257):
    """Parameters and optimiser state after `n_steps` steps on two chunks, on `path`."""
    _compiled.ENABLED = path == "numba"  # restored by the test's compiled_switch
    flat = _arrays(param_dtype, n, 0)
    chunks = [flat[:100], flat[100:]]
    opt = make(chunks)
    for step in range(n_steps):
        grads = _arrays(grad_dtype, n, 1 + step)
        opt.step(chunks, [grads[:100], grads[100:]])
    return flat, [np.concatenate(getattr(opt, name)) for name in opt._state]


MAKERS = {
    "adam": lambda p: Adam(p, 0.01, 0.9, 0.999, 1e-8),
    "adam-odd": lambda p: Adam(p, 0.3, 0.5, 0.9, 1e-3),
    "sgd": lambda p: SGD(p, 0.05, "constant", 0.0, False, 0.5),
    "momentum": lambda p: SGD(p, 0.05, "invscaling", 0.9, False, 0.5),
    "nesterov": lambda p: SGD(p, 0.05, "constant", 0.9, True, 0.5),
}


@pytest.mark.parametrize("name", list(MAKERS))
@pytest.mark.parametrize("param_dtype, grad_dtype", [(np.float64, np.float64),
                                                     (np.float32, np.float32),
                                                     (np.float32, np.float64)])
def test_compiled_step_equals_numpy_step_bit_for_bit(compiled_switch, name, param_dtype,
                                                     grad_dtype):
    expected, expected_state = _steps(MAKERS[name], "numpy", param_dtype, grad_dtype)
    got, state = _steps(MAKERS[name], "numba", param_dtype, grad_dtype)
    assert got.dtype == expected.dtype == param_dtype
    np.testing.assert_array_equal(got, expected)
    for a, b in zip(state, expected_state):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_the_compiled_path_is_taken_for_contiguous_arrays_only(compiled_switch, monkeypatch):
    compiled_switch.ENABLED = True
    calls = []
    monkeypatch.setattr(kernels, "adam_step", lambda *args: calls.append(args[0].shape))
    contiguous = [np.zeros(6), np.zeros((2, 3))]
    opt = Adam(contiguous, 0.01, 0.9, 0.999, 1e-8)
    opt.step(contiguous, [np.ones(6), np.ones((2, 3))])
    assert calls == [(6,), (6,)]  # a 2-D array as its 1-D view
    strided = np.zeros((4, 3))[:, ::2]
    opt = Adam([strided], 0.01, 0.9, 0.999, 1e-8)
    opt.step([strided], [np.ones((4, 2))])
    assert calls == [(6,), (6,)]  # the numpy path: no new call
    assert np.all(strided < 0)  # ... which did step


def test_without_numba_the_numpy_path_trains(compiled_switch, monkeypatch):
    monkeypatch.setenv("CENTERED_NN_NUMBA", "1")  # numba's absence alone switches it off
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    compiled_switch.ENABLED, compiled_switch._numba = None, None
    assert kernels.available() is False
    X = np.random.default_rng(0).standard_normal((60, 4))
    y = np.arange(60) % 2
    with pytest.warns(ConvergenceWarning):
        without = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    monkeypatch.delitem(sys.modules, "numba")
    compiled_switch.ENABLED, compiled_switch._numba = None, None
    assert kernels.available() is True
    with pytest.warns(ConvergenceWarning):
        compiled = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    for a, b in zip(without.coefs_ + without.intercepts_, compiled.coefs_ + compiled.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, input_bias", [("adam", "learned"), ("sgd", "batch"),
                                                ("adam", "mean")])
def test_fits_on_both_paths_are_bit_for_bit_alike(compiled_switch, dtype, solver, input_bias):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 5)).astype(dtype)
    y = X[:, 0] - 2 * X[:, 1]  # float64 targets: float64 gradients for float32 X
    fits = []
    for path in ("numpy", "numba"):
        compiled_switch.ENABLED = path == "numba"
        est = MLPRegressor(hidden_layer_sizes=(6, 4), solver=solver, input_bias=input_bias,
                           batch_size=16, max_iter=4, random_state=0, nesterovs_momentum=True)
        with pytest.warns(ConvergenceWarning):
            fits.append(est.fit(X, y))
    numpy_fit, numba_fit = fits
    for name in ("coefs_", "intercepts_", "input_biases_"):
        for a, b in zip(getattr(numpy_fit, name), getattr(numba_fit, name)):
            np.testing.assert_array_equal(a, b)
    assert numpy_fit.loss_curve_ == numba_fit.loss_curve_


def test_scalar_for_follows_numpy_promotion():
    f32, f64 = np.ones(3, np.float32), np.ones(3)
    for value, array in [(0.1, f32), (np.float64(0.1), f32), (0.1, f64), (np.float32(0.1), f64)]:
        scalar = kernels.scalar_for(value, array)
        product = value * array
        # numba types a Python float as float64 and a NumPy scalar as its own type
        assert (np.float64 if type(scalar) is float else type(scalar)) is product.dtype.type
        np.testing.assert_array_equal(scalar * array, product)
    assert type(kernels.scalar_for(0.1, f32)) is np.float32
    assert type(kernels.scalar_for(np.float64(0.1), f32)) is np.result_type(np.float64(0.1),
                                                                             f32).type


@pytest.mark.parametrize("solver, nesterov", [("adam", False), ("sgd", True), ("sgd", False)])
def test_byte_swapped_weights_step_as_native_ones(compiled_switch, solver, nesterov):
    """Weights in non-native byte order (a pickle from a big-endian machine) take the numpy
    path: ``partial_fit`` from them gives the bits of the numpy path and of native weights."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = np.arange(60) % 2
    swapped = np.dtype(np.float64).newbyteorder()
    fits = {}
    for path, order in [("numpy", swapped), ("numba", swapped), ("numba", np.float64)]:
        compiled_switch.ENABLED = path == "numba"
        est = MLPClassifier(hidden_layer_sizes=(5,), solver=solver, nesterovs_momentum=nesterov,
                            momentum=0.9, max_iter=2, random_state=0)
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
        est.coefs_ = [c.astype(order) for c in est.coefs_]
        est.intercepts_ = [b.astype(order) for b in est.intercepts_]
        fits[path, np.dtype(order).isnative] = est.partial_fit(X, y)
    expected = fits["numpy", False]
    for est in (fits["numba", False], fits["numba", True]):
        for a, b in zip(est.coefs_ + est.intercepts_, expected.coefs_ + expected.intercepts_):
            np.testing.assert_array_equal(a, b)
        assert est.loss_curve_ == expected.loss_curve_


def test_flat_refuses_arrays_numba_cannot_read():
    native, other = np.zeros(4), np.zeros(4, np.dtype(np.float64).newbyteorder())
    assert kernels.flat(native, native) == (native, native)
    assert kernels.flat(native, other) is None
    assert kernels.flat(other.astype(np.float16), native) is None
    assert kernels.flat(native, np.zeros(4, np.int64)) is None
