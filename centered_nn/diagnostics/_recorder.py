"""The recorder behind ``gradient_sign_history_``: per-iteration means of the metrics.

Written for the training loop's hot path: rows whose statistics recur every
epoch can be summarised once with :class:`~._functions.InputSignStats`, and
one-row steps whose gradient is a plain matrix product can be kept and
summarised many at a time (``observe(..., product=True)``, see
:mod:`._kept_steps`, released at each ``end_iteration``).
"""

import math

import numpy as np

from ._kept_steps import KeptSteps
from ._sign_stats import (
    _ratio,
    _one_row_values,
    _input_stats,
    _rows_vary,
    _effective,
    _delta_rows,
    _sample_fraction,
    _as_columns,
    _grad_stats,
    _flip_fraction,
)


def check_metrics(metrics):
    """Selected metric names, in the canonical order of ``GradientSignRecorder.METRICS``."""
    valid = GradientSignRecorder.METRICS
    if metrics is None:
        return valid
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        problem = f"Unknown gradient-sign metric(s) {unknown}" if unknown else "No metric named"
        raise ValueError(f"{problem}; valid names are: {', '.join(valid)}.")
    return tuple(name for name in valid if name in names)


class GradientSignRecorder:
    """Record per-iteration means of the gradient-sign diagnostics.

    Parameters
    ----------
    n_layers : int
        Number of weight matrices.
    history : dict, default=None
        Existing history (metric -> array of shape (n_records, n_layers)) to
        append to, e.g. when warm starting. It must hold every recorded metric;
        other keys are ignored.
    metrics : str or list of str, default=None
        Names from :attr:`METRICS` to record; None records all of them. Metrics
        not recorded are not computed, and :attr:`history` holds only these.

    Attributes
    ----------
    metrics : tuple of str
        The recorded metrics, in the order of :attr:`METRICS`.

    Notes
    -----
    For gradient-centralized updates (``observe(..., centred_rows=True)`` with
    the centred ``grad``, as the estimators pass with
    ``gradient_centralization=True``) ``same_sign_fraction`` and
    ``sample_same_sign_fraction`` are 0 by construction wherever they are
    defined: each centred gradient column and each centred per-sample row sums
    to zero, so its nonzero entries have both signs. All-zero columns and rows
    are not counted (NaN when nothing else is left, as for fan_in 1).

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
    >>> only = GradientSignRecorder(n_layers=1, metrics=["input_mean"])
    >>> only.observe(0, X, D, X.T @ D)
    >>> only.end_iteration()
    >>> only.history
    {'input_mean': array([[1.5]])}
    """

    #: Names of the recorded metrics, the keys of :attr:`history`.
    METRICS = ("same_sign_fraction", "sample_same_sign_fraction",
               "sign_flip_fraction", "input_mean", "positive_input_fraction")

    #: Steps of one weight matrix kept by ``observe(..., product=True)`` before
    #: they are summarised together. A summary costs a fixed ~60 µs, so more
    #: rows cost less per step (the digits batch-size-one fit's diagnostics:
    #: ~27% at 16 rows, ~17% at 32), but at 32 rows the buffers raised the
    #: peak memory of the digits batch-size-one regressor fit (140 KB) above
    #: scikit-learn's, by 12 KB.
    PENDING_ROWS = 16

    def __init__(self, n_layers, history=None, metrics=None):
        self.n_layers = int(n_layers)
        self.metrics = check_metrics(metrics)
        self._columns = [self.METRICS.index(m) for m in self.metrics]
        self._records = []
        if history is not None:
            missing = [m for m in self.metrics if m not in history]
            if missing:
                raise ValueError(f"history lacks the recorded metric(s) {missing}")
            arrays = [np.asarray(history[m], dtype=np.float64) for m in self.metrics]
            shape = arrays[0].shape
            if any(a.shape != shape for a in arrays) or len(shape) != 2 \
                    or shape[1] != self.n_layers:
                raise ValueError("history arrays must all have shape "
                                 f"(n_records, {self.n_layers})")
            self._records = list(np.stack(arrays, axis=1))
        self._committed_signs = [None] * self.n_layers
        self._pending = [None] * self.n_layers
        self.discard_steps()

    def _add_values(self, layer, values):
        """Add one step's values to the running sums (NaN skipped), in step order."""
        sums, counts = self._sums[layer], self._counts[layer]
        for k, v in enumerate(values):
            if v == v:
                sums[k] += v
                counts[k] += 1

    def observe(self, layer, inputs, delta, grad, offset=None, input_stats=None,
                centred_rows=False, product=False):
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
        input_stats : InputSignStats, default=None
            Precomputed statistics of exactly this minibatch's effective input
            (``InputSignStats(X_train, b).take(rows)``); ``inputs`` and ``offset``
            are then read only for ``input_mean``'s sum. Every recorded value is
            the same as without it.
        centred_rows : bool, default=False
            The update is gradient-centralized: the per-sample gradient of unit
            j is ``delta[s, j] * (e_s - mean(e_s))``, so the per-sample fraction
            is taken over those centred rows (a row that is not constant then
            always has both signs; a constant row is all zero and not counted).
            ``grad`` is then the centred gradient; the input metrics still
            describe ``e`` itself.
        product : bool, default=False
            The caller promises that ``grad`` is exactly ``inputs.T @ delta``,
            computed by one matrix product (no offset, not centred). A one-row
            step of dense float32/float64 arrays is then not summarised at once:
            the row and its delta are copied (the caller may overwrite its
            arrays, and ``grad`` is not read) and up to :attr:`PENDING_ROWS`
            such steps are summarised together (at the latest by
            :meth:`end_iteration`, the next other step of this layer or
            pickling), the values exactly those of the step-by-step
            computation. This holds ``PENDING_ROWS * (fan_in + fan_out)``
            values per layer. Any other step is recorded at once.
        """
        if product and offset is None and not centred_rows:
            pending = self._pending[layer]
            if not (pending is not None and type(inputs) is np.ndarray
                    and type(delta) is np.ndarray and inputs.shape == pending.a_shape
                    and delta.shape == pending.d_shape and inputs.dtype is pending.dtype
                    and delta.dtype is pending.dtype):  # else a new buffer, if the step fits
                pending = None
                if KeptSteps.fits(inputs, delta, grad):
                    self._flush(layer)
                    pending = KeptSteps(inputs, delta, self.PENDING_ROWS)
                    self._pending[layer] = pending
            if pending is not None:
                n = pending.n + 1
                pending.A[n] = inputs
                pending.D[n] = delta
                pending.n = n
                if n == pending.size:
                    self._flush(layer)
                return
        self._flush(layer)
        self._add_values(layer, self._step_values(layer, inputs, delta, grad, offset,
                                                  input_stats, centred_rows))

    def _step_values(self, layer, inputs, delta, grad, offset=None, input_stats=None,
                     centred_rows=False):
        """The five values of one step (NaN where not recorded); updates the previous signs."""
        values = [math.nan] * 5
        metrics = self.metrics
        signed = False
        if "same_sign_fraction" in metrics or "sign_flip_fraction" in metrics:
            flip = "sign_flip_fraction" in metrics
            values[0], signed, sign = _grad_stats(_as_columns(grad), flip,
                                                  "same_sign_fraction" in metrics)
            if flip:
                values[2] = _flip_fraction(sign, self._prev_signs[layer])
                self._prev_signs[layer] = sign
        sample = "sample_same_sign_fraction" in metrics
        if sample and centred_rows:
            varies = _rows_vary(inputs, offset)
            centred_value = _sample_fraction(varies, varies, delta)
            sample = False
        if sample or "input_mean" in metrics or "positive_input_fraction" in metrics:
            if input_stats is None and type(inputs) is np.ndarray and inputs.ndim == 2 \
                    and inputs.shape[0] == 1:  # one sample: flags as Python booleans
                E = inputs if offset is None else _effective(inputs, offset)
                values[1], values[3], values[4] = _one_row_values(E, delta, sample)
            else:
                # with an offset, rounding can leave G nonzero: no shortcut
                shortcut = signed and offset is None
                if input_stats is None:
                    stats = _input_stats(inputs, offset, rows=sample,
                                         unless_nonnegative=sample and shortcut)
                else:
                    stats = input_stats._batch(inputs, offset, rows=sample)
                row_pos, row_neg, n_positive, total, size = stats
                if sample and row_pos is None:
                    # no row has both signs, and as G = aᵀ delta has a nonzero entry
                    # some counted row has a nonzero delta: the fraction is 1
                    _delta_rows(delta, inputs.shape[0])  # the check _sample_fraction makes
                    values[1] = 1.0
                elif sample:
                    values[1] = _sample_fraction(row_pos, row_neg, delta, shortcut)
                values[3], values[4] = _ratio(total, size), _ratio(n_positive, size)
        if centred_rows and "sample_same_sign_fraction" in metrics:
            values[1] = centred_value
        return values

    def _flush(self, layer):
        """Add the kept one-row steps of ``layer`` to the running sums, in step order."""
        kept = self._pending[layer]
        if kept is None or kept.n == 0:
            return
        want = [name in self.metrics for name in self.METRICS]
        k, m = kept.n, kept.m
        values, exact, signs, steps = kept.summarise(want)
        flip = want[2]
        # step by step: a first step not following row 0, steps without exact signs
        # and the steps after them
        follows_row0 = kept.row0 is not None and kept.row0 is self._prev_signs[layer]
        special = set() if follows_row0 else {0}
        if not exact.all():
            for t in np.flatnonzero(~exact).tolist():
                special.update((t, t + 1))
        full = {-1: self._prev_signs[layer]}  # full sign matrices where needed

        def full_sign(t):
            if t not in full:
                full[t] = np.multiply.outer(signs[t + 1, :m], signs[t + 1, m:])
            return full[t]

        for t in sorted(special):
            if t == k:
                break
            if exact[t]:
                if flip:
                    values[2, t + 1] = _flip_fraction(full_sign(t), full_sign(t - 1))
                continue
            if flip:
                self._prev_signs[layer] = full_sign(t - 1)
            a, d = steps[t:t + 1, :m].copy(), steps[t:t + 1, m:].copy()
            with np.errstate(all="ignore"):
                grad = a.T @ d  # bitwise the caller's one-row product
            values[:, t + 1] = self._step_values(layer, a, d, grad)
            full[t] = self._prev_signs[layer]
        if flip:
            self._prev_signs[layer] = last = full_sign(k - 1)
            kept.keep_last(last if exact[-1] else None)
        # the running sums in step order, as _add_values adds: accumulate is sequential, a
        # skipped NaN adds +0.0, which leaves any sum as it is (a sum is never -0.0)
        columns, sums, counts = self._columns, self._sums[layer], self._counts[layer]
        chosen = values[columns]
        skip = np.isnan(chosen)
        chosen[skip] = 0.0
        chosen[:, 0] = [sums[j] for j in columns]
        totals = np.add.accumulate(chosen, axis=1)[:, -1].tolist()
        for j, total, n_skipped in zip(columns, totals, np.add.reduce(skip, axis=1).tolist()):
            sums[j] = total
            counts[j] += k + 1 - n_skipped  # column 0 (NaN in values) counted as skipped

    def __getstate__(self):
        for layer in range(self.n_layers):
            self._flush(layer)
        state = self.__dict__.copy()
        state["_pending"] = [None] * self.n_layers
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_pending" not in state:  # pickled before steps were kept
            self._pending = [None] * self.n_layers

    def end_iteration(self):
        """Append the NaN-ignoring mean of the pending steps as one record.

        A metric with no non-NaN step value in the iteration records NaN. The
        signs of the last observed gradients become those the next iteration's
        first flip is compared with.
        """
        record = np.full((len(self.METRICS), self.n_layers), np.nan)
        for layer in range(self.n_layers):
            self._flush(layer)
            for k, (total, count) in enumerate(zip(self._sums[layer], self._counts[layer])):
                if count:
                    record[k, layer] = total / count
        self._records.append(record[self._columns])
        self._committed_signs = list(self._prev_signs)  # never written to: fresh arrays
        self._pending = [None] * self.n_layers  # no memory held between iterations
        self.discard_steps()

    def discard_steps(self):
        """Forget the steps observed since the last ``end_iteration``.

        The previous-step signs used by the next flip fraction are reset to
        those of the last recorded iteration, so a discarded step (an L-BFGS
        line-search trial) is compared with nothing.
        """
        self._prev_signs = list(self._committed_signs)
        for pending in self._pending:
            if pending is not None:
                pending.n = 0
        self._sums = [[0.0] * 5 for _ in range(self.n_layers)]
        self._counts = [[0] * 5 for _ in range(self.n_layers)]

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
        """dict: metric -> float array of shape (n_records, n_layers), for the recorded metrics."""
        if self._records:
            stacked = np.stack(self._records)
        else:
            stacked = np.empty((0, len(self.metrics), self.n_layers))
        return {m: np.ascontiguousarray(stacked[:, k, :]) for k, m in enumerate(self.metrics)}
