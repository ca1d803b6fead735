"""The loss and gradient that training computes, as plain functions for the tests.

One place that reaches into the estimator's internals (its network, training state
and the loop's gradient function), so that a change there is made once; and the one
comparison of printed numbers with those a document shows.
"""

import copy
import os
import re
import signal

import numpy as np

from centered_nn._network import network as _network
from centered_nn._network.output import OUTPUT_LAYERS
from centered_nn._training import loops as _training
from centered_nn._training.layout import ParameterLayout
from centered_nn._training.observers import Observers
from centered_nn._training.settings import FitSettings
from centered_nn.activations import Activation


def flat_loss_and_gradient(est, X, Y, sample_weight=None):
    """A fitted estimator's objective and training gradient over its flat trainable vector.

    The vector holds what the optimiser trains, in its order: weights, intercepts,
    then learned offsets (``'mean'`` offsets stay fixed). The gradient is the one
    every solver uses; every evaluation recomputes the full-batch offsets of
    ``input_bias='batch'``, as an L-BFGS evaluation does. Works on a copy without
    the gradient-sign recorder, so ``est`` and its history are untouched.

    Parameters
    ----------
    est : fitted MLPClassifier or MLPRegressor
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        The target encoded as the output layer's (e.g. a label-binarized boolean matrix).
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    x0 : ndarray
        The fitted parameters, flattened.
    loss_grad : callable
        ``loss_grad(x) -> (loss, grad)`` with the parameters set to ``x``: the
        function whose gradient training uses (``OutputLayer.objective`` plus the
        L2 penalty; the reported multi-output squared error is that divided by
        n_outputs) and the training gradient, flattened.
    """
    est = copy.deepcopy(est)
    net, state = est._network(), est._state
    settings = FitSettings.from_params(est.get_params())
    state.recorder = None
    arrays = ParameterLayout.of(net, state.offsets.trainable).arrays()
    bounds = np.cumsum([0] + [a.size for a in arrays])
    gradients = _training.BatchGradients(
        net, state, settings, state.offsets.tracker(est.input_bias_rate, full_batch=True),
        Observers([]))
    sw_sum = X.shape[0] if sample_weight is None else sample_weight.sum()

    def loss_grad(x):
        for a, lo, hi in zip(arrays, bounds[:-1], bounds[1:]):
            a[...] = x[lo:hi].reshape(a.shape)
        _, grads = gradients(X, Y, sample_weight)
        loss = net.output.objective(Y, net.predict(X), sample_weight)
        loss += _network.l2_penalty(net.coefs, est.alpha, sw_sum)
        return loss, np.hstack([g.ravel() for g in grads])

    return np.hstack([a.ravel() for a in arrays]), loss_grad


def network_gradients(X, Y, sample_weight, net, options, out=None):
    """:func:`~centered_nn._network.network.backward` after a forward pass of ``net`` on X.

    ``net.output`` may be a name of :data:`~centered_nn._network.output.OUTPUT_LAYERS`.
    """
    output = OUTPUT_LAYERS[net.output]() if isinstance(net.output, str) else net.output
    inputs, pre = net.forward(X)
    delta = output.gradient(Y, inputs[-1])
    return _network.backward(delta, sample_weight, inputs, pre, net, options, out=out)


class CtrlC(Activation):
    """ReLU that sends SIGINT to this process at its ``at``-th forward pass (Ctrl-C in
    the middle of a fit, for the study's and the command line's interrupt tests)."""

    calls, at = 0, None

    def value(self, z):
        cls = type(self)
        cls.calls += 1
        if cls.calls == cls.at:
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs before this returns
        return np.maximum(z, 0.0)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def assert_numbers_as_shown(got, shown, rel=0.1):
    """`got` reads as `shown`: the same words, each number within one unit of its last
    shown digit or within `rel` of its value.

    The numbers a document shows come from one machine. Another CPU rounds some
    trajectories differently in the last bits (OpenBLAS picks its kernels by CPU,
    numpy vectorises exp for the instruction set it finds), and an L-BFGS fit, or a
    run at a rate where training blows up, carries that into the shown digits.
    """
    got, shown = " ".join(got.split()), " ".join(shown.split())
    assert _NUMBER.sub("#", got) == _NUMBER.sub("#", shown), (got, shown)
    for a, b in zip(_NUMBER.findall(got), _NUMBER.findall(shown)):
        unit = 10.0 ** -len(b.split(".")[1]) if "." in b else 1.0
        assert abs(float(a) - float(b)) <= max(1.01 * unit, rel * abs(float(b))), (a, b, got)
