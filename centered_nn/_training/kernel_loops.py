"""The compiled loops behind :mod:`.kernels` (imported by it only once numba is switched on).

Module-level functions, so that numba's on-disk cache serves later processes; see
:mod:`.kernels` for why each is bit-for-bit the numpy update it replaces. No
fastmath (which would let LLVM reassociate or fuse a multiply and an add); the
numpy error model, so that a division by zero gives inf or NaN as numpy's does.
"""

import numpy as np

from .._compiled import jit

_jit = jit(nogil=True, fastmath=False, error_model="numpy")


@_jit
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


@_jit
def sgd(param, grad, velocity, lr, mu):
    # scaled = lr * grad; velocity *= mu; velocity -= scaled; param += velocity
    for i in range(param.shape[0]):
        scaled = lr * grad[i]
        velocity[i] = velocity[i] * mu
        velocity[i] = velocity[i] - scaled
        param[i] = param[i] + velocity[i]


@_jit
def nesterov(param, grad, velocity, lr, mu, update):
    # as sgd, then update = mu * velocity; update -= scaled; param += update, where
    # `update` (one element) rounds the difference to the dtype numpy's update has
    for i in range(param.shape[0]):
        scaled = lr * grad[i]
        velocity[i] = velocity[i] * mu
        velocity[i] = velocity[i] - scaled
        update[0] = mu * velocity[i] - scaled
        param[i] = param[i] + update[0]
