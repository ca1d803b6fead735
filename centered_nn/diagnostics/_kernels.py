"""Optional compiled sign statistics (numba): one pass over a step's gradient, one over its input.

The numpy statistics of :mod:`._sign_stats` take a dozen passes and temporaries
per step (masks, the effective input ``E = A + b``, centred rows); on the
minibatch sizes of a fit their per-call overhead is most of the history's cost.
The two loops here compute the same counts in one pass each:

- :func:`grad_stats`: a gradient's signs (written out for the next step's flip
  fraction), its columns' sign flags and the flips against the previous signs;
- :func:`input_stats`: the effective input's positive count and float64 sum,
  and the per-sample fraction's counts (rows holding a positive or a negative
  entry, or for gradient centralization rows that are not constant, weighted
  by their nonzero deltas), without forming E.

The counts are exact: ``a + b`` is rounded in the dtype numpy's ``A + b`` gives,
and its sign is that of the exact sum. The sum is taken in float64 in its own
order (down the columns, in blocks of rows), so it differs from numpy's pairwise
``E.sum(dtype=np.float64)`` by rounding only (the history's ``input_mean``
precision: 1e-12 relative for float64 inputs, 1e-6 for float32).

numba is optional (the extra ``speed``). It is imported on the first call that
can use it, not with the package; the kernels compile on their first call for
each dtype and layout and are cached on disk (``cache=True``). Without numba,
with ``CENTERED_NN_NUMBA=0`` in the environment, or with :data:`ENABLED` set to
False, :func:`available` is False and the recorder takes the numpy path.
"""

import os

import numpy as np

#: Whether the compiled statistics may be used; None: decide on first use (numba
#: importable and the environment variable ``CENTERED_NN_NUMBA`` not ``"0"``).
ENABLED = None

#: How :func:`input_stats` reads the rows for the per-sample fraction.
NO_ROWS, SIGN_ROWS, VARYING_ROWS = 0, 1, 2

_kernels = None
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT_CHARS = ("f", "d")  # float32, float64 (a tuple: no substring matches)
_NO_OFFSET = {dtype: np.zeros(0, dtype) for dtype in _FLOATS}  # never read


def available():
    """True when the compiled statistics are enabled and numba imports (imported once)."""
    global ENABLED
    if ENABLED is None:
        ENABLED = os.environ.get("CENTERED_NN_NUMBA", "1") != "0" and _compile() is not None
    return bool(ENABLED) and _compile() is not None


def accepts(inputs, delta, grad, offset):
    """Whether one step's arrays suit the kernels: dense 2-D floats of matching shapes."""
    return (type(inputs) is np.ndarray and type(delta) is np.ndarray
            and type(grad) is np.ndarray and inputs.ndim == delta.ndim == grad.ndim == 2
            and inputs.dtype.char in _FLOAT_CHARS and delta.dtype.char in _FLOAT_CHARS
            and grad.dtype.char in _FLOAT_CHARS
            and delta.shape[0] == inputs.shape[0] and grad.shape[0] == inputs.shape[1]
            and (offset is None or (type(offset) is np.ndarray and offset.ndim == 1
                                    and offset.shape[0] == inputs.shape[1]
                                    and offset.dtype.char in _FLOAT_CHARS)))


def grad_stats(G, previous):
    """Sign statistics of a weight gradient G of shape (fan_in, fan_out).

    Parameters
    ----------
    G : ndarray of float32 or float64, 2-D
    previous : ndarray of int8 or None
        The previous step's signs; flips are counted when it has G's shape.

    Returns
    -------
    n_signed, n_single, n_both, n_differ : int
        Columns with an entry > 0 or < 0; of those, columns of one sign; entries
        nonzero in G and in ``previous``; of those, entries whose sign differs.
    signs : ndarray of int8
        ``sign(G)``, NaN counted as 0 (a new array).
    """
    kernels = _compile()
    signs = np.empty(G.shape, dtype=np.int8)
    compare = previous is not None and previous.shape == G.shape
    prev = previous if compare else signs
    return (*kernels.grad_stats(G, prev, compare, signs), signs)


def input_stats(A, offset, D, rows):
    """Counts and sum of the effective input ``E = A + offset`` (see the module docstring).

    Parameters
    ----------
    A : ndarray of float32 or float64, shape (n_samples, fan_in)
    offset : ndarray of shape (fan_in,) or None
    D : ndarray of shape (n_samples, fan_out)
        The deltas, read for the rows counted (``rows`` not :data:`NO_ROWS`).
    rows : {NO_ROWS, SIGN_ROWS, VARYING_ROWS}
        Count no rows; rows of E with an entry > 0 or < 0 (the per-sample
        fraction's numerator from the single-signed ones); or rows that are not
        constant and hold no NaN (gradient centralization: numerator 0).

    Returns
    -------
    n_positive : int
    total : float
        The float64 sum of E.
    num, den : int
        Nonzero deltas of the single-signed counted rows and of all counted rows.
    """
    kernels = _compile()
    has_offset = offset is not None
    return kernels.input_stats(A, offset if has_offset else _NO_OFFSET[A.dtype], has_offset, D,
                               rows)


def step_stats(G, previous, A, offset, D, rows):
    """:func:`grad_stats` and :func:`input_stats` of one step in one compiled call.

    Returns
    -------
    counts : tuple of int and float
        ``(n_signed, n_single, n_both, n_differ, n_positive, total, num, den)``.
    signs : ndarray of int8
        ``sign(G)`` (a new array).
    """
    kernels = _compile()
    signs = np.empty(G.shape, dtype=np.int8)
    compare = previous is not None and previous.shape == G.shape
    has_offset = offset is not None
    return kernels.step(G, previous if compare else signs, compare, signs, A,
                        offset if has_offset else _NO_OFFSET[A.dtype], has_offset, D,
                        rows), signs


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


