"""The package's one column mean: sample-weighted or not, in one pass or streamed in chunks.

:class:`RunningMean` holds the mean of the rows seen so far and their total
weight W; :meth:`RunningMean.add` takes the next chunk in the streaming form

.. math::

    m \\leftarrow m \\, \\frac{W}{T} + \\sum_r \\frac{w_r}{T} x_r, \\qquad T = W + \\sum_r w_r,

a convex combination for non-negative weights: no difference of two means and no
division by a chunk's own weight (a chunk of zero total weight is fine).
:func:`weighted_mean` is the stream of one chunk. A chunk's term is computed as
``(w @ X) / T`` (``X.sum(axis=0) / T`` unweighted), for one chunk exactly numpy's
mean; only where that overflows (a column sum beyond the float range, from finite
values near its limit) is it recomputed from weights divided by T first and
columns scaled by their largest magnitude, so that no partial sum exceeds one.
Finite data with non-negative weights therefore always gives a finite mean.

Imports nothing else of the package: :mod:`centered_nn.preprocessing` and
:mod:`centered_nn._network` both use it.
"""

import math

import numpy as np
import scipy.sparse as sp

__all__ = ["RunningMean", "weighted_mean"]


def weighted_mean(X, sample_weight=None, dtype=None):
    """Per-column mean of a dense or sparse matrix, sample-weighted when weights are given.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), default=None
        None gives every row weight one. The weights must not sum to zero.
    dtype : dtype, default=None
        The result's dtype; default that of ``X`` combined with the weights'.

    Returns
    -------
    mean : ndarray of shape (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn._stats import weighted_mean
    >>> X = np.array([[1.0, 1e308], [3.0, 1.5e308]])
    >>> weighted_mean(X)
    array([2.00e+000, 1.25e+308])
    >>> weighted_mean(X, np.array([3.0, 1.0]))
    array([1.500e+000, 1.125e+308])
    """
    total = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    if total == 0:
        raise ValueError(f"The sample weights of {X.shape[0]} row(s) sum to 0: their mean "
                         "is undefined.")
    mean = _share(X, sample_weight, _checked_total(total))  # the stream of one chunk
    return mean if dtype is None else mean.astype(dtype, copy=False)


class RunningMean:
    """The (weighted) column mean of the rows seen so far, added chunk by chunk.

    Parameters
    ----------
    mean : ndarray of shape (n_features,), default=None
        The mean of the rows seen before (None: none yet). Not modified.
    weight : float, default=0.0
        Their total weight (their number when unweighted).

    Attributes
    ----------
    mean : ndarray of shape (n_features,) or None
        The mean of all rows added (None while their weights sum to zero).
    weight : float
        Their total weight.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn._stats import RunningMean
    >>> stream = RunningMean().add(np.array([[1.0], [2.0]])).add(np.array([[6.0]]))
    >>> stream.mean, stream.weight
    (array([3.]), 3.0)
    >>> RunningMean(np.array([3.0]), 3.0).add(np.array([[7.0]]), np.array([1.0])).mean
    array([4.])
    """

    def __init__(self, mean=None, weight=0.0):
        self.mean = mean
        self.weight = float(weight)

    def add(self, X, sample_weight=None):
        """Add the rows of `X` (dense or sparse), weighted by `sample_weight`; returns self."""
        chunk = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        total = _checked_total(self.weight + chunk)
        if total == 0:
            if sample_weight is not None and np.any(sample_weight):
                raise ValueError("The sample weights seen so far sum to 0 while some are "
                                 "not 0: their running mean is undefined.")
            return self  # no weighted row yet: nothing to average
        part = _share(X, sample_weight, total)
        if self.mean is None:
            self.mean = part
        else:
            with np.errstate(over="ignore"):
                mean = self.mean * (self.weight / total) + part
            if not np.isfinite(mean).all() and _convex(self.weight, sample_weight) \
                    and np.isfinite(self.mean).all() and np.isfinite(part).all():
                # a convex combination of finite values is finite: rounding stepped past the
                # largest float, where the exact mean lies within one unit of the last place
                limit = np.finfo(mean.dtype).max
                np.clip(mean, -limit, limit, out=mean)
            self.mean = mean
        self.weight = total
        return self


def _checked_total(total):
    if not math.isfinite(total):
        raise ValueError(f"The sample weights sum to {total} in floating point: rescale "
                         "them (only their ratios matter for a mean).")
    return total


def _convex(weight, sample_weight):
    return weight >= 0 and (sample_weight is None or bool((sample_weight >= 0).all()))


def _share(X, sample_weight, total):
    """``sum_r (w_r / total) x_r`` per column; finite for finite X and non-negative weights."""
    with np.errstate(over="ignore", invalid="ignore"):
        part = _sum_over(X, sample_weight, total)
    if np.isfinite(part).all() or not np.isfinite(X.data if sp.issparse(X) else X).all():
        return part
    # a column sum overflowed: the same sums over the columns scaled into [-1, 1]
    largest = abs(X).max(axis=0)
    largest = np.asarray(largest.toarray() if sp.issparse(largest) else largest,
                         dtype=np.float64).ravel()
    exponent = np.frexp(largest)[1]  # scaling by a power of two rounds nothing
    scaled = X.multiply(np.ldexp(1.0, -exponent)).tocsr() if sp.issparse(X) else \
        np.ldexp(X, -exponent)
    with np.errstate(over="ignore"):
        unscaled = np.ldexp(_sum_over(scaled, sample_weight, total), exponent)
    if _convex(0.0, sample_weight):  # then each column's share lies within its largest |x|
        np.clip(unscaled, -largest, largest, out=unscaled)
    return unscaled.astype(part.dtype, copy=False)


def _sum_over(X, sample_weight, total):
    """``(w @ X) / total``, or ``X.sum(axis=0) / total`` unweighted, as a 1-D array."""
    summed = X.sum(axis=0) if sample_weight is None else sample_weight @ X
    return np.asarray(summed).ravel() / total
