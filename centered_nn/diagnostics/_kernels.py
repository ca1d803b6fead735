"""Optional compiled sign statistics (numba): one pass over a step's gradient, one over its input.

The numpy statistics of :mod:`._sign_stats` take a dozen passes and temporaries
per step (masks, the effective input ``E = A + b``, centred rows); on the
minibatch sizes of a fit their per-call overhead is most of the history's cost.
:func:`step_stats` computes the same counts in one compiled call, one pass over
each array:

- the gradient's signs (written out for the next step's flip fraction), its
  columns' sign flags and the flips against the previous signs;
- the effective input's positive count and float64 sum, and the per-sample
  fraction's counts (rows holding a positive or a negative entry, or for
  gradient centralization rows that are not constant, weighted by their
  nonzero deltas), without forming E.

The counts are exact: ``a + b`` is rounded in the dtype numpy's ``A + b`` gives,
and its sign is that of the exact sum. The sum is taken in float64 in its own
order (down the columns, in blocks of rows), so it differs from numpy's pairwise
``E.sum(dtype=np.float64)`` by rounding only (the history's ``input_mean``
precision: 1e-12 relative for float64 inputs, 1e-6 for float32).

numba is optional (the extra ``speed``); one switch, :func:`..._compiled.enabled`,
decides for every compiled kernel of the package. The loops live in
:mod:`._kernel_loops` (module-level functions, so that numba's on-disk cache
serves later processes), imported on the first call that can use them, not with
the package; they compile on their first call for each dtype and layout, and
later processes only load them. Without numba, with ``CENTERED_NN_NUMBA=0`` in
the environment, or with ``_compiled.ENABLED`` set to False, :func:`available`
is False and the recorder takes the numpy path.
"""

import numpy as np

from .. import _compiled

#: How :func:`step_stats` reads the rows for the per-sample fraction.
NO_ROWS, SIGN_ROWS, VARYING_ROWS = 0, 1, 2

#: The compiled forms of the metrics' ``kept_values`` (a metric's ``kept_code``): the
#: value of one exact one-row step from its :class:`~._kept_steps.KeptSummary` entries.
KEPT_CODES = {
    "SINGLE_SIGNED": 0,  # summary.same_sign
    "FLIPS": 1,  # summary.flips
    "INPUT_MEAN": 2,  # summary.input_sums / summary.fan_in
    "POSITIVE_INPUTS": 3,  # summary.n_positive / summary.fan_in
    "NONZERO_FAN_IN": 4,  # fan_in where summary.n_nonzero > 0, else NaN
}

_loops = None  # the module of compiled loops, imported on first use
#: An empty offset of each dtype the kernels take (never read), keyed by the native
#: float32 and float64 dtypes (a byte-swapped dtype is not a key).
_NO_OFFSET = {np.dtype(t): np.zeros(0, t) for t in (np.float32, np.float64)}


def available():
    """True when the compiled statistics may be used (see :func:`..._compiled.enabled`)."""
    return _compiled.enabled()


def accepts(inputs, delta, grad, offset):
    """Whether one step's arrays suit the kernels: dense 2-D floats of matching shapes.

    Floats are float32 or float64 in native byte order (see
    :func:`..._compiled.native_floats`), each array's own. ``grad`` None: whether
    the other arrays do (a gradient of ``(fan_in, n_outputs)`` floats then would).
    """
    # checked at every step: plain comparisons, in the order that fails soonest
    if type(inputs) is not np.ndarray or type(delta) is not np.ndarray \
            or inputs.ndim != 2 or delta.ndim != 2 or inputs.dtype not in _NO_OFFSET \
            or delta.dtype not in _NO_OFFSET or delta.shape[0] != inputs.shape[0]:
        return False
    if grad is not None and (type(grad) is not np.ndarray or grad.ndim != 2
                             or grad.dtype not in _NO_OFFSET
                             or grad.shape[0] != inputs.shape[1]):
        return False
    return offset is None or (type(offset) is np.ndarray and offset.ndim == 1
                              and offset.shape[0] == inputs.shape[1]
                              and offset.dtype in _NO_OFFSET)