class _Kernels:
    def __init__(self, grad_stats, input_stats, step):
        self.grad_stats, self.input_stats, self.step = grad_stats, input_stats, step


def _build(numba):
    jit = numba.njit(cache=True, nogil=True)

    @jit
    def grad_kernel(G, prev, compare, signs):
        n, m = G.shape
        col_pos = np.zeros(m, dtype=np.bool_)
        col_neg = np.zeros(m, dtype=np.bool_)
        both = differ = 0
        for i in range(n):  # branch-free rows, which the compiler vectorises
            for j in range(m):
                g = G[i, j]
                signs[i, j] = np.int8(g > 0) - np.int8(g < 0)
                col_pos[j] |= g > 0
                col_neg[j] |= g < 0
            if compare:
                for j in range(m):
                    product = signs[i, j] * prev[i, j]
                    both += product != 0
                    differ += product < 0
        signed = single = 0
        for j in range(m):
            signed += col_pos[j] or col_neg[j]
            single += col_pos[j] != col_neg[j]
        return signed, single, both, differ

    @jit
    def count_and_sum(A, b, has_offset, row_pos, row_neg):
        """Positive entries of E and its float64 sum; flags rows with a positive (negative)
        entry. The sum runs down the columns, one running sum each (the columns'
        adds are independent, so the loop vectorises), moved every 128 rows into
        a second sum per column (short chains: a rounding error that grows with
        the number of rows only through their blocks), then added in column order."""
        n, m = A.shape
        column_sums = np.zeros(m, dtype=np.float64)
        block_sums = np.zeros(m, dtype=np.float64)
        n_positive = 0
        for i in range(n):
            if i % 128 == 0 and i:
                for j in range(m):
                    block_sums[j] += column_sums[j]
                    column_sums[j] = 0.0
            n_pos = n_neg = 0
            if has_offset:  # the test outside the loops: each loop vectorises
                for j in range(m):
                    e = A[i, j] + b[j]
                    column_sums[j] += e
                    n_pos += e > 0
                    n_neg += e < 0
            else:
                for j in range(m):
                    e = A[i, j]
                    column_sums[j] += e
                    n_pos += e > 0
                    n_neg += e < 0
            n_positive += n_pos
            row_pos[i] = n_pos > 0
            row_neg[i] = n_neg > 0
        total = 0.0
        for j in range(m):
            total += block_sums[j] + column_sums[j]
        return n_positive, total

    @jit
    def row_varies(A, b, has_offset, i, check_nan):
        """Whether row i of E holds two different numbers and no NaN (checked only
        with ``check_nan``); the scan stops at the first entry that differs from the
        row's first."""
        m = A.shape[1]
        first = A[i, 0] + b[0] if has_offset else A[i, 0]
        if check_nan:
            for j in range(m):
                e = A[i, j] + b[j] if has_offset else A[i, j]
                if e != e:
                    return False
        for j in range(1, m):
            e = A[i, j] + b[j] if has_offset else A[i, j]
            if e != first:
                return True
        return False

    @jit
    def nonzero_deltas(D, rows, first_only):
        """Nonzero entries of D in the flagged rows; with ``first_only``, 1 at the first."""
        count = 0
        for i in range(D.shape[0]):
            if rows[i]:
                for j in range(D.shape[1]):
                    if D[i, j] != 0:  # NaN counts as nonzero, as in D != 0
                        if first_only:
                            return 1
                        count += 1
        return count

    @jit
    def input_kernel(A, b, has_offset, D, rows):
        n, m = A.shape
        counted = np.zeros(n, dtype=np.bool_)
        single = np.zeros(n, dtype=np.bool_)
        n_positive, total = count_and_sum(A, b, has_offset, counted, single)
        if rows == 0 or n == 0 or m == 0:
            return n_positive, total, 0, 0
        if rows == 1:
            for i in range(n):  # counted: pos or neg; single: pos xor neg
                positive, negative = counted[i], single[i]
                counted[i] = positive or negative
                single[i] = positive != negative
        else:
            # a sum that is not NaN rules NaN out (one that is may come from inf - inf)
            check_nan = total != total
            for i in range(n):
                counted[i] = row_varies(A, b, has_offset, i, check_nan)
                single[i] = False
        n_counted = n_single = 0
        for i in range(n):
            n_counted += counted[i]
            n_single += single[i]
        if n_counted == 0:
            return n_positive, total, 0, 0
        # all or none of the counted rows single-signed: the fraction is 1 or 0 once
        # one counted row has a nonzero delta
        if n_single == 0 or n_single == n_counted:
            den = nonzero_deltas(D, counted, True)
            return n_positive, total, den if n_single else 0, den
        return n_positive, total, nonzero_deltas(D, single, False), nonzero_deltas(
            D, counted, False)

    @jit
    def step_kernel(G, prev, compare, signs, A, b, has_offset, D, rows):
        n_signed, n_single, n_both, n_differ = grad_kernel(G, prev, compare, signs)
        n_positive, total, num, den = input_kernel(A, b, has_offset, D, rows)
        return n_signed, n_single, n_both, n_differ, n_positive, total, num, den

    return _Kernels(grad_kernel, input_kernel, step_kernel)
