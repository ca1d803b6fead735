"""The sign statistics behind :mod:`centered_nn.diagnostics`, written for the hot path.

A whole-array minimum replaces the negative mask when it answers the question
(inputs that cannot be negative, such as ReLU or sigmoid outputs and pixel
intensities), the deltas are not scanned when the gradient's signs already give
the per-sample fraction, and a one-sample batch is summarised with Python flags.
The effective layer input is ``E = A + offset``; zeros (and NaN) count as
neither sign. Work arrays are allocated per call rather than kept: that
measured as fast, and keeps the fit's peak memory down.
"""

import math

import numpy as np
import scipy.sparse as sp


def _ratio(num, den):
    return float(num) / float(den) if den else math.nan


def _sign_int8(a):
    """Sign of ``a`` as int8 (NaN counts as 0), from reusable masks."""
    a = np.asarray(a)
    return (a > 0).view(np.int8) - (a < 0).view(np.int8)


# -- layer inputs -------------------------------------------------------------------


def _rows_any(mask, count):
    """``mask.any(axis=1)`` of a 2-D boolean mask holding ``count`` True entries."""
    n = mask.shape[0]
    if count == 0:
        return np.zeros(n, dtype=bool)
    if count == mask.size or n == 1:
        return np.ones(n, dtype=bool)
    return mask[np.arange(n), mask.argmax(axis=1)]  # argmax stops at the first True


def _dense_input_stats(E, rows=True, unless_nonnegative=False):
    """``(row_pos, row_neg, n_positive, total, size)`` of a dense 2-D E.

    ``row_pos`` (``row_neg``) flags the rows holding a positive (negative)
    entry; with ``rows=False``, or ``unless_nonnegative=True`` and no entry < 0
    or NaN (every row single-signed or zero), both are None. ``total`` is
    ``E.sum(dtype=float64)`` exactly.
    """
    n, m = E.shape
    total = float(np.add.reduce(E, axis=None, dtype=np.float64))
    if n * m == 0:
        empty = np.zeros(n, dtype=bool) if rows else None
        return empty, empty, 0, total, 0
    mask = E > 0
    n_positive = int(np.count_nonzero(mask))
    if not rows:
        return None, None, n_positive, total, n * m
    # Without NaN (a NaN entry makes the total NaN) the minimum says whether any
    # entry is negative, without writing a second mask.
    if n_positive == n * m or (total == total and not np.minimum.reduce(E, axis=None) < 0):
        if unless_nonnegative:
            return None, None, n_positive, total, n * m
        row_pos, row_neg = _rows_any(mask, n_positive), np.zeros(n, dtype=bool)
    else:
        row_pos = _rows_any(mask, n_positive)
        mask = np.less(E, 0, out=mask)
        row_neg = _rows_any(mask, np.count_nonzero(mask))
    return row_pos, row_neg, n_positive, total, n * m


def _one_row_values(E, delta, sample):
    """``(sample_same_sign_fraction, input_mean, positive_input_fraction)`` of one sample.

    The batch-size-one case of :func:`_dense_input_stats` and
    :func:`_sample_fraction` with the row's flags as Python booleans: the same
    counts and sums, in a few numpy calls.
    """
    m = E.shape[1]
    if m == 0:
        return math.nan, math.nan, math.nan
    total = float(np.add.reduce(E, axis=None, dtype=np.float64))
    mask = E > 0
    n_positive = int(np.count_nonzero(mask))
    fraction = math.nan
    if sample:
        D = np.asarray(delta)
        if D.ndim == 0 or D.shape[0] != 1:  # a 1-D delta is one column, one row per entry
            raise ValueError(f"delta has {D.shape[0] if D.ndim else 0} rows, inputs have 1")
        if n_positive == m:
            has_neg = False
        elif total == total:  # no NaN entry: the minimum answers
            has_neg = bool(np.minimum.reduce(E, axis=None) < 0)
        else:
            has_neg = bool(np.count_nonzero(np.less(E, 0, out=mask)))
        if n_positive or has_neg:
            den = np.count_nonzero(D)  # NaN counts as nonzero, as D != 0 does
            fraction = _ratio(den if (n_positive > 0) != has_neg else 0, den)
    return fraction, total / m, n_positive / m


def _sparse_row_counts(X, b):
    """Per-row counts of positive and negative entries of ``X + b`` (X sparse).

    Returns ``(X, rows, row_n_pos, row_n_neg)`` with X in canonical CSR form
    and ``rows`` the row index of each stored entry. Unstored entries of a row
    equal ``b``; a stored zero is treated exactly like an unstored entry.
    """
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    n, m = X.shape
    if b is not None and b.shape[0] != m:
        raise ValueError(f"offset has {b.shape[0]} entries, inputs have {m} columns")
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    vals = X.data if b is None else X.data + b[X.indices]
    row_n_pos = np.bincount(rows[vals > 0], minlength=n)
    row_n_neg = np.bincount(rows[vals < 0], minlength=n)
    if b is not None:
        # add the sign counts of b over all columns, remove those over stored ones
        bpos, bneg = b > 0, b < 0
        row_n_pos += np.count_nonzero(bpos) - np.bincount(rows[bpos[X.indices]], minlength=n)
        row_n_neg += np.count_nonzero(bneg) - np.bincount(rows[bneg[X.indices]], minlength=n)
    return X, rows, row_n_pos, row_n_neg


