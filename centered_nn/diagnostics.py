"""Gradient-sign diagnostics for the zig-zag problem.

A neuron computes ``f = w . e + c``; for one sample ``dL/dw_i = (dL/df) e_i``,
so when every ``e_i > 0`` all its incoming weight gradients share one sign.
Weight matrices have shape ``(fan_in, fan_out)``; one unit is one column.
The effective layer input is ``E = A + offset``; zeros count as neither sign.
"""

import math

import numpy as np
import scipy.sparse as sp

__all__ = [
    "same_sign_fraction",
    "sample_same_sign_fraction",
    "sign_flip_fraction",
    "input_mean",
    "positive_input_fraction",
    "GradientSignRecorder",
]


def _ratio(num, den):
    return float(num) / float(den) if den else math.nan


def _sign_int8(a):
    """Sign of ``a`` as int8 (NaN counts as 0), from reusable masks."""
    a = np.asarray(a)
    return (a > 0).view(np.int8) - (a < 0).view(np.int8)


def _input_stats(inputs, offset=None):
    """Row sign flags and global sums of ``E = inputs + offset``.

    Returns ``(row_pos, row_neg, n_positive, total, size)`` where ``row_pos``
    (``row_neg``) flags rows of E holding a positive (negative) entry. Sparse
    inputs are never densified: unstored entries of a row equal ``offset``.
    """
    b = None if offset is None else np.asarray(offset).ravel()
    if sp.issparse(inputs):
        X = inputs.tocsr()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        n, m = X.shape
        if b is not None and b.shape[0] != m:
            raise ValueError(f"offset has {b.shape[0]} entries, inputs have {m} columns")
        rows = np.repeat(np.arange(n), np.diff(X.indptr))
        vals = X.data if b is None else X.data + b[X.indices]
        pos, neg = vals > 0, vals < 0
        row_n_pos = np.bincount(rows[pos], minlength=n)
        row_n_neg = np.bincount(rows[neg], minlength=n)
        n_positive = np.count_nonzero(pos)
        total = X.data.sum(dtype=np.float64)
        if b is not None:
            # Unstored entry (n, j) equals b_j: add the sign counts of b over
            # all columns and remove those over the row's stored columns (a
            # stored zero is thereby treated exactly like an unstored entry).
            bpos, bneg = b > 0, b < 0
            stored_bpos = bpos[X.indices]
            row_n_pos += np.count_nonzero(bpos)
            row_n_pos -= np.bincount(rows[stored_bpos], minlength=n)
            row_n_neg += np.count_nonzero(bneg)
            row_n_neg -= np.bincount(rows[bneg[X.indices]], minlength=n)
            n_positive += n * np.count_nonzero(bpos) - np.count_nonzero(stored_bpos)
            total += n * b.sum(dtype=np.float64)
        return row_n_pos > 0, row_n_neg > 0, int(n_positive), float(total), n * m
    A = np.asarray(inputs)
    if A.ndim != 2:
        raise ValueError(f"inputs must be 2-D, got shape {A.shape}")
    if b is not None and b.shape[0] != A.shape[1]:
        raise ValueError(f"offset has {b.shape[0]} entries, inputs have {A.shape[1]} columns")
    E = A if b is None else A + b
    pos, neg = E > 0, E < 0
    return (_row_any(pos), _row_any(neg), int(np.count_nonzero(pos)),
            float(E.sum(dtype=np.float64)), E.size)


def _row_any(mask):
    """``mask.any(axis=1)`` for a 2-D boolean array, through argmax (several times faster)."""
    if mask.shape[1] == 0 or not mask.any():  # e.g. no negative entry: skip the scan
        return np.zeros(mask.shape[0], dtype=bool)
    return mask[np.arange(mask.shape[0]), mask.argmax(axis=1)]


def _sample_fraction(row_pos, row_neg, delta, n_rows):
    D = np.asarray(delta)
    if D.ndim == 1:
        D = D.reshape(-1, 1)
    if D.shape[0] != n_rows:
        raise ValueError(f"delta has {D.shape[0]} rows, inputs have {n_rows}")
    nonzero = D != 0
    return _ratio(_count_rows(nonzero, row_pos ^ row_neg),
                  _count_rows(nonzero, row_pos | row_neg))


def _count_rows(mask, rows):
    """``np.count_nonzero(mask[rows])`` without copying when all or no rows are selected."""
    n_rows = np.count_nonzero(rows)
    if n_rows == 0:
        return 0
    return np.count_nonzero(mask if n_rows == rows.shape[0] else mask[rows])


def _grad_values(grad):
    """Same-sign fraction and int8 sign array of ``grad`` from shared masks."""
    g = np.asarray(grad)
    if g.ndim == 1:
        g = g.reshape(-1, 1)
    pos, neg = g > 0, g < 0
    col_pos, col_neg = pos.any(axis=0), neg.any(axis=0)
    same = _ratio(np.count_nonzero(col_pos ^ col_neg), np.count_nonzero(col_pos | col_neg))
    return same, pos.view(np.int8) - neg.view(np.int8)


