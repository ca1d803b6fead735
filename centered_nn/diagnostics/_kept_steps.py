"""One-row update steps kept and summarised together: the recorder's batch-size-one path.

At one sample per step the per-step summaries of :mod:`centered_nn.diagnostics`
cost a few dozen numpy calls on tiny arrays. A step whose gradient is the one
matrix product ``G = aᵀd`` of an input row a and a delta row d has
``sign(G) = sign(a) ⊗ sign(d)`` (each entry is one rounded product) unless a
product rounds to zero or an entry is not finite, so its statistics follow from
the two rows' sign counts. :class:`KeptSteps` copies such rows and computes
those counts for many steps at once; the recorder computes the few other steps
the step-by-step way, so every value is exactly the one computed step by step.
"""

import math

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class KeptSteps:
    """One weight matrix's one-row steps, copied to be summarised together.

    Parameters
    ----------
    a, d : ndarray of shape (1, fan_in), (1, fan_out)
        A first step's input and delta rows: their shapes and dtype.
    size : int
        Number of steps kept before they must be summarised.

    Notes
    -----
    Row ``t + 1`` of ``B`` holds step t's input row a and delta row d side by
    side, ``[a | d]``; row 0 holds the step before the first (when ``row0`` is
    the sign matrix it gave), so that its flip fraction is computed with the
    others. A one-row gradient is the outer product ``aᵀd``, each entry one
    rounded product, so ``sign(G) = sign(a) ⊗ sign(d)`` unless a product
    rounds to zero or an entry is not finite (see :func:`_exact_sign_rows`).
    """

    __slots__ = ("B", "A", "D", "a_shape", "d_shape", "dtype", "m", "size", "n", "last",
                 "small", "tiny", "row0", "count_dtype")

    def __init__(self, a, d, size):
        """Empty buffers for `size` steps shaped like the step ``(a, d)``."""
        m = a.shape[1]
        self.B = np.zeros((size + 1, m + d.shape[1]), a.dtype)
        self.A, self.D = self.B[:, :m], self.B[:, m:]  # A[t] = a copies a (1, m) row
        self.a_shape, self.d_shape, self.dtype, self.m = a.shape, d.shape, a.dtype, m
        self.size, self.n, self.last, self.row0 = size, 0, 0, None
        # nonzero entries all at least `small`: every product at least `tiny`
        self.tiny = float(np.finfo(a.dtype).tiny)
        small = a.dtype.type(math.sqrt(self.tiny))
        while float(small) ** 2 < self.tiny:
            small = np.nextafter(small, a.dtype.type(1))
        self.small = small
        # sums of signs over a or d: in int8 when they fit, without an int64 copy
        width = max(m, d.shape[1])
        self.count_dtype = np.dtype(np.int8 if width < 128 else np.int16 if width < 2**15
                                    else np.intp)

    @staticmethod
    def fits(a, d, grad):
        """Whether the step (a, d, G = aᵀd) can be kept: one dense float row each."""
        return (type(a) is np.ndarray and type(d) is np.ndarray and a.ndim == d.ndim == 2
                and a.shape[0] == d.shape[0] == 1 and a.shape[1] > 0 and d.shape[1] > 0
                and a.dtype == d.dtype and a.dtype in FLOATS
                and np.shape(grad) == (a.shape[1], d.shape[1]))

    def accepts(self, a, d):
        """Whether the step ``(a, d)`` has the shapes and dtype of the kept ones."""
        return (type(a) is np.ndarray and type(d) is np.ndarray and a.shape == self.a_shape
                and d.shape == self.d_shape and a.dtype is self.dtype and d.dtype is self.dtype)

    def append(self, a, d):
        """Copy the rows of one more step (one it :meth:`accepts`, while not :attr:`full`)."""
        n = self.n + 1
        self.A[n] = a
        self.D[n] = d
        self.n = n

    def append_rows(self, A, D):
        """Copy the rows of as many further steps ``(A[t], D[t])`` as there is room for;
        returns how many were taken (rows of the kept shapes and dtype)."""
        n, take = self.n, min(self.size - self.n, A.shape[0])
        self.A[n + 1:n + 1 + take] = A[:take]
        self.D[n + 1:n + 1 + take] = D[:take]
        self.n = n + take
        return take

    @property
    def full(self):
        """Whether `size` steps are kept: they must be summarised before the next."""
        return self.n == self.size

    def __len__(self):
        """Number of steps kept since the last summary."""
        return self.n

    def clear(self):
        """Forget the kept steps (not summarised)."""
        self.n = 0

    def summarise(self, flips=False):
        """The kept steps' statistics, computed together; the steps are then released.

        Parameters
        ----------
        flips : bool, default=False
            Also compute each step's flip fraction against the step before
            (row 0's for the first).

        Returns
        -------
        summary : KeptSummary
            Per-step statistics, which the metrics' ``kept_values`` read. Only
            steps flagged ``exact`` (and the flips of steps following one) are
            right; the others are the caller's to compute step by step.
        exact : ndarray of bool, shape (n,)
            Steps whose gradient has the signs ``sign(a) ⊗ sign(d)``.
        signs : ndarray of int8, shape (n + 1, fan_in + fan_out)
            The signs of row 0 and of the kept rows ``[a | d]``.
        steps : ndarray of shape (n, fan_in + fan_out)
            The kept rows (a view, valid until the next step is kept).
        """
        k, m = self.n, self.m
        self.n, self.last = 0, k
        B = self.B[:k + 1]
        steps = B[1:]
        scratch = np.empty((2, *B.shape), dtype=np.int8)  # masks, then flags
        masks = scratch.view(bool)
        np.greater(B, 0, out=masks[0])
        np.less(B, 0, out=masks[1])
        signs = scratch[0] - scratch[1]
        # counts[s, t, h]: entries > 0 (s = 0) or < 0 (s = 1) in step t's a (h = 0) or d (h = 1)
        counts = np.add.reduceat(scratch[:, 1:], [0, m], axis=2, dtype=self.count_dtype
                                 ).astype(np.intp)
        exact = _exact_sign_rows(self, steps, signs[1:], int(counts.sum()), masks[:, 1:])
        del scratch, masks
        summary = KeptSummary(steps[:, :m], counts, m)
        if flips:
            summary.flips = _consecutive_flips(signs, m, self.count_dtype)
        return summary, exact, signs, steps

    def keep_last(self, signs):
        """Keep the last summarised step as row 0, the step before the next ones.

        ``signs`` is its gradient's sign matrix when that is ``sign(a) ⊗ sign(d)``
        (the recorder's previous signs while they are this very object), else None.
        """
        self.row0 = signs
        self.B[0] = self.B[self.last]


