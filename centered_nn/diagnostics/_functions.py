"""The gradient-sign metrics as functions of one step's arrays, and per-row input statistics.

A neuron computes ``f = w . e + c``; for one sample ``dL/dw_i = (dL/df) e_i``,
so when every ``e_i > 0`` all its incoming weight gradients share one sign.
Weight matrices have shape ``(fan_in, fan_out)``; one unit is one column.
The effective layer input is ``E = A + offset``; zeros (and NaN) count as
neither sign. The statistics themselves live in :mod:`._sign_stats`.
"""

import math

import numpy as np
import scipy.sparse as sp

from ._sign_stats import (
    _ratio,
    _sign_int8,
    _sparse_row_counts,
    _input_stats,
    _input_total,
    _sample_fraction,
    _as_columns,
    _grad_stats,
    _flip_fraction,
)


def same_sign_fraction(grad):
    """Fraction of units whose incoming weight gradients share one sign.

    Parameters
    ----------
    grad : array-like of shape (fan_in, fan_out) or (fan_in,)
        Weight gradient; one unit is one column (a 1-D array is one unit).

    Returns
    -------
    fraction : float
        Among columns with at least one nonzero entry, the fraction whose
        nonzero entries are all > 0 or all < 0. NaN if no column qualifies.

    Examples
    --------
    >>> from centered_nn.diagnostics import same_sign_fraction
    >>> same_sign_fraction([[1., -2., 0.], [3., 4., 0.]])
    0.5
    """
    return _grad_stats(_as_columns(grad))[0]


def sample_same_sign_fraction(inputs, delta, offset=None):
    """Fraction of per-sample unit gradients whose entries share one sign.

    The per-sample gradient of unit ``j`` is ``delta[n, j] * e_n``; it is
    never materialised.

    Parameters
    ----------
    inputs : {array-like, sparse matrix} of shape (n_samples, fan_in)
        Layer input ``A``.
    delta : array-like of shape (n_samples, fan_out)
        ``dL/df`` per sample and unit.
    offset : array-like of shape (fan_in,), default=None
        Per-input offset; the effective input is ``E = A + offset``.

    Returns
    -------
    fraction : float
        Among pairs ``(n, j)`` with ``delta[n, j] != 0`` and ``e_n`` not all
        zero, the fraction where the nonzero entries of ``e_n`` share one
        sign. NaN if no pair qualifies.

    Examples
    --------
    >>> from centered_nn.diagnostics import sample_same_sign_fraction
    >>> X = [[1., 2.], [1., -1.]]
    >>> D = [[0.5, 0.], [1., 2.]]
    >>> sample_same_sign_fraction(X, D)  # row 0: 1 of 1 pair; row 1: 0 of 2
    0.333...
    >>> sample_same_sign_fraction(X, D, offset=[0., 1.])  # row 1 -> [1, 0]
    1.0
    """
    row_pos, row_neg, _, _, _ = _input_stats(inputs, offset)
    return _sample_fraction(row_pos, row_neg, delta)


def sign_flip_fraction(grad, previous):
    """Fraction of weights whose gradient sign flipped since the last step.

    Parameters
    ----------
    grad : array-like
        Current gradient.
    previous : array-like or None
        Previous gradient, or its sign array (e.g. int8 from ``np.sign``).

    Returns
    -------
    fraction : float
        Among entries nonzero in both, the fraction whose sign differs. NaN
        if ``previous`` is None or no entry is nonzero in both.

    Examples
    --------
    >>> from centered_nn.diagnostics import sign_flip_fraction
    >>> sign_flip_fraction([[1., -1.], [2., 0.]], [[1., 1.], [-3., 5.]])
    0.666...
    >>> sign_flip_fraction([[1., -1.]], None)
    nan
    """
    if previous is None:
        return math.nan
    sign, prev = _sign_int8(grad), _sign_int8(previous)
    if sign.shape != prev.shape:
        raise ValueError(f"shape mismatch: {sign.shape} vs {prev.shape}")
    return _flip_fraction(sign, prev)


def input_mean(inputs, offset=None):
    """Mean of all entries of the effective input ``E = inputs + offset``.

    Parameters
    ----------
    inputs : {array-like, sparse matrix} of shape (n_samples, fan_in)
    offset : array-like of shape (fan_in,), default=None

    Returns
    -------
    mean : float
        NaN if ``E`` is empty.

    Examples
    --------
    >>> from centered_nn.diagnostics import input_mean
    >>> input_mean([[0., 2.], [4., -2.]])
    1.0
    >>> input_mean([[0., 2.], [4., -2.]], offset=[1., 0.])  # 6 / 4
    1.5
    """
    _, _, _, total, size = _input_stats(inputs, offset, rows=False)
    return _ratio(total, size)


def positive_input_fraction(inputs, offset=None):
    """Fraction of entries of the effective input ``E`` that are > 0.

    Parameters
    ----------
    inputs : {array-like, sparse matrix} of shape (n_samples, fan_in)
    offset : array-like of shape (fan_in,), default=None

    Returns
    -------
    fraction : float
        NaN if ``E`` is empty.

    Examples
    --------
    >>> from centered_nn.diagnostics import positive_input_fraction
    >>> positive_input_fraction([[0., 2.], [4., -2.]])
    0.5
    >>> positive_input_fraction([[0., 2.], [4., -2.]], offset=[1., 2.])
    0.75
    """
    _, _, n_positive, _, size = _input_stats(inputs, offset, rows=False)
    return _ratio(n_positive, size)


