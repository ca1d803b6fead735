"""The one switch for the optional compiled kernels (numba), shared by every part that has some.

numba is optional (``pip install centered_nn[speed]``). The compiled optimiser steps
(:mod:`._training.kernels`) and sign statistics (:mod:`.diagnostics._kernels`) are
taken only when :func:`enabled` is True: numba imports and the environment variable
``CENTERED_NN_NUMBA`` is not ``"0"``, read on first use into :data:`ENABLED`, which
may also be set to True or False directly (tests switch both paths this way).

The loops themselves live at module level in modules imported only once the switch
is on, decorated with :func:`jit`: numba's on-disk cache keys a function by its
module and qualified name, so later processes load them instead of compiling.
This module imports nothing else of the package, so that every part may use it.
"""

import os

import numpy as np

#: Whether the compiled kernels may be used; None: decide on first use (numba
#: importable and the environment variable ``CENTERED_NN_NUMBA`` not ``"0"``).
ENABLED = None

_numba = None  # the numba module once imported, False if it does not import
_FLOATS = (np.float32, np.float64)


def enabled():
    """True when the compiled kernels are switched on and numba imports (imported once)."""
    global ENABLED
    if ENABLED is None:
        ENABLED = os.environ.get("CENTERED_NN_NUMBA", "1") != "0" and _import() is not None
    return bool(ENABLED) and _import() is not None


def _import():
    global _numba
    if _numba is None:
        try:
            import numba
        except ImportError:
            _numba = False
        else:
            _numba = numba
    return _numba or None


def jit(**options):
    """A decorator compiling a function with ``numba.njit(cache=True, **options)``.

    When no cache directory is writable (a read-only installation), numba refuses
    ``cache=True`` at decoration with a RuntimeError; the function is then compiled
    without a cache, in every process that uses it. Call only once :func:`enabled`
    is True (numba imports).
    """
    numba = _import()

    def decorate(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(**options)(function)

    return decorate


def native_floats(*arrays):
    """Whether every array is an ndarray of float32 or float64 in native byte order.

    numba compiles for these only (it rejects a byte-swapped dtype such as ``>f8``
    on a little-endian machine, as a pickle from a big-endian one holds).
    """
    return all(type(a) is np.ndarray and a.dtype.type in _FLOATS and a.dtype.isnative
               for a in arrays)