def step_stats(G, previous, A, offset, D, rows, penalty=None):
    """The sign statistics of one step's gradient G and input A in one compiled call.

    Parameters
    ----------
    G : ndarray of float32 or float64, shape (fan_in, fan_out)
        The weight gradient.
    previous : ndarray of int8 or None
        The previous step's signs; flips are counted when it has G's shape.
    A : ndarray of float32 or float64, shape (n_samples, fan_in)
        The layer's input; the effective input is ``E = A + offset``.
    offset : ndarray of shape (fan_in,) or None
    D : ndarray of shape (n_samples, fan_out)
        The deltas, read for the rows counted (``rows`` not :data:`NO_ROWS`).
    rows : {NO_ROWS, SIGN_ROWS, VARYING_ROWS}
        Count no rows; rows of E with an entry > 0 or < 0 (the per-sample
        fraction's numerator from the single-signed ones); or rows that are not
        constant and hold no NaN (gradient centralization: numerator 0).
    penalty : tuple, optional
        ``(coef, shift_offset, sums, alpha, scale)``, the rest of what
        ``BackwardStep.take_penalty`` hands over: G (plus ``np.outer(shift_offset,
        sums)`` unless `shift_offset` is None) is the data term the counts describe,
        and G is then made the weight gradient in place in the same pass.

    Returns
    -------
    counts : tuple of int and float
        ``(n_signed, n_single, n_both, n_differ, n_positive, total, num, den)``:
        columns of G with an entry > 0 or < 0; of those, columns of one sign;
        entries nonzero in G and in ``previous``; of those, entries whose sign
        differs; positive entries of E; the float64 sum of E; nonzero deltas of
        the single-signed counted rows and of all counted rows.
    signs : ndarray of int8
        ``sign(G)`` (a new array).
    """
    signs, common, penalty = _arguments(G, previous, A, offset, D, rows, penalty)
    if penalty is None:
        return _kernels().step_kernel(*common), signs
    return _kernels().penalty_step_kernel(*common, *penalty), signs


def _arguments(G, previous, A, offset, D, rows, penalty):
    """``(signs, the kernels' common arguments, the penalty's or None)`` of one step."""
    signs = np.empty(G.shape, dtype=np.int8)
    compare = previous is not None and previous.shape == G.shape
    if compare and not previous.flags.c_contiguous:  # the kernel reads it as one run
        previous = np.ascontiguousarray(previous)
    has_offset = offset is not None
    b = offset if has_offset else _NO_OFFSET[A.dtype]
    common = (G, previous if compare else signs, compare, signs, A, b, has_offset, D, rows)
    if penalty is not None:
        coef, shift_offset, sums, alpha, scale = penalty
        shifted = shift_offset is not None
        if not shifted:  # unread: any row of G stands in (as the network's penalty passes it)
            shift_offset = sums = G[0]
        penalty = (coef, shift_offset, sums, shifted, alpha, scale)
    return signs, common, penalty


def record_step(G, previous, A, offset, D, rows, ratios, run, penalty=None):
    """:func:`step_stats` of one step, its metrics' values added to running sums.

    Parameters
    ----------
    G, previous, A, offset, D, rows, penalty
        As for :func:`step_stats`.
    ratios : ndarray of int64, shape (n_metrics, 2)
        Row k is metric k's ``counts_ratio`` ``(a, b)``: its value is ``counts[a] /
        counts[b]``, with ``counts[8]`` the number of entries of A.
    run : ndarray of float64, shape (2, n_metrics)
        ``run[0, k]`` gets metric k's value added (in float64, as a Python float
        adds it) unless its denominator is 0 or the value NaN, ``run[1, k]`` then 1.

    Returns
    -------
    signs : ndarray of int8
        ``sign(G)`` (a new array; of the data term with a penalty).
    """
    signs, common, penalty = _arguments(G, previous, A, offset, D, rows, penalty)
    if penalty is None:
        _kernels().record_kernel(*common, ratios, run)
    else:
        _kernels().record_penalty_kernel(*common, ratios, run, *penalty)
    return signs


def _kernels():
    global _loops
    if _loops is None:
        from . import _kernel_loops  # compiles (or loads from the cache) on first call

        _loops = _kernel_loops
    return _loops


def add_kept_summaries(codes, counts, input_sums, flips, fans_in, sums, n_counted):
    """Add the values of summarised one-row steps to running sums, in step order.

    Parameters
    ----------
    codes : ndarray of int64
        The recorded metrics' ``kept_code``, one per metric.
    counts : ndarray of int, shape (n_layers, 2, n_steps, 2)
        Per weight matrix, the steps' sign counts as :class:`~._kept_steps.KeptSummary`
        takes them.
    input_sums, flips : ndarray of float64, shape (n_layers, n_steps)
    fans_in : ndarray of int, shape (n_layers,)
    sums : ndarray of float64, shape (n_layers, n_metrics)
        The running sums, updated: each step's non-NaN value added in turn, as the
        recorder adds a step's values.
    n_counted : ndarray of int64, shape (n_layers, n_metrics)
        The counts of the values added, updated.
    """
    _kernels().add_kept_summaries(codes, counts, input_sums, flips, fans_in, sums, n_counted)
