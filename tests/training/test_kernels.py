"""The compiled optimiser steps equal the numpy steps bit for bit; the numpy path without numba."""

import sys

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn._training import kernels
from centered_nn.diagnostics import _kernels as sign_kernels
from centered_nn._training.solvers import SGD, Adam

numba = pytest.importorskip("numba")


@pytest.fixture
def restore_kernels(monkeypatch):
    """Let a test change ``kernels.ENABLED`` and the compiled table; undone afterwards.

    The diagnostics' compiled statistics keep the same two values: a fit without numba
    sets them too, so they are restored as well.
    """
    for module in (kernels, sign_kernels):
        monkeypatch.setattr(module, "ENABLED", module.ENABLED)
        monkeypatch.setattr(module, "_kernels", module._kernels)


def _arrays(dtype, n, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 4, n)
    values[:3] = [0.0, -0.0, 1e-300]  # zeros and subnormals (float32: flushed to 0 or tiny)
    return values.astype(dtype)


def _steps(make, path, param_dtype, grad_dtype, n_steps=15, n=257):
    """Parameters and optimiser state after `n_steps` steps on two chunks, on `path`."""
    kernels.ENABLED = path == "numba"
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
def test_compiled_step_equals_numpy_step_bit_for_bit(restore_kernels, name, param_dtype,
                                                     grad_dtype):
    expected, expected_state = _steps(MAKERS[name], "numpy", param_dtype, grad_dtype)
    got, state = _steps(MAKERS[name], "numba", param_dtype, grad_dtype)
    assert got.dtype == expected.dtype == param_dtype
    np.testing.assert_array_equal(got, expected)
    for a, b in zip(state, expected_state):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_the_compiled_path_is_taken_for_contiguous_arrays_only(restore_kernels, monkeypatch):
    kernels.ENABLED = True
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


def test_the_environment_variable_and_the_flag_select_numpy(restore_kernels, monkeypatch):
    kernels.ENABLED = None
    monkeypatch.setenv("CENTERED_NN_NUMBA", "0")
    assert kernels.available() is False and kernels.ENABLED is False
    kernels.ENABLED = None
    monkeypatch.setenv("CENTERED_NN_NUMBA", "1")
    assert kernels.available() is True
    kernels.ENABLED = False
    assert kernels.available() is False


def test_without_numba_the_numpy_path_trains(restore_kernels, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    kernels.ENABLED, kernels._kernels = None, None
    sign_kernels.ENABLED, sign_kernels._kernels = None, None
    assert kernels.available() is False
    X = np.random.default_rng(0).standard_normal((60, 4))
    y = np.arange(60) % 2
    with pytest.warns(ConvergenceWarning):
        without = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    monkeypatch.delitem(sys.modules, "numba")
    kernels.ENABLED, kernels._kernels = None, None
    sign_kernels.ENABLED, sign_kernels._kernels = None, None
    assert kernels.available() is True
    with pytest.warns(ConvergenceWarning):
        compiled = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    for a, b in zip(without.coefs_ + without.intercepts_, compiled.coefs_ + compiled.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, input_bias", [("adam", "learned"), ("sgd", "batch"),
                                                ("adam", "mean")])
def test_fits_on_both_paths_are_bit_for_bit_alike(restore_kernels, dtype, solver, input_bias):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 5)).astype(dtype)
    y = X[:, 0] - 2 * X[:, 1]  # float64 targets: float64 gradients for float32 X
    fits = []
    for path in ("numpy", "numba"):
        kernels.ENABLED = path == "numba"
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


def test_without_a_writable_cache_the_kernels_compile_uncached(restore_kernels):
    class Numba:  # numba as it behaves when no cache directory is writable
        def njit(self, cache=False, **options):
            if cache:
                raise RuntimeError("cannot cache function: no locator available")
            self.options = options
            return numba.njit(**options)

    fake = Numba()
    compiled = kernels._build(fake)
    assert fake.options == {"nogil": True, "fastmath": False, "error_model": "numpy"}
    param, m, v = np.ones(4), np.zeros(4), np.zeros(4)
    compiled["adam"](param, np.full(4, 2.0), m, v, 0.9, 0.1, 0.999, 0.001, 1e-8, -0.5)
    # m = 0.1 * 2, v = 0.001 * 4, the step -0.5 * m / (sqrt(v) + 1e-8)
    np.testing.assert_array_equal(m, np.full(4, 0.1 * 2.0))
    np.testing.assert_array_equal(v, np.full(4, 0.001 * (2.0 * 2.0)))
    np.testing.assert_array_equal(param, 1.0 + (-0.5 * m) / (np.sqrt(v) + 1e-8))