class KeptSummary:
    """Statistics of kept one-row steps (one entry per step), read by ``kept_values``.

    Attributes
    ----------
    fan_in : int
    same_sign : ndarray of float, shape (n,)
        1.0 where the input row is single-signed, 0.0 where it has both signs,
        NaN where the row or the delta row is all zero: each column ``d_j a`` of
        G, and each counted (sample, unit) pair's gradient, has the row's signs.
    n_positive, n_nonzero : ndarray of int, shape (n,)
        Entries of the input row that are > 0, and that are > 0 or < 0.
    input_sums : ndarray of float64, shape (n,)
        The float64 sum of each input row (computed when first read).
    flips : ndarray of float, shape (n,) or None
        Flip fractions against the step before, if asked for.
    """

    def __init__(self, rows, counts, fan_in, input_sums=None, flips=None):
        self._rows, self.fan_in, self.flips = rows, fan_in, flips
        self._input_sums = input_sums
        has = counts > 0
        a_pos, a_neg = has[0, :, 0], has[1, :, 0]
        counted = (a_pos | a_neg) & (has[0, :, 1] | has[1, :, 1])
        self.same_sign = np.where(counted, a_pos != a_neg, np.nan)
        self.n_positive = counts[0, :, 0]
        self.n_nonzero = counts[0, :, 0] + counts[1, :, 0]

    @property
    def input_sums(self):
        # the float64 sum of each row, bitwise its own
        if self._input_sums is None:
            self._input_sums = np.add.reduce(self._rows, axis=1, dtype=np.float64)
        return self._input_sums


def _exact_sign_rows(kept, steps, signs, n_nonzero, scratch):
    """Flags of the kept steps whose gradient ``aᵀd`` has the signs ``sign(a) ⊗ sign(d)``.

    That holds when every entry is finite and the smallest nonzero product
    ``min|a| min|d|`` (exact in float64 for float32 rows) is at least the dtype's
    smallest normal number: rounding is monotone, so no product rounds to
    zero. ``steps`` are the rows ``[a | d]``, ``signs`` their int8 signs,
    ``n_nonzero`` the number of entries > 0 or < 0 and ``scratch`` two boolean
    arrays of their shape to write into.
    """
    k, m = steps.shape[0], kept.m
    if math.isfinite(np.add.reduce(steps, axis=None, dtype=np.float64)):
        exact = np.ones(k, dtype=bool)
    else:
        exact = np.logical_and.reduce(np.isfinite(steps), axis=1)
    # entries below `small` in magnitude are the zeros alone: the common case, one count
    small = np.less(steps, kept.small, out=scratch[0])
    small &= np.greater(steps, -kept.small, out=scratch[1])
    if np.count_nonzero(small) + n_nonzero != steps.size:
        magnitude = np.where(signs != 0, np.abs(steps), np.inf)
        a_min = np.minimum.reduce(magnitude[:, :m], axis=1).astype(np.float64)
        exact &= a_min * np.minimum.reduce(magnitude[:, m:], axis=1) >= kept.tiny
    return exact


def _consecutive_flips(signs, m, count_dtype):
    """Flip fraction of each step against the step before, from the rows ``[a | d]``' signs.

    For one-row steps with exact signs, ``sign(G_t) sign(G_t-1) = p ⊗ q`` with
    p (q) the product of the consecutive a (d) rows' signs: of the entries
    nonzero in both, those of ``p+ ⊗ q-`` and ``p- ⊗ q+`` differ. Row t + 1 of
    ``signs`` is step t; the result holds one fraction per step (NaN if none).
    """
    p = np.empty((2, signs.shape[0] - 1, signs.shape[1]), dtype=np.int8)
    np.multiply(signs[1:], signs[:-1], out=p[0])
    np.abs(p[0], out=p[1])
    # [net_a net_d, nonzero_a nonzero_d] per step, net = p+ - p-, nonzero = p+ + p-
    net, both = np.multiply.reduce(np.add.reduceat(p, [0, m], axis=2, dtype=count_dtype),
                                   axis=2, dtype=np.intp)
    differ = both - net  # = 2 (p+ q- + p- q+)
    return np.divide(differ, 2 * both, out=np.full(both.shape, np.nan), where=both > 0)
