"""The recorder behind ``gradient_sign_history_``: per-iteration means of the metrics.

The metrics are :class:`~._metrics.StepMetric` objects (:mod:`._metrics`); the
recorder only routes each step to them, by the fastest path each one has: the
compiled counts of the step (:mod:`._kernels`, which also add the values up when
every metric is a ratio of them), one-row steps kept and
summarised many at a time (:mod:`._kept_steps`, all metrics having a batched
form), or the metric's numpy reference. It watches training through the loops'
observer protocol (``on_fit_begin``, ``on_step``, ``on_row_steps``, ``on_discard``,
``on_iteration_end``, ``on_fit_end``).
"""

import numpy as np

from ._functions import InputSignStats
from ._kept_steps import KeptSteps, KeptSummary
from . import _kernels
from ._kernels import NO_ROWS, SIGN_ROWS, VARYING_ROWS
from ._metrics import DEFAULT_METRICS, document_metrics, ratio_from_counts, resolve_metrics
from ._sign_stats import _flip_fraction
from ._step import LayerStep


@document_metrics
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
    metrics : METRIC_CHOICES, StepMetric or list of them, default=None
        Built-in names and :class:`StepMetric` instances to record; None
        records :attr:`METRICS`. Metrics not recorded are not computed, and
        :attr:`history` holds only these.

    Attributes
    ----------
    metrics : tuple of str
        The recorded metrics' names: built-ins in the registry's order, then
        the user's in the given order.
    step_metrics : tuple of StepMetric
        The recorded metric objects, in that order.

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

    #: Names of the metrics recorded by default (``record_gradient_signs=True``).
    METRICS = DEFAULT_METRICS

    #: Steps of one weight matrix kept by ``observe(..., product=True)`` before
    #: they are summarised together. A summary costs a fixed overhead, so more
    #: rows cost less per step, but the buffers add to the fit's peak memory
    #: (at 32 rows the digits batch-size-one regressor's rose above
    #: scikit-learn's).
    PENDING_ROWS = 16
    #: Steps summarised together by :meth:`observe_rows`, which is handed many at
    #: once: a summary's fixed cost is shared by more steps, for buffers of
    #: ``ROW_BLOCK * (fan_in + fan_out)`` values per layer.
    ROW_BLOCK = 128

    def __init__(self, n_weight_matrices, history=None, metrics=None):
        self.n_weight_matrices = int(n_weight_matrices)
        self.step_metrics = resolve_metrics(metrics)
        self.metrics = tuple(m.name for m in self.step_metrics)
        self._set_paths()
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
        self._memory = [{} for _ in range(self.n_weight_matrices)]
        self._row_stats = None
        self.discard_steps()

    # -- the training loops' observer protocol ---------------------------------------

    def on_fit_begin(self, X, first_offset=None, rows_recur=False):
        """A fit call starts on the training input X (the first layer's, offset `first_offset`).

        ``rows_recur``: the steps revisit X's rows (``on_step``'s ``step.rows``) with
        that offset fixed, so the first layer's row statistics are computed once.
        """
        self._row_stats = self.row_statistics(X, first_offset) if rows_recur else None

    def on_step(self, step):
        """Record one update step of every weight matrix.

        ``step`` carries lists indexed by weight matrix (``inputs``, ``offsets``,
        ``deltas``, ``weight_gradients``: the data terms), the batch's
        ``sample_weight``, ``centered`` (gradient centralization) and ``rows``, the
        batch's rows of the fit's X (None: all of them, in order). Where the step
        hands a layer's penalty over (``step.take_penalty``, the recorder being its
        only observer), the compiled counts' pass also makes that layer's gradient.
        """
        centered, sample_weight = step.centered, step.sample_weight
        counted = self._counted is not None and _kernels.available()
        stats = None
        for layer in range(self.n_weight_matrices - 1, -1, -1):
            offset, inputs, delta = step.offsets[layer], step.inputs[layer], step.deltas[layer]
            if counted and inputs.shape[0] > 1 and _kernels.accepts(inputs, delta, None, offset):
                # the penalty joins the kernel's pass where the step hands it over
                penalty = step.take_penalty(layer)
                grad = step.weight_gradients[layer] if penalty is None else penalty[0]
                if penalty is not None or _kernels.accepts(inputs, delta, grad, offset):
                    self._observe_counted(layer, inputs, delta, grad, offset, centered,
                                          penalty and penalty[1:])
                    continue
            grad = step.weight_gradients[layer]
            if layer == 0 and self._row_stats is not None:
                stats = self._row_stats
                if step.rows is not None:
                    stats = stats.take(step.rows)
            self.observe(layer, inputs, delta, grad, offset=offset,
                         input_stats=stats if layer == 0 else None, centered_rows=centered,
                         product=offset is None and not centered,
                         sample_weight=sample_weight)

    def on_row_steps(self, inputs, deltas):
        """Record several one-row steps of every weight matrix at once (``batch_size=1``).

        ``inputs[l]`` and ``deltas[l]`` hold one row per step, in step order, of
        weight matrix l's input and delta; each step's gradient is the outer
        product of its two rows, without offsets or centralization. The values are
        those of announcing the steps one by one (see :meth:`observe_rows`).
        """
        for layer in range(self.n_weight_matrices - 1, -1, -1):
            self.observe_rows(layer, inputs[layer], deltas[layer])

    @property
    def takes_row_summaries(self):
        """Whether :meth:`on_row_summaries` records every metric: each has a batched form."""
        return self._keepable

    def on_row_summaries(self, summaries):
        """Record summarised one-row steps of every weight matrix (``batch_size=1``).

        ``summaries`` (a ``RowSummaries`` of the compiled batch-size-one epoch)
        holds, per weight matrix and exact step, the sign counts of the input
        and delta rows, the input row's sum and the flip fraction against the
        step before, and the signs of the last step's rows: what the metrics'
        batched forms (``kept_values``) read. The loop's first step comes alone
        (``summaries.first``), its flips taken against no step before: they are
        taken here against this recorder's previous step (a warm start's, a
        partial_fit's). The values are those of announcing the steps one by one.
        """
        n, metrics = len(summaries), self.metrics
        flips = summaries.flips
        for layer in range(self.n_weight_matrices):
            self._flush(layer)
            self._settle(layer)  # the steps before these, in step order
        if summaries.first and self._chained and any(p is not None for p in self._prev_signs):
            flips = flips.copy()  # the first step's flips against this recorder's step before
            for layer, (signs, previous) in enumerate(zip(summaries.last_signs,
                                                          self._prev_signs)):
                flips[layer, 0] = _flip_fraction(np.multiply.outer(*signs), previous)
        if self._kept_codes is not None and _kernels.available():
            # every layer in one compiled pass from the running sums, no per-step arrays
            totals = np.array([[sums[name] for name in metrics] for sums in self._sums])
            added = np.zeros(totals.shape, np.int64)
            _kernels.add_kept_summaries(self._kept_codes, summaries.counts,
                                        summaries.input_sums, flips,
                                        summaries.fans_in, totals, added)
            for sums, counts, layer_totals, layer_added in zip(
                    self._sums, self._counts, totals.tolist(), added.tolist()):
                sums.update(zip(metrics, layer_totals))
                for name, count in zip(metrics, layer_added):
                    counts[name] += count
        else:
            for layer in range(self.n_weight_matrices):
                summary = KeptSummary(None, summaries.counts[layer],
                                      int(summaries.fans_in[layer]),
                                      summaries.input_sums[layer], flips[layer])
                self._add_kept_values(layer, self._kept_value_rows(summary, n))
        if self._chained:  # the last step's gradient signs, for the next step's flips
            self._prev_signs = [np.multiply.outer(*signs) for signs in summaries.last_signs]

    def on_discard(self):
        """Forget the steps since the last record (see :meth:`discard_steps`)."""
        self.discard_steps()

    def on_iteration_end(self, *context):
        """An iteration (epoch, L-BFGS iteration) ended: append its record."""
        self.end_iteration()

    def on_fit_end(self):
        """The fit call ended: the row statistics (which hold X) are dropped."""
        self._row_stats = None

    # -- recording ---------------------------------------------------------------------

    def row_statistics(self, X, offset=None):
        """Sign statistics of the rows of ``X + offset``, for steps that revisit them.

        A training loop that steps through the same rows every epoch computes
        them once; ``stats.take(rows)`` is then the ``input_stats`` of
        :meth:`observe` for a step over ``X[rows]``.

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
        >>> rec.observe(0, X[1:], d, X[1:].T @ d, input_stats=stats.take(np.array([1])))
        >>> rec.end_iteration()
        >>> rec.history["positive_input_fraction"]
        array([[1.]])
        """
        return InputSignStats(X, offset)

    def observe(self, layer, inputs, delta, grad, offset=None, input_stats=None,
                centered_rows=False, product=False, sample_weight=None):
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
            computed by one matrix product (no offset, not centred). When every
            recorded metric has a batched form (``kept_values``), a one-row step
            of dense float32/float64 arrays is then not summarised at once: the
            row and its delta are copied (the caller may overwrite its arrays,
            and ``grad`` is not read) and up to :attr:`PENDING_ROWS` such steps
            are summarised together (at the latest by :meth:`end_iteration`, the
            next other step of this layer or pickling), the values exactly those
            of the step-by-step computation. This holds ``PENDING_ROWS * (fan_in
            + fan_out)`` values per layer. Any other step is recorded at once.
        sample_weight : ndarray of shape (n_samples,), default=None
            The rows' sample weights, for metrics that weight the rows.
        """
        if product and self._keepable and offset is None and not centered_rows \
                and self._keep(layer, inputs, delta, grad):
            return
        self._flush(layer)
        step = LayerStep(layer, inputs, delta, grad, offset, sample_weight, centered_rows,
                         self._prev_signs[layer], self._memory[layer], input_stats)
        self._add_values(layer, self._step_values(step))

    def observe_rows(self, layer, inputs, deltas):
        """Record ``len(inputs)`` one-row steps of weight matrix ``layer``, in order.

        Step t has the input row ``inputs[t]``, the delta row ``deltas[t]`` and the
        gradient ``outer(inputs[t], deltas[t])`` (no offset, not centred): what a
        fit at ``batch_size=1`` without offsets announces. The rows are copied in
        blocks into the kept steps when every metric has a batched form, else
        each step is observed on its own; the values are the same either way.

        Parameters
        ----------
        layer : int
        inputs : ndarray of shape (n_steps, fan_in)
        deltas : ndarray of shape (n_steps, fan_out)

        Examples
        --------
        >>> import numpy as np
        >>> from centered_nn.diagnostics import GradientSignRecorder
        >>> rec = GradientSignRecorder(n_weight_matrices=1, metrics="sign_flip_fraction")
        >>> rec.observe_rows(0, np.array([[1., 2.], [1., 2.]]), np.array([[1.], [-1.]]))
        >>> rec.end_iteration()
        >>> rec.history["sign_flip_fraction"]  # the second step flips both signs
        array([[1.]])
        """
        A, D = np.asarray(inputs), np.asarray(deltas)
        if A.ndim != 2 or D.ndim != 2 or A.shape[0] != D.shape[0]:
            raise ValueError(f"inputs and deltas must be 2-D with one row per step; got "
                             f"shapes {A.shape} and {D.shape}")
        n = A.shape[0]
        if not n:
            return
        first_a, first_d = A[:1], D[:1]
        if not (self._keepable and KeptSteps.fits(first_a, first_d,
                                                  np.empty((A.shape[1], D.shape[1])))):
            for t in range(n):
                a, d = A[t:t + 1], D[t:t + 1]
                with np.errstate(all="ignore"):
                    grad = a.T @ d
                self.observe(layer, a, d, grad)
            return
        start = 0
        while start < n:
            kept = self._kept[layer]
            if kept is None or not kept.accepts(first_a, first_d) or (
                    kept.size < self.ROW_BLOCK and n - start > kept.size):
                self._flush(layer)
                size = max(self.PENDING_ROWS, min(n - start, self.ROW_BLOCK))
                kept = self._kept[layer] = KeptSteps(first_a, first_d, size)
            start += kept.append_rows(A[start:], D[start:])
            if kept.full:
                self._flush(layer)

    def _set_paths(self):
        """Which paths the recorded metrics allow (read at every step: computed once)."""
        metrics = self.step_metrics
        self._keepable = all(m.kept_values is not None for m in metrics)
        codes = [m.kept_code for m in metrics]
        self._kept_codes = None if None in codes else np.array(codes, dtype=np.int64)
        self._compiled = any(m.from_counts is not None for m in metrics)
        self._counts_rows = any(m.counts_rows for m in metrics)
        self._chained = any(m.reads_previous_signs for m in metrics)
        # every metric a ratio of the compiled counts: on_step's steps skip the LayerStep,
        # the kernels add the values (the metrics' counts_ratio, one row each)
        ratios = all(type(m).from_counts is ratio_from_counts for m in metrics)
        self._counted = np.array([m.counts_ratio for m in metrics], dtype=np.int64).reshape(
            -1, 2) if ratios else None

    def _observe_counted(self, layer, inputs, delta, grad, offset, centered, penalty=None):
        """:meth:`observe` of a step of several rows when every metric is a ratio of the
        compiled counts and the kernels take the arrays (:func:`._kernels.accepts`):
        one kernel call adds the values :meth:`_step_values` gives to the layer's
        running sums in ``_runs`` (moved back by :meth:`_settle`), without a LayerStep.

        ``penalty``: the rest of what ``BackwardStep.take_penalty`` handed over
        (``grad`` is then its first item): the kernel also makes grad the weight
        gradient (see :func:`._kernels.step_stats`).
        """
        if self._kept[layer] is not None:
            self._flush(layer)
        run = self._runs[layer]
        if run is None:  # from the running sums, which wait for _settle
            sums, counts = self._sums[layer], self._counts[layer]
            run = self._runs[layer] = np.array([[sums[name] for name in self.metrics],
                                                [counts[name] for name in self.metrics]],
                                               dtype=np.float64)
        rows = NO_ROWS
        if self._counts_rows:
            rows = VARYING_ROWS if centered else SIGN_ROWS
        self._prev_signs[layer] = _kernels.record_step(
            grad, self._prev_signs[layer] if self._chained else None, inputs, offset, delta,
            rows, self._counted, run, penalty)

    def _settle(self, layer):
        """Move the sums the kernels ran for ``layer`` (:meth:`_observe_counted`) back into
        the running sums, before anything else adds to or reads them: the values
        are then added in step order whatever path recorded each step."""
        run = self._runs[layer]
        if run is not None:
            self._runs[layer] = None
            sums, counts = self._sums[layer], self._counts[layer]
            for name, total, n in zip(self.metrics, run[0].tolist(), run[1].tolist()):
                sums[name], counts[name] = total, int(n)

    def _step_values(self, step):
        """One step's value of every recorded metric, in order; keeps the step's signs.

        A metric with a compiled form takes it when the kernels take the arrays,
        any other its reference ``step_value``.
        """
        metrics = self.step_metrics
        counts = None
        if self._compiled:
            rows = NO_ROWS
            if self._counts_rows:
                rows = VARYING_ROWS if step.centered else SIGN_ROWS
            counts = step._compiled_counts(rows, self._chained)
        values = [m.step_value(step) if counts is None or m.from_counts is None
                  else m.from_counts(counts) for m in metrics]
        self._prev_signs[step.layer] = step._signs_if_known()
        return values

    def _add_values(self, layer, values):
        """Add one step's values (in metric order) to the running sums, NaN skipped."""
        self._settle(layer)
        sums, counts = self._sums[layer], self._counts[layer]
        for name, v in zip(self.metrics, values):
            if v == v:
                sums[name] += v
                counts[name] += 1

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

    def _flush(self, layer):
        """Add the kept one-row steps of ``layer`` to the running sums, in step order."""
        kept = self._kept[layer]
        if kept is None or not len(kept):
            return
        chained = self._chained
        summary, exact, signs, steps = kept.summarise(flips=chained)
        values = self._kept_value_rows(summary, len(exact))
        self._step_by_step(layer, kept, values, exact, signs, steps, chained)
        self._add_kept_values(layer, values)

    def _kept_value_rows(self, summary, n_steps):
        """Every metric's batched values of `n_steps` kept steps: row t + 1 step t, row 0
        for :meth:`_add_kept_values`."""
        values = np.full((n_steps + 1, len(self.metrics)), np.nan)
        for column, metric in enumerate(self.step_metrics):
            values[1:, column] = metric.kept_values(summary)
        return values

    def _step_by_step(self, layer, kept, values, exact, signs, steps, chained):
        """Complete the kept steps' ``values`` where the batched summary is not exact.

        Computed one by one: a first step not following row 0, steps without
        exact signs and, for the metrics reading the previous signs (``chained``),
        the steps after them. The previous signs then become the last step's.
        """
        k, m = len(exact), kept.m
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
                if chained:
                    step = LayerStep._from_signs(layer, full_sign(t), full_sign(t - 1))
                    for column, metric in enumerate(self.step_metrics):
                        if metric.reads_previous_signs:
                            values[t + 1, column] = metric.step_value(step)
                continue
            self._prev_signs[layer] = full_sign(t - 1)
            a, d = steps[t:t + 1, :m].copy(), steps[t:t + 1, m:].copy()
            with np.errstate(all="ignore"):
                grad = a.T @ d  # bitwise the caller's one-row product
            values[t + 1] = self._step_values(LayerStep(
                layer, a, d, grad, previous_gradient_signs=self._prev_signs[layer],
                memory=self._memory[layer]))
            full[t] = self._prev_signs[layer]
        if chained:
            self._prev_signs[layer] = last = full_sign(k - 1)
            kept.keep_last(last if exact[-1] else None)

    def _add_kept_values(self, layer, values):
        """Add the kept steps' ``values`` (row t + 1: step t) to the running sums.

        In step order, as :meth:`_add_values` adds: accumulate is sequential, and
        a skipped NaN adds +0.0, which leaves any sum as it is (a sum is never -0.0).
        """
        self._settle(layer)
        sums, counts = self._sums[layer], self._counts[layer]
        skip = np.isnan(values)
        values[skip] = 0.0
        values[0] = [sums[name] for name in self.metrics]
        totals = np.add.accumulate(values, axis=0)[-1].tolist()
        n_steps = len(values)  # with row 0, NaN in values: counted as skipped
        for name, total, n_skipped in zip(self.metrics, totals,
                                          np.add.reduce(skip, axis=0).tolist()):
            sums[name] = total
            counts[name] += n_steps - n_skipped

    def __getstate__(self):
        for layer in range(self.n_weight_matrices):
            self._flush(layer)
            self._settle(layer)
        state = self.__dict__.copy()
        state["_kept"] = [None] * self.n_weight_matrices
        state["_row_stats"] = None  # only meaningful inside a fit call
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._set_paths()  # a recorder pickled before a path was added has it too
        self._runs = [None] * self.n_weight_matrices  # settled when pickled

    def end_iteration(self):
        """Append the NaN-ignoring mean of the pending steps as one record.

        A metric with no non-NaN step value in the iteration records NaN. The
        signs of the last observed gradients become those the next iteration's
        first flip is compared with.
        """
        for layer in range(self.n_weight_matrices):
            self._flush(layer)
            self._settle(layer)
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
        self._runs = [None] * self.n_weight_matrices  # see _observe_counted and _settle

    @property
    def history(self):
        """dict: recorded metric -> float array of shape (n_records, n_weight_matrices)."""
        return {m: np.array(rows, dtype=np.float64).reshape(len(rows), self.n_weight_matrices)
                for m, rows in self._records.items()}
