"""Output layers: the last activation, the loss it pairs with, and the gradient at z.

In the style of scikit-learn's ``sklearn/_loss/link.py``: a small abstract base,
tiny concrete classes and one registry, :data:`OUTPUT_LAYERS`, mapping the names
scikit-learn stores in ``out_activation_`` to classes. Plain numpy and scipy.

Every pairing here is canonical (softmax with the categorical cross-entropy,
logistic with the binary log-loss, identity with half the squared error, exp
with half the Poisson deviance), so the gradient of the per-sample objective
with respect to the output pre-activation z is ``P - Y`` in each case.

Losses follow scikit-learn's definitions and its order of operations, so that
they round as its own do: the (sample-weighted) average over samples of each
output column, summed over the columns; probabilities are clipped to
``[eps, 1 - eps]`` of their dtype. One exception, kept for parity:
scikit-learn's squared error *averages* over output columns while the gradient
it trains with (``P - Y``) is that of the *sum*, so for ``n_outputs > 1`` the
reported loss is the objective divided by ``n_outputs``. :meth:`OutputLayer.objective`
is the function whose gradient training actually uses.
"""

from abc import ABC, abstractmethod

import numpy as np
from scipy.special import expit, xlogy

__all__ = ["OUTPUT_LAYERS", "Exp", "Identity", "Logistic", "OutputLayer", "Softmax"]


def _mean(values, axis=None):
    """``values.mean(axis)``, rounded as numpy rounds it, without its Python overhead.

    numpy sums with ``add.reduce`` and divides by the count as an ``intp``
    (for float32, a float64 quotient cast back), which matters for bit-for-bit
    losses; per minibatch step the wrappers cost more than the arithmetic.
    """
    total = np.add.reduce(values, axis=axis)
    count = np.intp(values.size if axis is None else values.shape[axis])
    if isinstance(total, np.ndarray):
        return np.true_divide(total, count, out=total, casting="unsafe")
    return total.dtype.type(total / count)


def _average(values, sample_weight=None, axis=None):
    """``np.average(values, axis, weights=sample_weight)``; unweighted via :func:`_mean`."""
    if sample_weight is None:
        return _mean(values, axis)
    return np.average(values, axis=axis, weights=sample_weight)


_EPS = {np.dtype(t): np.finfo(t).eps for t in (np.float64, np.float32)}


def _clipped(P):
    """A copy of P clipped to ``[eps, 1 - eps]`` of its dtype, as ``np.clip`` gives it."""
    eps = _EPS.get(P.dtype) or np.finfo(P.dtype).eps
    clipped = np.maximum(P, eps)
    return np.minimum(clipped, 1 - eps, out=clipped)


class OutputLayer(ABC):
    """Base class of output layers.

    Attributes
    ----------
    name : str
        The registry name, stored by the estimators in ``out_activation_``.
    """

    name = None

    @abstractmethod
    def apply(self, z):
        """Turn output pre-activations into predictions, in place.

        Parameters
        ----------
        z : ndarray of shape (n_samples, n_outputs)
            Overwritten with the predictions.

        Returns
        -------
        z : ndarray
            The same array.
        """

    @abstractmethod
    def loss(self, Y, P, sample_weight=None):
        """The loss scikit-learn reports (``loss_``, ``loss_curve_``).

        Parameters
        ----------
        Y : ndarray of shape (n_samples, n_outputs)
            Encoded targets.
        P : ndarray of shape (n_samples, n_outputs)
            Predictions, as returned by :meth:`apply`.
        sample_weight : ndarray of shape (n_samples,), default=None

        Returns
        -------
        loss : float
        """

    def objective(self, Y, P, sample_weight=None):
        """The data term whose gradient :meth:`gradient` is (defaults to :meth:`loss`)."""
        return self.loss(Y, P, sample_weight)

    def gradient(self, Y, P):
        """Per-sample gradient of :meth:`objective` with respect to z (unweighted).

        Parameters
        ----------
        Y, P : ndarray of shape (n_samples, n_outputs)

        Returns
        -------
        delta : ndarray of shape (n_samples, n_outputs)
            ``P - Y``, a new array of P's dtype.
        """
        return P - Y


class Softmax(OutputLayer):
    """Softmax output with the categorical cross-entropy (multiclass)."""

    name = "softmax"

    def apply(self, z):
        z -= np.maximum.reduce(z, axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= np.add.reduce(z, axis=1, keepdims=True)
        return z

    def loss(self, Y, P, sample_weight=None):
        # scikit-learn's expression and dtypes (xlogy of boolean targets is float64)
        terms = xlogy(Y, _clipped(P))
        return np.negative(np.add.reduce(_average(terms, sample_weight, axis=0)))


class Logistic(OutputLayer):
    """Logistic output with the binary log-loss of every column (binary, multilabel)."""

    name = "logistic"

    def apply(self, z):
        return expit(z, out=z)

    def loss(self, Y, P, sample_weight=None):
        # scikit-learn's binary log-loss, expression and dtypes
        P = _clipped(P)
        terms = xlogy(Y, P) + xlogy(1 - Y, 1 - P)
        return np.negative(np.add.reduce(_average(terms, sample_weight, axis=0)))


class Identity(OutputLayer):
    """Identity output with half the squared error (``loss='squared_error'``).

    :meth:`loss` averages over outputs, as scikit-learn reports it;
    :meth:`objective` sums over them, as the gradient ``P - Y`` implies.
    """

    name = "identity"

    def apply(self, z):
        return z

    def loss(self, Y, P, sample_weight=None):
        return 0.5 * _mean(self._per_output(Y, P, sample_weight))

    def objective(self, Y, P, sample_weight=None):
        return 0.5 * np.add.reduce(self._per_output(Y, P, sample_weight))

    @staticmethod
    def _per_output(Y, P, sample_weight):
        squares = np.subtract(Y, P)
        return _average(np.square(squares, out=squares), sample_weight, axis=0)


class Exp(OutputLayer):
    """Exponential output with half the Poisson deviance (``loss='poisson'``)."""

    name = "exp"

    def apply(self, z):
        return np.exp(z, out=z)

    def loss(self, Y, P, sample_weight=None):
        terms = xlogy(Y, Y / P) - Y + P
        return np.add.reduce(_average(terms, sample_weight, axis=0))


#: Output-layer names (as in ``out_activation_``) and their classes.
OUTPUT_LAYERS = {cls.name: cls for cls in (Softmax, Logistic, Identity, Exp)}
