"""The compiled loops behind :mod:`.fused` (imported by it only once numba is switched on).

Module-level functions, so that numba's on-disk cache serves later processes; see
:mod:`.fused` for why each is bit for bit the numpy expression it replaces. No
fastmath (which would let LLVM reassociate or contract a multiply and an add);
the numpy error model, so that 0/0 gives NaN as numpy's does. Every constant
comes in as an argument of the arrays' dtype: a literal would be a float64 or
int64 here and promote a float32 operation.

Sums copy numpy's order exactly: an axis-0 reduction of a C-contiguous matrix
with more than one column adds the rows one after another into zeros; any
contiguous run (a row, a single column, a vector) is summed by numpy's pairwise
scheme (:func:`pairwise`).
"""

import math

import numpy as np

from .._compiled import jit

_jit = jit(nogil=True, fastmath=False, error_model="numpy")

_BLOCK = 128  # numpy's PW_BLOCKSIZE


@_jit
def _block(x, start, n, stride, zero):
    """numpy's sum of a run of at most 128 terms: eight running sums, then the rest."""
    if n < 8:
        res = zero
        for i in range(n):
            res += x[start + i * stride]
        return res
    r0 = x[start]
    r1 = x[start + stride]
    r2 = x[start + 2 * stride]
    r3 = x[start + 3 * stride]
    r4 = x[start + 4 * stride]
    r5 = x[start + 5 * stride]
    r6 = x[start + 6 * stride]
    r7 = x[start + 7 * stride]
    whole = n - n % 8
    i = 8
    while i < whole:
        at = start + i * stride
        r0 += x[at]
        r1 += x[at + stride]
        r2 += x[at + 2 * stride]
        r3 += x[at + 3 * stride]
        r4 += x[at + 4 * stride]
        r5 += x[at + 5 * stride]
        r6 += x[at + 6 * stride]
        r7 += x[at + 7 * stride]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[start + i * stride]
        i += 1
    return res


@_jit
def pairwise(x, start, n, stride, zero):
    """numpy's pairwise sum of ``x[start], x[start + stride], ...`` (`n` terms, 1-D `x`).

    Runs longer than 128 terms are split in two (the first part a multiple of 8
    terms) and the halves' sums added, as numpy's recursion does; the recursion
    is unrolled into a stack here, since numba's cache does not reload
    recursive functions safely.
    """
    if n <= _BLOCK:
        return _block(x, start, n, stride, zero)
    starts = np.empty(64, np.int64)
    sizes = np.empty(64, np.int64)
    stages = np.zeros(64, np.int64)
    partial = np.empty(64, x.dtype)
    starts[0], sizes[0] = start, n
    top, done = 0, 0
    while top >= 0:
        first, size = starts[top], sizes[top]
        if size <= _BLOCK:
            partial[done] = _block(x, first, size, stride, zero)
            done += 1
            top -= 1
            continue
        half = size // 2
        half -= half % 8
        stage = stages[top]
        stages[top] = stage + 1
        if stage < 2:  # push the first, then the second part
            top += 1
            starts[top] = first if stage == 0 else first + half * stride
            sizes[top] = half if stage == 0 else size - half
            stages[top] = 0
        else:  # both parts summed: add them
            done -= 1
            partial[done - 1] = partial[done - 1] + partial[done]
            top -= 1
    return partial[0]


@_jit
def column_sums(D, sums, zero):
    """``np.add.reduce(D, axis=0)`` of a C-contiguous 2-D `D`, into `sums`."""
    n, k = D.shape
    if k == 1:  # numpy sees one contiguous run
        sums[0] = pairwise(D.reshape(n), 0, n, 1, zero)
        return
    for j in range(k):
        sums[j] = zero
    for i in range(n):
        for j in range(k):
            sums[j] += D[i, j]


# ---- forward: bias add and ReLU; the softmax around numpy's exp ------------------------

@_jit
def bias_relu(Z, c, zero):
    """``Z += c; np.maximum(Z, 0, out=Z)`` (NaN stays NaN)."""
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            x = Z[i, j] + c[j]
            Z[i, j] = x if (x > zero or x != x) else zero  # -0.0 gives 0.0, as numpy's


