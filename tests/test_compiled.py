"""The one switch for the compiled kernels (centered_nn._compiled), read by both kernel modules."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import centered_nn
from centered_nn import MLPClassifier
from centered_nn._compiled import native_floats
from centered_nn._training import kernels
from centered_nn.diagnostics import _kernels as sign_kernels

numba = pytest.importorskip("numba")


def test_the_environment_variable_and_the_flag_switch_both_kernel_modules(compiled_switch,
                                                                          monkeypatch):
    compiled_switch.ENABLED = None
    monkeypatch.setenv("CENTERED_NN_NUMBA", "0")
    assert kernels.available() is False and compiled_switch.ENABLED is False
    assert sign_kernels.available() is False
    compiled_switch.ENABLED = None
    monkeypatch.setenv("CENTERED_NN_NUMBA", "1")
    assert sign_kernels.available() is True and compiled_switch.ENABLED is True
    assert kernels.available() is True
    compiled_switch.ENABLED = False
    assert kernels.available() is False and sign_kernels.available() is False


def test_without_numba_the_switch_is_off_even_when_set(compiled_switch, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    compiled_switch.ENABLED, compiled_switch._numba = True, None
    assert compiled_switch.enabled() is False
    assert kernels.available() is False and sign_kernels.available() is False


def test_without_a_writable_cache_jit_compiles_uncached(compiled_switch):
    class Numba:  # numba as it behaves when no cache directory is writable
        def njit(self, cache=False, **options):
            if cache:
                raise RuntimeError("cannot cache function: no locator available")
            self.options = options
            return numba.njit(**options)

    fake = Numba()
    compiled_switch._numba = fake

    def axpy(a, x, y):
        for i in range(x.shape[0]):
            y[i] = y[i] + a * x[i]

    compiled = compiled_switch.jit(nogil=True, error_model="numpy")(axpy)
    assert fake.options == {"nogil": True, "error_model": "numpy"}
    x, y = np.linspace(-1.0, 1.0, 5), np.full(5, 0.25)
    compiled(0.1, x, y)
    np.testing.assert_array_equal(y, 0.25 + 0.1 * x)


def test_a_fit_without_a_cache_locator_takes_the_compiled_path(compiled_switch, tmp_path):
    """A read-only installation: numba finds no cache directory and refuses ``cache=True``.

    The kernels then compile uncached; a default fit (with its sign history) runs on the
    compiled path and gives the numpy path's bits.
    """
    script = (
        "import sys, warnings\n"
        "import numpy as np\n"
        "from centered_nn import MLPClassifier\n"
        "from centered_nn._training import kernels\n"
        "from centered_nn.diagnostics import _kernels\n"
        "warnings.simplefilter('ignore')\n"
        "X = np.random.default_rng(0).standard_normal((60, 4)); y = np.arange(60) % 2\n"
        "est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)\n"
        "assert kernels._loops is not None and _kernels._loops is not None\n"
        "np.savez(sys.argv[1], *est.coefs_, *est.intercepts_)\n"
    )
    env = dict(os.environ, CENTERED_NN_NUMBA="1",
               NUMBA_CACHE_LOCATOR_CLASSES="numba.core.caching.IPythonCacheLocator",
               PYTHONPATH=str(Path(centered_nn.__file__).parent.parent))
    out = tmp_path / "fit.npz"
    done = subprocess.run([sys.executable, "-c", script, str(out)], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    compiled_switch.ENABLED = False
    X = np.random.default_rng(0).standard_normal((60, 4))
    with pytest.warns(ConvergenceWarning):
        est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(
            X, np.arange(60) % 2)
    with np.load(out) as saved:
        got = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    expected = est.coefs_ + est.intercepts_
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_native_floats_accepts_native_float32_and_float64_arrays_only():
    assert native_floats(np.zeros(2), np.zeros((2, 2), np.float32))
    assert native_floats()  # nothing to refuse
    assert not native_floats(np.zeros(2), np.zeros(2, np.dtype(np.float64).newbyteorder()))
    assert not native_floats(np.zeros(2, np.dtype(np.float32).newbyteorder()))
    assert not native_floats(np.zeros(2, np.float16))
    assert not native_floats(np.zeros(2, np.int64))
    assert not native_floats(np.zeros(2, np.complex128))
    assert not native_floats(np.ma.zeros(2))  # a subclass: numba reads plain ndarrays only
    assert not native_floats([0.0, 1.0])
