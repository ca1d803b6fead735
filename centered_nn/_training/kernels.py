"""Optional compiled optimiser steps: one fused loop per SGD/Adam update (numba).

Each numpy update in :mod:`.solvers` is a dozen passes over the parameters, each
rounded as scikit-learn rounds it. The loops here do the same operations, in
the same order and in the same dtypes, element by element in one pass, so the
parameters and the optimiser's state stay bit-for-bit those of the numpy
expressions: no fastmath (which would let LLVM reassociate or fuse a multiply
and an add), and every scalar is passed in the dtype numpy's promotion gives it
against the array it meets (see :func:`scalar_for`).

numba is optional (``pip install centered_nn[speed]``). It is imported on the
first step that can use it, not with the package; the kernels are compiled on
their first call for each dtype combination and cached on disk
(``cache=True``), so later processes only load them. Without numba, with
``CENTERED_NN_NUMBA=0`` in the environment, or with :data:`ENABLED` set to
False, :func:`available` is False and the optimisers take the numpy path.
"""

import os

import numpy as np

#: Whether the compiled steps may be used; None: decide on first use (numba importable
#: and the environment variable ``CENTERED_NN_NUMBA`` not ``"0"``).
ENABLED = None

_kernels = None


def available():
    """True when the compiled steps are enabled and numba imports (imports it once)."""
    global ENABLED
    if ENABLED is None:
        ENABLED = os.environ.get("CENTERED_NN_NUMBA", "1") != "0" and _compile() is not None
    return bool(ENABLED) and _compile() is not None


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


def _compile():
    global _kernels
    if _kernels is None:
        try:
            import numba
        except ImportError:
            _kernels = False
        else:
            _kernels = _build(numba)
    return _kernels or None


def _build(numba):
    try:
        return _define(numba.njit(cache=True, nogil=True, fastmath=False,
                                  error_model="numpy"))
    except RuntimeError:  # no writable cache directory: compile in every process
        return _define(numba.njit(nogil=True, fastmath=False, error_model="numpy"))


def _define(jit):

    @jit
    def adam(param, grad, m, v, b1, c1, b2, c2, eps, neg_lr):
        # m *= b1; m += c1 * grad; v *= b2; v += c2 * (grad * grad);
        # denom = sqrt(v) + eps; param += (neg_lr * m) / denom
        for i in range(param.shape[0]):
            g = grad[i]
            m[i] = m[i] * b1
            m[i] = m[i] + c1 * g
            v[i] = v[i] * b2
            v[i] = v[i] + c2 * (g * g)
            param[i] = param[i] + (neg_lr * m[i]) / (np.sqrt(v[i]) + eps)

    @jit
    def sgd(param, grad, velocity, lr, mu):
        # scaled = lr * grad; velocity *= mu; velocity -= scaled; param += velocity
        for i in range(param.shape[0]):
            scaled = lr * grad[i]
            velocity[i] = velocity[i] * mu
            velocity[i] = velocity[i] - scaled
            param[i] = param[i] + velocity[i]

    @jit
    def nesterov(param, grad, velocity, lr, mu, update):
        # as sgd, then update = mu * velocity; update -= scaled; param += update, where
        # `update` (one element) rounds the difference to the dtype numpy's update has
        for i in range(param.shape[0]):
            scaled = lr * grad[i]
            velocity[i] = velocity[i] * mu
            velocity[i] = velocity[i] - scaled
            update[0] = mu * velocity[i] - scaled
            param[i] = param[i] + update[0]

    return {"adam": adam, "sgd": sgd, "nesterov": nesterov}


def flat(*arrays):
    """One-dimensional views of C-contiguous arrays, or None if one is not contiguous."""
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
    kernels = _compile()
    kernels["adam"](param, grad, m, v, scalar_for(beta_1, m), scalar_for(1 - beta_1, grad),
                    scalar_for(beta_2, v), scalar_for(1 - beta_2, grad),
                    scalar_for(epsilon, v), scalar_for(neg_lr, m))


def sgd_step(param, grad, velocity, lr, momentum, nesterov):
    """One SGD update of contiguous 1-D `param` and `velocity` from `grad`, in place."""
    kernels = _compile()
    lr, mu = scalar_for(lr, grad), scalar_for(momentum, velocity)
    if nesterov:
        update = np.empty(1, np.result_type(momentum, velocity))
        kernels["nesterov"](param, grad, velocity, lr, mu, update)
    else:
        kernels["sgd"](param, grad, velocity, lr, mu)
