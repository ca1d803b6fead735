"""Stochastic optimisers and the L-BFGS driver (numpy and scipy).

With numba installed, each SGD/Adam update of a contiguous array runs as one
compiled loop (:mod:`.kernels`) doing the numpy expression's operations in the
same order and dtypes; the numpy expressions below are the definition, and the
path taken without numba or with ``CENTERED_NN_NUMBA=0``.

The update rules and their floating-point operation order follow scikit-learn's
``SGDOptimizer`` and ``AdamOptimizer`` element by element, so the parameters
stay bit-for-bit identical to theirs. The updates are done in place, one
parameter at a time, with at most two temporaries alive, each of the dtype the
corresponding scikit-learn expression gives (e.g. float64 for Adam's step on
float32 weights, as scikit-learn's float64 learning rate promotes it). Work
arrays kept between steps measured no faster here and would add to the fit's
peak memory, so there are none.

The training loop holds all parameters in one buffer (and the gradients in
another) and passes their chunks (:class:`~centered_nn._training.layout.FlatParameters`): the
arithmetic is element-wise, so the result is the same, and a step makes a
dozen numpy calls per chunk instead of a dozen per array. Preallocated work
arrays and chunks from 4k to 59k elements measured alike for Adam's twelve
passes over a (256, 128) network's parameters.

The module also decides how many BLAS threads a minibatch step gets
(:func:`minibatch_blas_threads`); L-BFGS always runs on one. Fits running
in threads share one process-wide limit (:func:`blas_threads`), restored when
the last of them ends.
"""

import concurrent.futures
import contextlib
import functools
import os
import threading

import numpy as np
import scipy.optimize
from threadpoolctl import ThreadpoolController

from . import kernels

#: A minibatch whose largest matrix product has fewer multiply-adds than this
#: trains on one BLAS thread (see :func:`minibatch_blas_threads`).
SMALL_PRODUCT = 1 << 22


@functools.cache
def _controller():
    return ThreadpoolController()  # inspecting the loaded libraries is slow: once


class _SharedLimit:
    """One process-wide BLAS limit, shared by the fits running at the same time.

    BLAS thread counts belong to the process, not to a thread, so limits
    entered by concurrent fits overlap: had each fit saved and restored the
    count it found, the first to finish would restore the original while the
    others still run, and the last would restore the others' limit for good.
    Here the first fit to enter saves the original and sets the limit, later
    ones only count themselves in, and the last to leave restores the
    original. The limit is the same for every fit (one thread), so sharing it
    changes no fit's threads.
    """

    def __init__(self):
        self._reset()
        # a child process has none of the parent's fitting threads, and a lock held
        # by one of them at the fork would never be released
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._active = 0
        self._limiter = None  # restores the original counts, while a limit is set
        self._setter = None  # the one thread that sets the counts, started on first use

    def enter(self, limit):
        with self._lock:
            if self._active == 0:
                blas = [lib for lib in _controller().lib_controllers if lib.user_api == "blas"]
                if all(lib.num_threads <= limit for lib in blas):
                    self._limiter = None  # within the limit already: nothing to set
                else:
                    self._limiter = self._set(_controller().limit, limits=limit,
                                              user_api="blas")
            self._active += 1

    def exit(self):
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._limiter is not None:
                self._set(self._limiter.restore_original_limits)
                self._limiter = None

    def _set(self, function, **kwargs):
        """``function(**kwargs)`` run in a thread of its own that makes no BLAS call.

        OpenBLAS 0.3.30 (scipy's wheels) was seen to ignore a thread count set from a
        thread other than the one that set the previous count, once both had run BLAS
        calls; set from a thread that has run none, the count holds for the process.
        One such thread serves every fit of the process (a new thread per fit cost
        0.4 to 4 ms on a busy machine, a tenth of a small fit); an exception it
        raises is raised here.
        """
        if self._setter is None:
            self._setter = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="centered_nn-blas-threads")
        return self._setter.submit(function, **kwargs).result()


_SHARED_LIMIT = _SharedLimit()


@contextlib.contextmanager
def blas_threads(limit):
    """Run the block on at most `limit` BLAS threads (None: leave them as they are).

    Concurrent blocks (fits in threads) share one limit (:class:`_SharedLimit`):
    the process's thread counts are as they were once the last block ends.
    """
    if limit is None:
        yield
        return
    _SHARED_LIMIT.enter(limit)
    try:
        yield
    finally:
        _SHARED_LIMIT.exit()


def minibatch_blas_threads(batch_rows, coef_shapes):
    """1 when every product of a minibatch step is small, else None (no limit).

    On two cores, a product of a 200-row batch with a 64x100 weight matrix
    (digits) ran faster on one BLAS thread, because the second thread's
    start-up and spinning between calls cost more than it computes; at
    200x100x256 and above two threads win (measured with
    benchmarks/bench_fit.py, wall clock, default threads).
    """
    largest = max(fan_in * fan_out for fan_in, fan_out in coef_shapes) * batch_rows
    return 1 if largest < SMALL_PRODUCT else None