@_jit
def softmax_shift(Z, c):
    """``Z += c; Z -= np.maximum.reduce(Z, axis=1, keepdims=True)`` (before numpy's exp)."""
    n, k = Z.shape
    for i in range(n):
        top = Z[i, 0] + c[0]
        Z[i, 0] = top
        for j in range(1, k):
            x = Z[i, j] + c[j]
            Z[i, j] = x
            if x > top or x != x:
                if top == top:  # once NaN, the maximum stays NaN
                    top = x
        for j in range(k):
            Z[i, j] = Z[i, j] - top


@_jit
def softmax_normalize(Z, zero):
    """``Z /= np.add.reduce(Z, axis=1, keepdims=True)`` (rows summed pairwise)."""
    n, k = Z.shape
    flat = Z.reshape(n * k)
    for i in range(n):
        total = pairwise(flat, i * k, k, 1, zero)
        for j in range(k):
            Z[i, j] = Z[i, j] / total


# ---- the output's loss terms and delta -------------------------------------------------

@_jit
def _zero_unless_nan(y):
    """``xlogy(0, y)``: 0, or NaN for a NaN `y`."""
    return 0.0 if y == y else y


@_jit
def log_loss(P, Y, T, low, high, one, binary, sw, weighted, D, sums, zero, at=None,
             means=None):
    """scikit-learn's log-loss terms for boolean targets Y into float64 `T`, and the delta.

    P is clipped to [low, high] in its dtype (``np.clip``); then ``xlogy(Y, P)``,
    plus ``xlogy(1 - Y, 1 - P)`` for the binary log-loss. scipy computes both in
    float64 for boolean and integer first arguments, with the C library's log as
    here, so T is float64 whatever P's dtype. `D` receives ``P - Y`` (times the
    sample weights `sw` if `weighted`) and `sums` its column sums, as
    :func:`output_delta`. Returns ``-np.add.reduce(T.mean(axis=0))``, the
    unweighted loss (the weighted one is numpy's average over T). `at` (int64, at
    least ``P.size``) and `means` (float64, ``n_outputs``) are work arrays, made here
    when not given (a loop of many calls passes its own).

    The log is taken only where xlogy takes it: LLVM would otherwise compute it
    for every entry and select (it may speculate a log), ten times the work
    for one-hot targets. So the first pass writes the zeros and the arguments,
    the second takes the log of the arguments at the entries it recorded.
    """
    n, k = P.shape
    flat = T.reshape(n * k)
    if at is None:
        logged = np.empty(n * k, np.int64)
    else:
        logged = at
    if means is None:
        column_means = np.empty(k)
    else:
        column_means = means
    m = 0
    sums[:] = zero
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            y = Y[i, j]
            d = p - (one if y else zero)
            if weighted:
                d = d * sw[i]
            D[i, j] = d
            sums[j] += d
            p = p if (p > low or p != p) else low  # np.maximum(P, low)
            p = p if (p < high or p != p) else high  # np.minimum(., high)
            if binary:  # one log per entry: of p where y, of 1 - p elsewhere
                q, other = (0.0 + p, 0.0 + (one - p)) if y else (0.0 + (one - p), 0.0 + p)
                T[i, j] = math.log(q) + _zero_unless_nan(other)
            elif y:
                T[i, j] = 0.0 + p
                logged[m] = i * k + j
                m += 1
            else:
                T[i, j] = _zero_unless_nan(0.0 + p)
    if k == 1:  # numpy sums a single column pairwise
        column_sums(D, sums, zero)
    for r in range(m):
        flat[logged[r]] = math.log(flat[logged[r]])
    column_sums(T, column_means, 0.0)
    for j in range(k):
        column_means[j] = column_means[j] / n  # numpy's mean: the sum over the count
    return -pairwise(column_means, 0, k, 1, 0.0)


@_jit
def output_delta(P, Y, sw, weighted, D, sums, zero):
    """``D = P - Y`` (times the sample weights), its column sums into `sums`."""
    n, k = P.shape
    sums[:] = zero
    for i in range(n):
        for j in range(k):
            d = P[i, j] - Y[i, j]
            if weighted:
                d = d * sw[i]
            D[i, j] = d
            sums[j] += d
    if k == 1:  # numpy sums a single column pairwise
        column_sums(D, sums, zero)


# ---- backward: derivative times delta, with the column sums -----------------------------
# Each loop adds a row's products into the sums as it writes them (the rows in order,
# as numpy's axis-0 sum); a single column is summed afterwards, pairwise.

