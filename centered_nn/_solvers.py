"""Stochastic optimisers and the L-BFGS driver (plain numpy and scipy).

The update rules and their floating-point operation order follow scikit-learn's
``SGDOptimizer`` and ``AdamOptimizer`` element by element, so the parameters
stay bit-for-bit identical to theirs; the updates are done in place, through
work arrays allocated at the first step and reused, instead of through lists of
temporaries. Every temporary has the dtype the corresponding scikit-learn
expression would give (e.g. float64 for Adam's step on float32 weights, as
scikit-learn's float64 learning rate promotes it).

A caller holding all parameters in one flat array (and the gradients in
another) can pass one-element lists: the arithmetic is element-wise, so the
result is the same and each step makes a dozen numpy calls instead of a dozen
per array.
"""

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits


class _Optimizer:
    """Work arrays for the in-place steps; pickled without them.

    Parameters are updated one after the other, so each work array is a view
    into a buffer shared by all parameters and sized for the largest: the
    memory held is that of two copies of the largest parameter, no more than
    scikit-learn's temporaries take while they are alive.
    """

    _work = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_work", None)
        return state

    def _work_arrays(self, grads, slots):
        """Per parameter, one view per ``(slot, dtype)`` of ``slots(grad, index)``.

        Views of the same slot and dtype share memory; rebuilt only when the
        gradients' shapes change.
        """
        work = self._work
        if work is not None and len(work) == len(grads) and all(
                w[0].shape == g.shape for w, g in zip(work, grads)):
            return work
        specs = [slots(g, i) for i, g in enumerate(grads)]
        sizes = {}
        for g, spec in zip(grads, specs):
            for key in spec:
                sizes[key] = max(sizes.get(key, 0), g.size)
        buffers = {key: np.empty(size, key[1]) for key, size in sizes.items()}
        self._work = [tuple(buffers[key][:g.size].reshape(g.shape) for key in spec)
                      for g, spec in zip(grads, specs)]
        return self._work


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``v <- momentum * v - lr * g``; the step is ``v`` or, with Nesterov,
    ``momentum * v - lr * g``. Schedules: ``'constant'``; ``'invscaling'``,
    ``lr = lr_init / (t + 1) ** power_t`` at the end of each epoch, t counting
    samples; ``'adaptive'``, divide by 5 when training stalls, stop once
    ``lr <= 1e-6``.
    """

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
        work = self._work_arrays(grads, lambda g, i: (
            ("a", np.result_type(lr, g)), ("b", np.result_type(mu, self.velocities[i]))))
        for param, grad, velocity, (scaled, update) in zip(params, grads, self.velocities, work):
            np.multiply(grad, lr, out=scaled)  # lr * grad
            velocity *= mu
            velocity -= scaled
            if self.nesterov:
                np.multiply(velocity, mu, out=update)  # mu * velocity
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
        c1, c2 = 1 - b1, 1 - b2
        # tmp, square and denom are never alive together: one buffer (slot "a")
        work = self._work_arrays(grads, lambda g, i: (
            ("a", np.result_type(c1, g)), ("a", np.result_type(c2, g)), ("a", self.vs[i].dtype),
            ("b", np.result_type(neg_lr, self.ms[i]))))
        for param, grad, m, v, (tmp, square, denom, update) in zip(
                params, grads, self.ms, self.vs, work):
            np.multiply(grad, c1, out=tmp)  # (1 - b1) * g
            m *= b1
            m += tmp
            np.multiply(grad, grad, out=square)  # g * g, computed in g's dtype
            square *= c2
            v *= b2
            v += square
            np.sqrt(v, out=denom)
            denom += self.epsilon
            np.multiply(m, neg_lr, out=update)  # -lr_t * m
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
    cores a digits fit ran 3-6x faster on one thread, and a 20000-sample fit
    with (256, 128) hidden units no slower; see benchmarks/bench_fit.py).
    """

    def on_iteration(intermediate_result):
        callback(intermediate_result.x, intermediate_result.fun)

    with threadpool_limits(limits=1, user_api="blas"):
        return scipy.optimize.minimize(
            fun,
            x0,
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
            callback=on_iteration,
        )