class InputSignStats:
    """Per-row sign statistics of an effective input ``E = inputs + offset``.

    The first weight matrix sees the same training rows in every epoch. While
    its offset stays fixed (no offset, or ``input_bias='mean'``, whose first-layer
    offset is set once per fit) the rows' sign flags and positive counts can be
    computed once and looked up per minibatch with :meth:`take`, instead of
    rescanning the batch at every step. Pass the looked-up rows to
    :meth:`GradientSignRecorder.observe` as ``input_stats`` (with the batch's
    inputs and offset, whose sum ``input_mean`` still takes, so that every
    recorded value is exactly the one computed without the statistics).
    A dense input is scanned when the statistics are first read, so it must
    not change before that.

    Parameters
    ----------
    inputs : {array-like, sparse matrix} of shape (n_samples, n_columns)
        The matrix whose rows recur (e.g. the training part of X).
    offset : array-like of shape (n_columns,), default=None
        Per-input offset; the effective input is ``E = inputs + offset``.
    chunk_rows : int, default=256
        Rows of a dense input processed at a time; bounds the temporary memory.

    Attributes
    ----------
    row_pos : ndarray of bool, shape (n_samples,)
        Rows of E holding a positive entry.
    row_neg : ndarray of bool, shape (n_samples,)
        Rows of E holding a negative entry.
    row_n_positive : ndarray of shape (n_samples,)
        Number of positive entries of each row, in the smallest unsigned integer
        dtype that holds ``n_columns`` (one byte per row up to 255 columns).
    n_rows : int
        Number of rows described.
    n_columns : int
        Number of columns of E.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.diagnostics import InputSignStats
    >>> stats = InputSignStats(np.array([[1., 0.], [-1., 2.], [0., 0.]]))
    >>> stats.row_pos, stats.row_neg
    (array([ True,  True, False]), array([False,  True, False]))
    >>> stats.take(np.array([2, 1])).row_n_positive
    array([0, 1], dtype=uint8)
    """

    def __init__(self, inputs, offset=None, chunk_rows=256):
        b = None if offset is None else np.asarray(offset).ravel()
        if sp.issparse(inputs):
            X, _, row_n_pos, row_n_neg = _sparse_row_counts(inputs, b)
            m = X.shape[1]
            self._set(row_n_pos > 0, row_n_neg > 0, row_n_pos.astype(np.min_scalar_type(m)), m)
            return
        A = np.asarray(inputs)
        if A.ndim != 2:
            raise ValueError(f"inputs must be 2-D, got shape {A.shape}")
        n, m = A.shape
        if b is not None and b.shape[0] != m:
            raise ValueError(f"offset has {b.shape[0]} entries, inputs have {m} columns")
        self._set(np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.min_scalar_type(m)), m)
        # scanned when first read: a fit whose steps the compiled statistics record
        # (see diagnostics._kernels) never reads them
        self._pending = (A, None if b is None else b.copy(), max(int(chunk_rows), 1))

    def _scan(self, A, b, chunk):
        row_pos, row_neg, row_n_positive = self._arrays
        for start in range(0, A.shape[0], chunk):
            part = slice(start, start + chunk)
            E = A[part] if b is None else A[part] + b
            mask = E > 0
            np.logical_or.reduce(mask, axis=1, out=row_pos[part])
            # counted in the result's own dtype: no int64 copy of the chunk
            np.add.reduce(mask.view(np.uint8), axis=1, dtype=row_n_positive.dtype,
                          out=row_n_positive[part])
            np.logical_or.reduce(np.less(E, 0, out=mask), axis=1, out=row_neg[part])

    def _set(self, row_pos, row_neg, row_n_positive, n_columns):
        self._arrays, self._pending, self._parent = (row_pos, row_neg, row_n_positive), None, None
        self.n_rows, self.n_columns = row_pos.shape[0], int(n_columns)

    def _held(self):
        """``(row_pos, row_neg, row_n_positive)``, a pending scan or :meth:`take` done first."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._scan(*pending)
        if self._parent is not None:
            parent, rows, self._parent, self._rows = self._parent, self._rows, None, None
            self._arrays = tuple(a[rows] for a in parent._held())
        return self._arrays

    row_pos = property(lambda self: self._held()[0])
    row_neg = property(lambda self: self._held()[1])
    row_n_positive = property(lambda self: self._held()[2])

    def take(self, rows):
        """Statistics of the given rows, e.g. of one minibatch.

        Parameters
        ----------
        rows : slice, int array or boolean mask
            The minibatch's row indices into the matrix the statistics describe.

        Returns
        -------
        stats : InputSignStats
            The statistics of those rows, in that order.
        """
        # the rows are looked up when first read: a step the compiled statistics
        # record (see diagnostics._kernels) never reads them
        subset = object.__new__(InputSignStats)
        subset._arrays, subset._pending, subset.n_columns = None, None, self.n_columns
        n = self.n_rows
        if isinstance(rows, slice):
            subset.n_rows = len(range(n)[rows])
        else:
            rows = np.array(rows)  # a copy: the caller may reorder its indices later
            subset.n_rows = int(np.count_nonzero(rows)) if rows.dtype == bool else rows.shape[0]
        subset._parent, subset._rows = self, rows
        return subset

    def _check(self, inputs):
        """Raise unless `inputs` has the shape of the rows these statistics describe."""
        if inputs.shape != (self.n_rows, self.n_columns):
            raise ValueError(f"inputs have shape {inputs.shape}, the statistics describe "
                             f"{(self.n_rows, self.n_columns)}")

    def _batch(self, inputs, offset, rows=True):
        """The tuple ``_input_stats(inputs, offset)`` returns, from the held rows.

        Only the total is computed from `inputs`, exactly as ``_input_stats`` does.
        """
        self._check(inputs)
        n_rows = self.n_rows
        return (self.row_pos if rows else None, self.row_neg if rows else None,
                int(np.add.reduce(self.row_n_positive, dtype=np.int64)),
                _input_total(inputs, offset), n_rows * self.n_columns)
