"""Optional compiled optimiser steps: one fused loop per SGD/Adam update (numba).

Each numpy update in :mod:`.solvers` is a dozen passes over the parameters, each
rounded as scikit-learn rounds it. The loops here do the same operations, in
the same order and in the same dtypes, element by element in one pass, so the
parameters and the optimiser's state stay bit-for-bit those of the numpy
expressions: no fastmath (which would let LLVM reassociate or fuse a multiply
and an add), and every scalar is passed in the dtype numpy's promotion gives it
against the array it meets (see :func:`scalar_for`).

numba is optional (``pip install centered_nn[speed]``); one switch,
:func:`.._compiled.enabled`, decides for every compiled kernel of the package.
The loops live in :mod:`.kernel_loops` (module-level functions, so that numba's
on-disk cache serves later processes), imported on the first step that can use
them, not with the package; they compile on their first call for each dtype
combination, and later processes only load them. Without numba, with
``CENTERED_NN_NUMBA=0`` in the environment, or with ``_compiled.ENABLED`` set to
False, :func:`available` is False and the optimisers take the numpy path.
"""

import numpy as np

from .. import _compiled

_loops = None  # the module of compiled loops, imported on first use


def available():
    """True when the compiled steps may be used (see :func:`.._compiled.enabled`)."""
    return _compiled.enabled()


def scalar_for(value, array):
    """`value` as the scalar type numpy's promotion gives it in ``value * array``.

    A Python float meeting a float32 array is rounded to float32 (the product is
    float32); a NumPy float64 scalar meeting it is not (the product is float64).
    Against a float64 array every float is a float64 (a Python float, which is
    how numba reads one, and cheaper to make than a NumPy scalar).
    """
    if array.dtype.type is np.float64:
        return float(value)
    return np.result_type(value, array).type(value)


def _kernels():
    global _loops
    if _loops is None:
        from . import kernel_loops  # compiles (or loads from the cache) on first call

        _loops = kernel_loops
    return _loops


def flat(*arrays):
    """One-dimensional views of C-contiguous native float arrays, or None if one is not one.

    Byte-swapped arrays (``>f8`` on a little-endian machine, as a pickle from a
    big-endian one holds) and other dtypes take the numpy path: numba compiles for
    native float32 and float64 only.
    """
    if not _compiled.native_floats(*arrays):
        return None
    if all(a.ndim == 1 and a.flags.c_contiguous for a in arrays):
        return arrays  # the parameter buffer's chunks
    if not all(a.flags.c_contiguous for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


def adam_step(param, grad, m, v, beta_1, beta_2, epsilon, neg_lr):
    """One Adam update of contiguous 1-D `param`, `m`, `v` from `grad`, in place.

    The scalars are those of :meth:`.solvers.Adam.step`; each is cast as numpy
    casts it in the expression where it appears.
    """
    _kernels().adam(param, grad, m, v, scalar_for(beta_1, m), scalar_for(1 - beta_1, grad),
                    scalar_for(beta_2, v), scalar_for(1 - beta_2, grad),
                    scalar_for(epsilon, v), scalar_for(neg_lr, m))


def sgd_step(param, grad, velocity, lr, momentum, nesterov):
    """One SGD update of contiguous 1-D `param` and `velocity` from `grad`, in place."""
    kernels = _kernels()
    lr, mu = scalar_for(lr, grad), scalar_for(momentum, velocity)
    if nesterov:
        update = np.empty(1, np.result_type(momentum, velocity))
        kernels.nesterov(param, grad, velocity, lr, mu, update)
    else:
        kernels.sgd(param, grad, velocity, lr, mu)
