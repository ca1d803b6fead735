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

numba is optional (the extra ``speed``). The loops live in :mod:`._kernel_loops`
(module-level functions, so that numba's on-disk cache serves later processes),
imported on the first call that can use them, not with the package; they compile
on their first call for each dtype and layout and are cached (``cache=True``). Without numba,
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
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # native byte order only
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
            and inputs.dtype in _FLOATS and delta.dtype in _FLOATS and grad.dtype in _FLOATS
            and delta.shape[0] == inputs.shape[0] and grad.shape[0] == inputs.shape[1]
            and (offset is None or (type(offset) is np.ndarray and offset.ndim == 1
                                    and offset.shape[0] == inputs.shape[1]
                                    and offset.dtype in _FLOATS)))


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
    return (*kernels.grad_kernel(G, prev, compare, signs), signs)


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
    return kernels.input_kernel(A, offset if has_offset else _NO_OFFSET[A.dtype], has_offset, D,
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
    return kernels.step_kernel(G, previous if compare else signs, compare, signs, A,
                        offset if has_offset else _NO_OFFSET[A.dtype], has_offset, D,
                        rows), signs


def _compile():
    global _kernels
    if _kernels is None:
        try:
            from . import _kernel_loops
        except ImportError:  # numba is not installed
            _kernels = False
        else:
            _kernels = _kernel_loops
    return _kernels or None
