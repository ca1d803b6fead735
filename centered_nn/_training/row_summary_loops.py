"""The summary of one-row steps that a compiled ``batch_size=1`` epoch hands its observers.

A one-row step's weight gradient is the outer product ``aᵀd`` of the layer's
input row and delta row, each entry one rounded product; unless a product rounds
to zero or an entry is not finite, its signs are ``sign(a) ⊗ sign(d)``, so its
sign statistics follow from the two rows' signs (the recorder's kept steps use
the same facts in numpy, :mod:`centered_nn.diagnostics._kept_steps`). These
loops compute, per layer and step, the rows' sign counts, the input row's sum
(numpy's pairwise order) and the flip fraction against the step before, inlined
into :func:`.row_epoch_loops.run_rows`. Integer counts only in the hot loops, so
they vectorise; no fastmath.
"""

import math

import numpy as np

from .._compiled import jit
from .._network import fused_loops as fl

_inline = jit(nogil=True, fastmath=False, error_model="numpy", inline="always")

_LARGEST = np.finfo(np.float64).max


@_inline
def signs_and_counts(x, signs, previous, first, counts, layer, t, h, small):
    """Signs of `x` into `signs`, their counts into ``counts[:, t, h]``; returns the
    smallest nonzero magnitude (or `small` when none is smaller), whether every
    entry is finite, and the sum and the count of the nonzero products with
    `previous`. Integer counts only, so the loop vectorises."""
    pos = neg = net = both = finite = tiny = 0
    n = x.shape[0]
    for i in range(n):
        v = x[i]
        up, down = np.int64(v > 0.0), np.int64(v < 0.0)
        s = up - down
        at = first + np.uint64(i)  # unsigned: no wraparound test, so the loop vectorises
        signs[at] = s
        pos += up
        neg += down
        magnitude = abs(v)
        finite += np.int64(magnitude <= _LARGEST)  # not for inf or NaN
        tiny += np.int64(magnitude < small) & (up | down)
        p = s * np.int64(previous[at])
        net += p
        both += p * p
    counts[layer, 0, t, h], counts[layer, 1, t, h] = pos, neg
    smallest = small
    if tiny:  # a rare second pass: the exact smallest nonzero magnitude
        for i in range(n):
            if x[i] != 0.0 and abs(x[i]) < smallest:
                smallest = abs(x[i])
    return smallest, finite == n, net, both


@_inline
def summarise_step(a, d, signs, previous, first, known, counts, layer, t, sums, flips, tiny,
                   small):
    """One layer's one-row step: sign counts, input sum, flip fraction; whether exact.

    `signs` receives ``[sign(a) | sign(d)]``; `previous` holds the step before's
    (its gradient's signs if `known`). The step is exact when its gradient
    ``outer(a, d)`` has the signs ``sign(a) ⊗ sign(d)``: every entry finite and
    the smallest nonzero product ``min|a| min|d|`` at least the smallest normal
    float64 `tiny` (rounding is monotone; `small`, with ``small² >= tiny``, spares
    finding the smallest when no magnitude is below it). Writes ``counts[:, t, :]`` (> 0 and
    < 0 entries of a and d), ``sums[t]`` (a's sum, pairwise as numpy's) and
    ``flips[t]`` (the fraction of entries nonzero in both steps' gradients whose
    signs differ; NaN if none, or unknown). With p (q) the products of the two
    steps' signs of a (d), the gradients' sign products are ``p ⊗ q``: of the
    ``Σ|p| Σ|q|`` entries nonzero in both, ``(Σ|p| Σ|q| - Σp Σq) / 2`` differ.
    """
    m = a.shape[0]
    first = np.uint64(first)
    a_min, a_finite, net_a, both_a = signs_and_counts(a, signs, previous, first, counts, layer,
                                                      t, 0, small)
    d_min, d_finite, net_d, both_d = signs_and_counts(d, signs, previous, first + np.uint64(m),
                                                      counts, layer, t, 1, small)
    sums[layer, t] = fl.pairwise(a, 0, m, 1, 0.0)
    exact = a_finite and d_finite and a_min * d_min >= tiny
    both = both_a * both_d
    flips[layer, t] = (both - net_a * net_d) / (2 * both) if known and exact and both > 0 \
        else math.nan
    return exact