class _Optimizer:
    """Shared by the stochastic optimisers: per-parameter state arrays, named in ``_state``."""

    _state = ()

    def _widen(self, grads):
        """Give each state array its update's dtype, as scikit-learn's state takes it.

        scikit-learn rebuilds its state from ``momentum * velocity - lr * grad``: a
        float32 state meeting float64 gradients (float32 X with float64 regression
        targets) becomes float64 at the first step, from zeros, so the same values.
        """
        if grads is getattr(self, "_widened_for", None):
            return  # the training loop's gradient buffer, checked at an earlier step
        for name in self._state:
            states = getattr(self, name)
            for i, (state, grad) in enumerate(zip(states, grads)):
                if state.dtype is not grad.dtype:
                    wide = np.promote_types(state.dtype, grad.dtype)
                    if wide != state.dtype:
                        states[i] = state.astype(wide)
        self._widened_for = grads

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_widened_for", None)  # the loop's gradient buffer: not the optimiser's
        return state

    def match(self, params):
        """Re-cut the state to the layout of `params`, the same elements in the same order.

        A fit keeps its parameters in one buffer stepped in chunks, or as separate
        arrays (see ``loops._step_buffers``); a later ``partial_fit`` may use
        the other layout. The state's values are unchanged.
        """
        shapes = [p.shape for p in params]
        for name in self._state:
            state = getattr(self, name)
            if [s.shape for s in state] == shapes:
                continue
            flat = np.concatenate([s.ravel() for s in state])
            bounds = np.cumsum([0] + [p.size for p in params])
            setattr(self, name, [flat[a:b].reshape(shape)
                                 for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)])


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``v <- momentum * v - lr * g``; the step is ``v`` or, with Nesterov,
    ``momentum * v - lr * g``. Schedules: ``'constant'``; ``'invscaling'``,
    ``lr = lr_init / (t + 1) ** power_t`` at the end of each epoch, t counting
    samples; ``'adaptive'``, divide by 5 when training stalls, stop once
    ``lr <= 1e-6``.
    """

    _state = ("velocities",)

    def __init__(self, params, learning_rate_init, schedule, momentum, nesterov, power_t):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.schedule = schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (lists in the same order).

        ``v <- mu * v - lr * g`` and ``param += mu * v - lr * g`` (Nesterov) or
        ``param += v``, each product rounded as scikit-learn rounds it.
        """
        lr, mu = self.learning_rate, self.momentum
        self._widen(grads)
        fused = kernels.available()
        for param, grad, velocity in zip(params, grads, self.velocities):
            views = kernels.flat(param, grad, velocity) if fused else None
            if views is not None:  # the same operations in one compiled pass
                kernels.sgd_step(*views, lr, mu, self.nesterov)
                continue
            scaled = lr * grad  # once, where scikit-learn computes it twice
            velocity *= mu
            velocity -= scaled
            if self.nesterov:
                update = mu * velocity
                update -= scaled
                param += update
            else:
                param += velocity

    def iteration_ends(self, time_step):
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """Return True to stop; with the adaptive schedule, shrink lr instead."""
        if self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class Adam(_Optimizer):
    """Adam (Kingma and Ba, 2014); ``t`` counts update steps (minibatches)."""

    _state = ("ms", "vs")

    def __init__(self, params, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (lists in the same order).

        ``m <- b1 * m + (1 - b1) * g``, ``v <- b2 * v + (1 - b2) * g²`` and
        ``param += -lr_t * m / (sqrt(v) + eps)``, each operation rounded as
        scikit-learn rounds it.
        """
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        self.learning_rate = (
            self.learning_rate_init * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        )
        neg_lr = -self.learning_rate
        self._widen(grads)
        fused = kernels.available()
        for param, grad, m, v in zip(params, grads, self.ms, self.vs):
            views = kernels.flat(param, grad, m, v) if fused else None
            if views is not None:  # the same operations in one compiled pass
                kernels.adam_step(*views, b1, b2, self.epsilon, neg_lr)
                continue
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * (grad * grad)
            denom = np.sqrt(v)
            denom += self.epsilon
            update = neg_lr * m
            update /= denom
            param += update

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


def minimize_lbfgs(fun, x0, max_iter, max_fun, tol, callback):
    """Minimise ``fun(x) -> (loss, grad)`` with scipy's L-BFGS-B.

    ``callback(x, loss)`` is called once per iteration with the new iterate.
    Returns scipy's OptimizeResult.

    BLAS runs on one thread meanwhile: between the many short products of an
    L-BFGS run, idle BLAS threads spin and starve scipy's Fortran loop (on two
    cores a digits fit ran several times faster on one thread, and a
    20000-sample fit with (256, 128) hidden units no slower; see
    benchmarks/bench_fit.py).
    """

    def on_iteration(intermediate_result):
        callback(intermediate_result.x, intermediate_result.fun)

    with blas_threads(1):
        return scipy.optimize.minimize(
            fun,
            x0,
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
            callback=on_iteration,
        )
