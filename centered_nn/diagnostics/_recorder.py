"""The recorder behind ``gradient_sign_history_``: per-iteration means of the metrics.

Written for the training loop's hot path: rows whose statistics recur every
epoch can be summarised once with :class:`~._functions.InputSignStats`, and
one-row steps whose gradient is a plain matrix product can be kept and
summarised many at a time (``observe(..., product=True)``, see
:mod:`._kept_steps`, released at each ``end_iteration``). Per-step values and
running sums are held by metric name (:mod:`._columns`).
"""

import math

import numpy as np

from . import _kernels
from ._columns import COLUMN, METRICS
from ._functions import InputSignStats
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
    n_weight_matrices : int
        Number of weight matrices.
    history : dict, default=None
        Existing history (metric -> array of shape (n_records, n_weight_matrices)) to
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
    For gradient-centralized updates (``observe(..., centered_rows=True)`` with
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
    >>> rec = GradientSignRecorder(n_weight_matrices=1)
    >>> X = np.array([[1., 2.]])
    >>> for D in ([[1., -1.]], [[-1., -1.]]):
    ...     D = np.array(D)
    ...     rec.observe(0, X, D, X.T @ D)
    >>> rec.end_iteration()
    >>> rec.history["sign_flip_fraction"]  # first step NaN, then 2 of 4
    array([[0.5]])
    >>> rec.history["same_sign_fraction"]
    array([[1.]])
    >>> only = GradientSignRecorder(n_weight_matrices=1, metrics=["input_mean"])
    >>> only.observe(0, X, D, X.T @ D)
    >>> only.end_iteration()
    >>> only.history
    {'input_mean': array([[1.5]])}
    """

    #: Names of the recorded metrics, the keys of :attr:`history`.
    METRICS = METRICS

    #: Steps of one weight matrix kept by ``observe(..., product=True)`` before
    #: they are summarised together. A summary costs a fixed ~60 µs, so more
    #: rows cost less per step (the digits batch-size-one fit's diagnostics:
    #: ~27% at 16 rows, ~17% at 32), but at 32 rows the buffers raised the
    #: peak memory of the digits batch-size-one regressor fit (140 KB) above
    #: scikit-learn's, by 12 KB.
    PENDING_ROWS = 16

    def __init__(self, n_weight_matrices, history=None, metrics=None):
        self.n_weight_matrices = int(n_weight_matrices)
        self.metrics = check_metrics(metrics)
        # metric -> one row of shape (n_weight_matrices,) per end_iteration
        self._records = {m: [] for m in self.metrics}
        if history is not None:
            missing = [m for m in self.metrics if m not in history]
            if missing:
                raise ValueError(f"history lacks the recorded metric(s) {missing}")
            arrays = {m: np.array(history[m], dtype=np.float64) for m in self.metrics}
            shape = arrays[self.metrics[0]].shape
            if any(a.shape != shape for a in arrays.values()) or len(shape) != 2 \
                    or shape[1] != self.n_weight_matrices:
                raise ValueError("history arrays must all have shape "
                                 f"(n_records, {self.n_weight_matrices})")
            self._records = {m: list(a) for m, a in arrays.items()}
        self._committed_signs = [None] * self.n_weight_matrices
        self._kept = [None] * self.n_weight_matrices
        self.discard_steps()

    def _add_values(self, layer, values):
        """Add one step's values (a dict by metric) to the running sums, NaN skipped."""
        sums, counts = self._sums[layer], self._counts[layer]
        for name in self.metrics:
            v = values[name]
            if v == v:
                sums[name] += v
                counts[name] += 1

    def row_statistics(self, X, offset=None):
        """Sign statistics of the rows of ``X + offset``, for steps that revisit them.

        A training loop that steps through the same rows every epoch computes
        them once; ``stats.take(rows)`` is then the ``input_stats`` of
        :meth:`observer` for a step over ``X[rows]``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, fan_in)
            The first layer's input over the whole training set.
        offset : ndarray of shape (fan_in,), default=None
            The first layer's offset, fixed while the statistics are used.

        Returns
        -------
        stats : InputSignStats

        Examples
        --------
        >>> import numpy as np
        >>> from centered_nn.diagnostics import GradientSignRecorder
        >>> rec = GradientSignRecorder(n_weight_matrices=1, metrics="positive_input_fraction")
        >>> X = np.array([[1., -2.], [3., 4.]])
        >>> stats = rec.row_statistics(X)
        >>> d = np.array([[1.]])
        >>> rec.observer(input_stats=stats.take(np.array([1])))(0, X[1:], d, X[1:].T @ d, None)
        >>> rec.end_iteration()
        >>> rec.history["positive_input_fraction"]
        array([[1.]])
        """
        return InputSignStats(X, offset)

    def observer(self, centered=False, input_stats=None):
        """The ``observe(layer, a, delta, grad, offset)`` callback of one training step.

        Bound for a backward pass (see :func:`centered_nn._network.network.backward`),
        whose data gradient is the plain product ``aᵀ delta`` for every layer
        without an offset when the step is not centred; such one-row steps are
        kept (see :meth:`observe`'s ``product``).

        Parameters
        ----------
        centered : bool, default=False
            The step is gradient-centralized (``centered_rows`` of :meth:`observe`).
        input_stats : InputSignStats, default=None
            The first layer's row statistics for exactly this step's rows; used
            for layer 0 only.

        Returns
        -------
        observe : callable
            ``observe(layer, a, delta, grad, offset)``, recording through
            :meth:`observe`.

        Examples
        --------
        >>> import numpy as np
        >>> from centered_nn.diagnostics import GradientSignRecorder
        >>> rec = GradientSignRecorder(n_weight_matrices=1, metrics="positive_input_fraction")
        >>> observe = rec.observer()
        >>> a, d = np.array([[1., -2.]]), np.array([[1.]])
        >>> observe(0, a, d, a.T @ d, None)
        >>> rec.end_iteration()
        >>> rec.history["positive_input_fraction"]
        array([[0.5]])
        """
        def observe(layer, a, delta, grad, offset):
            self.observe(layer, a, delta, grad, offset=offset,
                         input_stats=input_stats if layer == 0 else None,
                         centered_rows=centered, product=offset is None and not centered)
        return observe

    def observe(self, layer, inputs, delta, grad, offset=None, input_stats=None,
                centered_rows=False, product=False):
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
            The per-input offset b (the estimators' ``input_bias``, fitted as
            ``input_biases_``); the effective input is ``a + b``.
        input_stats : InputSignStats, default=None
            Precomputed statistics of exactly this minibatch's effective input
            (``InputSignStats(X_train, b).take(rows)``); ``inputs`` and ``offset``
            are then read only for ``input_mean``'s sum. Every recorded value is
            the same as without it.
        centered_rows : bool, default=False
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
        if product and offset is None and not centered_rows and self._keep(layer, inputs, delta,
                                                                          grad):
            return
        self._flush(layer)
        if _kernels.available() and _kernels.accepts(inputs, delta, grad, offset):
            if input_stats is not None:  # not read: the kernels count the rows themselves
                input_stats._check(inputs)
            self._compiled_step(layer, inputs, delta, grad, offset, centered_rows)
            return
        self._add_values(layer, self._step_values(layer, inputs, delta, grad, offset,
                                                  input_stats, centered_rows))

    def _keep(self, layer, a, delta, grad):
        """Keep a one-row product step to summarise later (see :meth:`observe`); whether kept."""
        kept = self._kept[layer]
        if kept is None or not kept.accepts(a, delta):
            if not KeptSteps.fits(a, delta, grad):
                return False
            self._flush(layer)
            kept = self._kept[layer] = KeptSteps(a, delta, self.PENDING_ROWS)
        kept.append(a, delta)
        if kept.full:
            self._flush(layer)
        return True

    def _step_values(self, layer, inputs, delta, grad, offset=None, input_stats=None,
                     centered_rows=False):
        """One step's value of every metric (NaN where not computed); updates the previous signs.

        Returns a dict: metric name -> value.
        """
        values = dict.fromkeys(METRICS, math.nan)
        metrics = self.metrics
        signed = False
        if "same_sign_fraction" in metrics or "sign_flip_fraction" in metrics:
            flip = "sign_flip_fraction" in metrics
            values["same_sign_fraction"], signed, sign = _grad_stats(
                _as_columns(grad), flip, "same_sign_fraction" in metrics)
            if flip:
                values["sign_flip_fraction"] = _flip_fraction(sign, self._prev_signs[layer])
                self._prev_signs[layer] = sign
        sample = "sample_same_sign_fraction" in metrics
        if sample and centered_rows:
            varies = _rows_vary(inputs, offset)
            centered_value = _sample_fraction(varies, varies, delta)
            sample = False
        if sample or "input_mean" in metrics or "positive_input_fraction" in metrics:
            if input_stats is None and type(inputs) is np.ndarray and inputs.ndim == 2 \
                    and inputs.shape[0] == 1:  # one sample: flags as Python booleans
                E = inputs if offset is None else _effective(inputs, offset)
                (values["sample_same_sign_fraction"], values["input_mean"],
                 values["positive_input_fraction"]) = _one_row_values(E, delta, sample)
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
                    values["sample_same_sign_fraction"] = 1.0
                elif sample:
                    values["sample_same_sign_fraction"] = _sample_fraction(row_pos, row_neg,
                                                                           delta, shortcut)
                values["input_mean"] = _ratio(total, size)
                values["positive_input_fraction"] = _ratio(n_positive, size)
        if centered_rows and "sample_same_sign_fraction" in metrics:
            values["sample_same_sign_fraction"] = centered_value
        return values

    def _compiled_step(self, layer, inputs, delta, grad, offset, centered_rows):
        """Record one step by the compiled kernels (see :mod:`._kernels`): one call
        computes every metric's counts; the values go straight to the running sums
        (a metric without a count, or with a NaN sum, is skipped, as NaN values are)."""
        metrics = self.metrics
        sample = "sample_same_sign_fraction" in metrics
        flip = "sign_flip_fraction" in metrics
        rows = (_kernels.NO_ROWS if not sample else
                _kernels.VARYING_ROWS if centered_rows else _kernels.SIGN_ROWS)
        counts, signs = _kernels.step_stats(grad, self._prev_signs[layer] if flip else None,
                                            inputs, offset, delta, rows)
        n_signed, n_single, n_both, n_differ, n_positive, total, num, den = counts
        sums, n_values = self._sums[layer], self._counts[layer]
        if n_signed and "same_sign_fraction" in metrics:
            sums["same_sign_fraction"] += n_single / n_signed
            n_values["same_sign_fraction"] += 1
        if sample and den:
            sums["sample_same_sign_fraction"] += num / den
            n_values["sample_same_sign_fraction"] += 1
        if flip:
            self._prev_signs[layer] = signs
            if n_both:
                sums["sign_flip_fraction"] += n_differ / n_both
                n_values["sign_flip_fraction"] += 1
        size = inputs.shape[0] * inputs.shape[1]
        if size and total == total and "input_mean" in metrics:
            sums["input_mean"] += total / size
            n_values["input_mean"] += 1
        if size and "positive_input_fraction" in metrics:
            sums["positive_input_fraction"] += n_positive / size
            n_values["positive_input_fraction"] += 1

    def _flush(self, layer):
        """Add the kept one-row steps of ``layer`` to the running sums, in step order."""
        kept = self._kept[layer]
        if kept is None or not len(kept):
            return
        values, exact, signs, steps = kept.summarise(self.metrics)
        self._step_by_step(layer, kept, values, exact, signs, steps)
        self._add_kept_values(layer, values)

    def _step_by_step(self, layer, kept, values, exact, signs, steps):
        """Complete the kept steps' ``values`` where the batched summary is not exact.

        Computed one by one: a first step not following row 0, steps without
        exact signs and the steps after them (their flip fraction). The previous
        signs then become the last step's.
        """
        k, m = len(exact), kept.m
        flip = "sign_flip_fraction" in self.metrics
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
                    values[t + 1, COLUMN["sign_flip_fraction"]] = _flip_fraction(
                        full_sign(t), full_sign(t - 1))
                continue
            if flip:
                self._prev_signs[layer] = full_sign(t - 1)
            a, d = steps[t:t + 1, :m].copy(), steps[t:t + 1, m:].copy()
            with np.errstate(all="ignore"):
                grad = a.T @ d  # bitwise the caller's one-row product
            step = self._step_values(layer, a, d, grad)
            values[t + 1] = [step[name] for name in METRICS]
            full[t] = self._prev_signs[layer]
        if flip:
            self._prev_signs[layer] = last = full_sign(k - 1)
            kept.keep_last(last if exact[-1] else None)

    def _add_kept_values(self, layer, values):
        """Add the kept steps' ``values`` (row t + 1: step t) to the running sums.

        In step order, as :meth:`_add_values` adds: accumulate is sequential, and
        a skipped NaN adds +0.0, which leaves any sum as it is (a sum is never -0.0).
        """
        sums, counts = self._sums[layer], self._counts[layer]
        chosen = values[:, [COLUMN[name] for name in self.metrics]]
        skip = np.isnan(chosen)
        chosen[skip] = 0.0
        chosen[0] = [sums[name] for name in self.metrics]
        totals = np.add.accumulate(chosen, axis=0)[-1].tolist()
        n_steps = len(values)  # with row 0, NaN in values: counted as skipped
        for name, total, n_skipped in zip(self.metrics, totals,
                                          np.add.reduce(skip, axis=0).tolist()):
            sums[name] = total
            counts[name] += n_steps - n_skipped

    def __getstate__(self):
        for layer in range(self.n_weight_matrices):
            self._flush(layer)
        state = self.__dict__.copy()
        state["_kept"] = [None] * self.n_weight_matrices
        return state

    def end_iteration(self):
        """Append the NaN-ignoring mean of the pending steps as one record.

        A metric with no non-NaN step value in the iteration records NaN. The
        signs of the last observed gradients become those the next iteration's
        first flip is compared with.
        """
        for layer in range(self.n_weight_matrices):
            self._flush(layer)
        for name in self.metrics:
            row = np.full(self.n_weight_matrices, np.nan)
            for layer, (sums, counts) in enumerate(zip(self._sums, self._counts)):
                if counts[name]:
                    row[layer] = sums[name] / counts[name]
            self._records[name].append(row)
        self._committed_signs = list(self._prev_signs)  # never written to: fresh arrays
        self._kept = [None] * self.n_weight_matrices  # no memory held between iterations
        self.discard_steps()

    def discard_steps(self):
        """Forget the steps observed since the last ``end_iteration``.

        The previous-step signs used by the next flip fraction are reset to
        those of the last recorded iteration, so a discarded step (an L-BFGS
        line-search trial) is compared with nothing.
        """
        self._prev_signs = list(self._committed_signs)
        for kept in self._kept:
            if kept is not None:
                kept.clear()
        self._sums = [dict.fromkeys(self.metrics, 0.0) for _ in range(self.n_weight_matrices)]
        self._counts = [dict.fromkeys(self.metrics, 0) for _ in range(self.n_weight_matrices)]

    @property
    def history(self):
        """dict: recorded metric -> float array of shape (n_records, n_weight_matrices)."""
        return {m: np.array(rows, dtype=np.float64).reshape(len(rows), self.n_weight_matrices)
                for m, rows in self._records.items()}