def _input_stats(inputs, offset=None, rows=True, unless_nonnegative=False):
    """Row sign flags and global sums of ``E = inputs + offset`` (see _dense_input_stats).

    Sparse inputs are never densified: unstored entries of a row equal ``offset``.
    """
    b = None if offset is None else np.asarray(offset).ravel()
    if sp.issparse(inputs):
        X, _, row_n_pos, row_n_neg = _sparse_row_counts(inputs, b)
        n, m = X.shape
        total = X.data.sum(dtype=np.float64)
        if b is not None:
            total += n * b.sum(dtype=np.float64)
        return (row_n_pos > 0, row_n_neg > 0, int(row_n_pos.sum()), float(total), n * m)
    A = np.asarray(inputs)
    if A.ndim != 2:
        raise ValueError(f"inputs must be 2-D, got shape {A.shape}")
    E = A if b is None else _effective(A, b)
    return _dense_input_stats(E, rows, unless_nonnegative)


def _rows_vary(inputs, offset=None):
    """Flags of the rows of ``E = inputs + offset`` that are not constant."""
    E = inputs.toarray() if sp.issparse(inputs) else np.asarray(inputs)
    if offset is not None:
        E = _effective(E, offset)
    if E.shape[1] == 0:
        return np.zeros(E.shape[0], dtype=bool)
    # a row varies when an entry differs from its first: one mask and a first-True search
    # instead of two reductions along the short rows; NaN (which would differ from
    # everything, but makes the row's maximum and minimum NaN) takes the reductions
    if not np.isfinite(np.add.reduce(E, axis=None)):
        return E.max(axis=1) > E.min(axis=1)
    differs = np.not_equal(E, E[:, :1])
    return _rows_any(differs, np.count_nonzero(differs))


def _input_total(inputs, offset=None):
    """``E.sum(dtype=float64)`` of ``E = inputs + offset``, exactly as _input_stats sums."""
    b = None if offset is None else np.asarray(offset).ravel()
    if sp.issparse(inputs):
        X = inputs.tocsr()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        total = X.data.sum(dtype=np.float64)
        if b is not None:
            total += X.shape[0] * b.sum(dtype=np.float64)
        return float(total)
    A = np.asarray(inputs)
    E = A if b is None else _effective(A, b)
    return float(np.add.reduce(E, axis=None, dtype=np.float64))


def _effective(A, offset):
    """``A + offset`` for a dense 2-D A."""
    b = np.asarray(offset).ravel()
    if b.shape[0] != A.shape[1]:
        raise ValueError(f"offset has {b.shape[0]} entries, inputs have {A.shape[1]} columns")
    return A + b


def _delta_rows(delta, n):
    """``delta`` as a 2-D array (a 1-D one is one column), checked to have ``n`` rows."""
    D = np.asarray(delta)
    if D.ndim == 1:
        D = D.reshape(-1, 1)
    if D.shape[0] != n:
        raise ValueError(f"delta has {D.shape[0]} rows, inputs have {n}")
    return D


def _sample_fraction(row_pos, row_neg, delta, signed_grad=False):
    """Same-sign fraction of the per-sample gradients from the rows' sign flags.

    ``signed_grad=True`` says that the weight gradient ``aᵀ delta`` (no offset)
    of these rows has an entry > 0 or < 0; some counted row then has a nonzero
    delta, so when all or none of the counted rows are single-signed the
    fraction is 1 or 0 without counting the deltas. (With an offset the
    gradient is computed as ``aᵀ delta + b ⊗ Σ delta`` and rounding can leave it
    nonzero where every product is zero, so that case does not qualify.)
    """
    D = _delta_rows(delta, row_pos.shape[0])
    n = row_pos.shape[0]
    counted = row_pos | row_neg
    n_counted = np.count_nonzero(counted)
    if n_counted == 0:
        return math.nan
    single = row_pos ^ row_neg
    n_single = np.count_nonzero(single)
    if signed_grad and (n_single == 0 or n_single == n_counted):
        return 1.0 if n_single else 0.0
    nonzero = D != 0
    den = np.count_nonzero(nonzero if n_counted == n else nonzero[counted])
    if n_single == n_counted:  # single is a subset of counted: the same rows
        num = den
    elif n_single == 0:
        num = 0
    else:
        num = np.count_nonzero(nonzero[single])
    return _ratio(num, den)


# -- weight gradients -----------------------------------------------------------------


def _as_columns(grad):
    g = np.asarray(grad)
    return g.reshape(-1, 1) if g.ndim == 1 else g


def _columns_any(mask):
    """``mask.any(axis=0)`` of a 2-D boolean mask.

    A reduction down few long columns runs row by row; an argmax (which stops at
    the first True) and one lookup per column is faster there.
    """
    if mask.shape[1] > 16 or mask.shape[0] == 0:
        return np.logical_or.reduce(mask, axis=0)
    columns = np.arange(mask.shape[1])
    return mask[mask.argmax(axis=0), columns]


def _grad_stats(G, sign=False, same=True):
    """``(same_sign_fraction, signed, signs)`` of the columns of G.

    ``signed`` tells whether G has an entry > 0 or < 0; with ``same=False`` both
    are skipped (NaN, None). With ``sign=True``, ``signs`` is ``sign(G)`` as int8
    (NaN counts as 0), else None.
    """
    pos, neg = G > 0, G < 0
    signs = pos.view(np.int8) - neg.view(np.int8) if sign else None
    if not same:
        return math.nan, None, signs
    col_pos, col_neg = _columns_any(pos), _columns_any(neg)
    n_signed = np.count_nonzero(col_pos | col_neg)
    return _ratio(np.count_nonzero(col_pos ^ col_neg), n_signed), n_signed > 0, signs


def _flip_fraction(sign, prev_sign):
    if prev_sign is None or prev_sign.shape != sign.shape:
        return math.nan
    prod = sign * prev_sign
    both = np.count_nonzero(prod)
    if both == 0:
        return math.nan
    return _ratio(np.count_nonzero(prod < 0), both)