@_jit
def relu_delta(A, D, sums, zero, one):
    """``D *= (A > 0)`` as numpy multiplies by the 1.0/0.0 mask; column sums into `sums`."""
    n, k = D.shape
    sums[:] = zero
    for i in range(n):
        for j in range(k):
            d = D[i, j] * (one if A[i, j] > zero else zero)
            D[i, j] = d
            sums[j] += d
    if k == 1:
        column_sums(D, sums, zero)


@_jit
def logistic_delta(A, D, sums, zero, one):
    """``D *= A; D *= 1 - A`` (scikit-learn's grouping); column sums into `sums`."""
    n, k = D.shape
    sums[:] = zero
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            d = (D[i, j] * a) * (one - a)
            D[i, j] = d
            sums[j] += d
    if k == 1:
        column_sums(D, sums, zero)


@_jit
def square_delta(A, D, sums, zero, top, scale, factor, lecun):
    """``D *= top - A*A`` (tanh: top 1; centred logistic: top 0.25), or LeCun's
    ``D *= (scale - A*A / scale) * factor``; column sums into `sums`."""
    n, k = D.shape
    sums[:] = zero
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            if lecun:
                slope = (scale - (a * a) / scale) * factor
            else:
                slope = top - a * a
            d = D[i, j] * slope
            D[i, j] = d
            sums[j] += d
    if k == 1:
        column_sums(D, sums, zero)


@_jit
def identity_delta(D, sums, zero):
    """The column sums of `D` (the identity's derivative is 1)."""
    column_sums(D, sums, zero)


# ---- the weight gradient's penalty and scale --------------------------------------------

@_jit
def shift(G, offset, sums):
    """``G += np.outer(offset, sums)``: each product rounded, then added."""
    n, k = G.shape
    for i in range(n):
        b = offset[i]
        for j in range(k):
            G[i, j] = G[i, j] + b * sums[j]


@_jit
def penalize(G, W, offset, sums, shifted, alpha, scale):
    """``G += np.outer(offset, sums)`` (if `shifted`); ``G += alpha * W; G /= scale``."""
    n, k = G.shape
    for i in range(n):
        for j in range(k):
            g = G[i, j]
            if shifted:
                g = g + offset[i] * sums[j]
            G[i, j] = (g + alpha * W[i, j]) / scale


@_jit
def center_columns(D, sums, products, shares, weighted, share, zero):
    """The backward path through a batch mean: ``D -= np.outer(shares, D.sum(axis=0))``
    (`weighted`: `shares` of D's dtype, each product rounded to it), else
    ``D -= np.full(1, share) * D.sum(axis=0)`` (`share` a float64, as are `products`:
    the subtraction is float64 arithmetic rounded once to D's dtype)."""
    column_sums(D, sums, zero)
    n, k = D.shape
    if weighted:
        for i in range(n):
            s = shares[i]
            for j in range(k):
                D[i, j] = D[i, j] - s * sums[j]
        return
    for j in range(k):
        products[j] = share * sums[j]
    for i in range(n):
        for j in range(k):
            D[i, j] = D[i, j] - products[j]


# ---- gradient centralization --------------------------------------------------------------

@_jit
def _column_means(A, means, count, zero):
    """``A.mean(axis=0)`` into `means`: numpy's column sums, each divided by the row
    count in float64 (``true_divide`` by an intp) and rounded to `means`' dtype."""
    column_sums(A, means, zero)
    for j in range(means.shape[0]):
        means[j] = means[j] / count


@_jit
def centralize(G, means, count, zero):
    """``G -= G.mean(axis=0)`` (`means`: scratch of one row, `count`: G's rows as a float64)."""
    _column_means(G, means, count, zero)
    n, k = G.shape
    for i in range(n):
        for j in range(k):
            G[i, j] = G[i, j] - means[j]


@_jit
def centered_penalize(G, W, means, alpha, scale, count, zero):
    """``G += alpha * W; G -= alpha * W.mean(axis=0); G /= scale`` (`means`: scratch)."""
    _column_means(W, means, count, zero)
    n, k = G.shape
    for j in range(k):
        means[j] = alpha * means[j]
    for i in range(n):
        for j in range(k):
            G[i, j] = ((G[i, j] + alpha * W[i, j]) - means[j]) / scale