def _flip_fraction(sign, prev_sign):
    if prev_sign is None or prev_sign.shape != sign.shape:
        return math.nan
    prod = sign * prev_sign
    return _ratio(np.count_nonzero(prod < 0), np.count_nonzero(prod))


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
    return _grad_values(grad)[0]


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
    return _sample_fraction(row_pos, row_neg, delta, row_pos.shape[0])


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
    _, _, _, total, size = _input_stats(inputs, offset)
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
    _, _, n_positive, _, size = _input_stats(inputs, offset)
    return _ratio(n_positive, size)


class GradientSignRecorder:
    """Record per-iteration means of the gradient-sign diagnostics.

    Parameters
    ----------
    n_layers : int
        Number of weight matrices.
    history : dict, default=None
        Existing history (metric -> array of shape (n_records, n_layers)) to
        append to, e.g. when warm starting.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.diagnostics import GradientSignRecorder
    >>> rec = GradientSignRecorder(n_layers=1)
    >>> X = np.array([[1., 2.]])
    >>> for D in ([[1., -1.]], [[-1., -1.]]):
    ...     D = np.array(D)
    ...     rec.observe(0, X, D, X.T @ D)
    >>> rec.end_iteration()
    >>> rec.history["sign_flip_fraction"]  # first step NaN, then 2 of 4
    array([[0.5]])
    >>> rec.history["same_sign_fraction"]
    array([[1.]])
    """

    #: Names of the recorded metrics, the keys of :attr:`history`.
    METRICS = ("same_sign_fraction", "sample_same_sign_fraction",
               "sign_flip_fraction", "input_mean", "positive_input_fraction")

    def __init__(self, n_layers, history=None):
        self.n_layers = int(n_layers)
        self._records = []
        if history is not None:
            arrays = [np.asarray(history[m], dtype=np.float64) for m in self.METRICS]
            shape = arrays[0].shape
            if any(a.shape != shape for a in arrays) or len(shape) != 2 \
                    or shape[1] != self.n_layers:
                raise ValueError("history arrays must all have shape "
                                 f"(n_records, {self.n_layers})")
            self._records = list(np.stack(arrays, axis=1))
        self._committed_signs = [None] * self.n_layers
        self.discard_steps()

    def observe(self, layer, inputs, delta, grad, offset=None):
        """Record one update step's diagnostics for weight matrix ``layer``.

        Parameters
        ----------
        layer : int
            Index of the weight matrix (0 for the one fed by the raw features).
        inputs : {ndarray, sparse matrix} of shape (n_samples, fan_in)
            The layer's input a for this minibatch.
        delta : ndarray of shape (n_samples, fan_out)
            dL/df per sample (sample weights included).
        grad : ndarray of shape (fan_in, fan_out)
            The data term of the weight gradient, ``(a + b)ᵀ delta``.
        offset : ndarray of shape (fan_in,), default=None
            The per-input offset b; the effective input is ``a + b``.
        """
        same, sign = _grad_values(grad)
        flip = _flip_fraction(sign, self._prev_signs[layer])
        self._prev_signs[layer] = sign
        row_pos, row_neg, n_positive, total, size = _input_stats(inputs, offset)
        values = (same, _sample_fraction(row_pos, row_neg, delta, row_pos.shape[0]),
                  flip, _ratio(total, size), _ratio(n_positive, size))
        for k, v in enumerate(values):
            if v == v:  # skip NaN
                self._sums[k][layer] += v
                self._counts[k][layer] += 1

    def end_iteration(self):
        """Append the NaN-ignoring mean of the pending steps as one record.

        A metric with no non-NaN step value in the iteration records NaN. The
        signs of the last observed gradients become those the next iteration's
        first flip is compared with.
        """
        record = np.full((len(self.METRICS), self.n_layers), np.nan)
        for k in range(len(self.METRICS)):
            for layer in range(self.n_layers):
                if self._counts[k][layer]:
                    record[k, layer] = self._sums[k][layer] / self._counts[k][layer]
        self._records.append(record)
        self._committed_signs = list(self._prev_signs)
        self.discard_steps()

    def discard_steps(self):
        """Forget the steps observed since the last ``end_iteration``.

        The previous-step signs used by the next flip fraction are reset to
        those of the last recorded iteration, so a discarded step (an L-BFGS
        line-search trial) is compared with nothing.
        """
        self._prev_signs = list(self._committed_signs)
        self._sums = [[0.0] * self.n_layers for _ in self.METRICS]
        self._counts = [[0] * self.n_layers for _ in self.METRICS]

    def truncate(self, n_records):
        """Keep only the first ``n_records`` records.

        Parameters
        ----------
        n_records : int
            Number of records to keep (>= 0); more than are stored keeps all.
        """
        if n_records < 0:
            raise ValueError(f"n_records must be >= 0, got {n_records}")
        del self._records[n_records:]

    @property
    def n_records(self):
        """Number of stored records."""
        return len(self._records)

    @property
    def history(self):
        """dict: metric -> float array of shape (n_records, n_layers)."""
        if self._records:
            stacked = np.stack(self._records)
        else:
            stacked = np.empty((0, len(self.METRICS), self.n_layers))
        return {m: np.ascontiguousarray(stacked[:, k, :])
                for k, m in enumerate(self.METRICS)}
