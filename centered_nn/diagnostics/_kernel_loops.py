"""The compiled loops behind :mod:`._kernels` (imported by it only once numba is switched on).

Module-level functions, so that numba's on-disk cache serves later processes (see
:func:`..._compiled.jit`); see :mod:`._kernels` for what they compute and why.
"""

import numpy as np

from .._compiled import jit

_jit = jit(nogil=True)  # no fastmath: the float64 sum in its written order


@_jit
def _column_and_flip_counts(signs, prev, compare, col_pos, col_neg):
    """(columns signed, columns single-signed, entries nonzero in ``signs`` and ``prev``,
    of those with a differing sign), from the columns' sign flags and the signs."""
    n, m = signs.shape
    both = differ = 0
    if compare:
        flat, previous = signs.reshape(n * m), prev.reshape(n * m)
        for k in range(n * m):
            product = flat[k] * previous[k]
            both += product != 0
            differ += product < 0
    signed = single = 0
    for j in range(m):
        signed += col_pos[j] | col_neg[j]
        single += col_pos[j] ^ col_neg[j]
    return signed, single, both, differ


@_jit
def grad_kernel(G, prev, compare, signs):
    """Signs of G into ``signs``; (columns signed, columns single-signed, entries nonzero in
    G and ``prev``, of those with a differing sign), ``prev`` read only with ``compare``.

    ``signs`` and ``prev`` are C-contiguous: the flips are counted over them as flat
    runs. Every loop is branch-free, so the compiler vectorises it (the column flags
    are bytes or-ed row after row).
    """
    n, m = G.shape
    col_pos = np.zeros(m, dtype=np.uint8)
    col_neg = np.zeros(m, dtype=np.uint8)
    for i in range(n):
        for j in range(m):
            g = G[i, j]
            positive = np.uint8(g > 0)
            negative = np.uint8(g < 0)
            signs[i, j] = np.int8(positive) - np.int8(negative)
            col_pos[j] |= positive
            col_neg[j] |= negative
    return _column_and_flip_counts(signs, prev, compare, col_pos, col_neg)


@_jit
def penalty_grad_kernel(G, prev, compare, signs, W, offset, sums, shifted, alpha, scale):
    """:func:`grad_kernel` of the data term ``g`` (G, plus ``offset[i] * sums[j]`` if
    `shifted`), which then becomes the weight gradient in place, ``(g + alpha * W) /
    scale``: the expressions of the network's compiled penalty (``fused_loops.penalize``),
    so the gradient is the one the training loop would have written."""
    n, m = G.shape
    col_pos = np.zeros(m, dtype=np.uint8)
    col_neg = np.zeros(m, dtype=np.uint8)
    for i in range(n):
        for j in range(m):
            g = G[i, j]
            if shifted:
                g = g + offset[i] * sums[j]
            positive = np.uint8(g > 0)
            negative = np.uint8(g < 0)
            signs[i, j] = np.int8(positive) - np.int8(negative)
            col_pos[j] |= positive
            col_neg[j] |= negative
            G[i, j] = (g + alpha * W[i, j]) / scale
    return _column_and_flip_counts(signs, prev, compare, col_pos, col_neg)


@_jit
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


@_jit
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


@_jit
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


@_jit
def input_kernel(A, b, has_offset, D, rows):
    """(positive entries of E = A + b, its float64 sum, the per-sample fraction's numerator
    and denominator) for ``rows`` 0 (none counted), 1 (sign rows) or 2 (varying rows)."""
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


@_jit
def step_kernel(G, prev, compare, signs, A, b, has_offset, D, rows):
    """:func:`grad_kernel` and :func:`input_kernel` in one call: their counts, in order."""
    n_signed, n_single, n_both, n_differ = grad_kernel(G, prev, compare, signs)
    n_positive, total, num, den = input_kernel(A, b, has_offset, D, rows)
    return n_signed, n_single, n_both, n_differ, n_positive, total, num, den


@_jit
def penalty_step_kernel(G, prev, compare, signs, A, b, has_offset, D, rows, W, offset, sums,
                        shifted, alpha, scale):
    """:func:`penalty_grad_kernel` and :func:`input_kernel` in one call: their counts."""
    n_signed, n_single, n_both, n_differ = penalty_grad_kernel(
        G, prev, compare, signs, W, offset, sums, shifted, alpha, scale)
    n_positive, total, num, den = input_kernel(A, b, has_offset, D, rows)
    return n_signed, n_single, n_both, n_differ, n_positive, total, num, den


@_jit
def accumulate(counts, size, ratios, run):
    """Add each metric's value of one step to the running sums ``run`` (see
    :func:`record_kernel`): ``counts[a] / counts[b]`` for ``ratios[k] = (a, b)``, the
    eight counts then the input's `size` (index 8), none where the denominator is 0
    or the value NaN; ``run[0, k]`` sums the values, ``run[1, k]`` counts them."""
    values = np.empty(9, dtype=np.float64)
    (values[0], values[1], values[2], values[3], values[4], values[5], values[6],
     values[7]) = counts
    values[8] = size
    for k in range(ratios.shape[0]):
        den = values[ratios[k, 1]]
        if den != 0:
            value = values[ratios[k, 0]] / den
            if value == value:
                run[0, k] += value
                run[1, k] += 1.0


@_jit
def record_kernel(G, prev, compare, signs, A, b, has_offset, D, rows, ratios, run):
    """:func:`step_kernel`, its values added to ``run`` (:func:`accumulate`)."""
    counts = step_kernel(G, prev, compare, signs, A, b, has_offset, D, rows)
    accumulate(counts, A.shape[0] * A.shape[1], ratios, run)


@_jit
def record_penalty_kernel(G, prev, compare, signs, A, b, has_offset, D, rows, ratios, run, W,
                          offset, sums, shifted, alpha, scale):
    """:func:`penalty_step_kernel`, its values added to ``run`` (:func:`accumulate`)."""
    counts = penalty_step_kernel(G, prev, compare, signs, A, b, has_offset, D, rows, W, offset,
                                 sums, shifted, alpha, scale)
    accumulate(counts, A.shape[0] * A.shape[1], ratios, run)


@_jit
def add_kept_summaries(codes, counts, input_sums, flips, fans_in, sums, n_counted):
    """The values of :data:`._kernels.KEPT_CODES` at each summarised step of each weight
    matrix, added in step order (see :func:`._kernels.add_kept_summaries`)."""
    for layer in range(fans_in.shape[0]):
        fan_in = fans_in[layer]
        for t in range(input_sums.shape[1]):
            a_pos, a_neg = counts[layer, 0, t, 0] > 0, counts[layer, 1, t, 0] > 0
            counted = (a_pos or a_neg) and (counts[layer, 0, t, 1] > 0
                                            or counts[layer, 1, t, 1] > 0)
            for c in range(codes.shape[0]):
                code = codes[c]
                if code == 0:
                    value = (1.0 if a_pos != a_neg else 0.0) if counted else np.nan
                elif code == 1:
                    value = flips[layer, t]
                elif code == 2:
                    value = input_sums[layer, t] / fan_in
                elif code == 3:
                    value = counts[layer, 0, t, 0] / fan_in
                else:
                    value = float(fan_in) if (a_pos or a_neg) else np.nan
                if value == value:
                    sums[layer, c] += value
                    n_counted[layer, c] += 1
