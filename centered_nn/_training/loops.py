"""Training loops: minibatch SGD/Adam and L-BFGS.

Free of estimator specifics: the loops see a
:class:`~centered_nn._network.network.Network`, the
estimator's parameters as a frozen :class:`~.settings.FitSettings`, a
:class:`~.state.TrainingState`, and, for early stopping, a validation scorer
passed in. The arithmetic lives in :mod:`centered_nn._network` and :mod:`.solvers`;
what carries over between calls in :mod:`.state`. Whatever watches training (the
gradient-sign recorder, scikit-learn callbacks) hears of it through one protocol,
:class:`~.observers.Observers`, and the loops know none of them.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .failures import nonfinite_cause, nonfinite_loss
from .layout import FlatParameters, ParameterLayout
from .observers import Observers
from .row_epoch import RowEpochs
from .solvers import SGD, Adam, blas_threads, minibatch_blas_threads, minimize_lbfgs
from .._network.network import BackwardOptions, l2_penalty


class BatchGradients:
    """One fit call's loss and gradients on a batch: what every step of the call shares.

    Parameters
    ----------
    net : Network
    state : TrainingState
        Its offset scheme is read.
    settings : FitSettings
    tracker : callable or None
        The offset scheme's tracker for this call (see
        :func:`~centered_nn._network.network.forward`).
    observers : Observers
        Told of every step (``on_step``) before its gradients are finished; the
        one observer of steps may take a layer's penalty pass
        (:meth:`~centered_nn._network.network.BackwardStep.take_penalty`).
    out : tuple of three lists, optional
        Where backward writes the gradients (see :func:`_step_buffers`).
    """

    def __init__(self, net, state, settings, tracker, observers, out=None):
        self.net, self.state, self.settings = net, state, settings
        self.tracker, self.out = tracker, out
        self.on_step = observers.on_step if observers.watches_steps else None
        self.handover = observers.sole_step_observer
        # the scheme's trained and batch-centred layers are fixed when it is built
        self.options = BackwardOptions(settings.alpha, state.offsets.trainable,
                                       state.offsets.batch_centered,
                                       settings.gradient_centralization)

    def __call__(self, X, Y, sample_weight, rows=None):
        """``(loss, grads)`` on the batch, ``grads`` in the optimiser's order.

        ``rows``: the batch's rows of the call's training X (None: all, in order),
        for the observers.
        """
        loss, step = self.net.gradient_step(X, Y, sample_weight, self.options, self.tracker,
                                            self.out, data_terms=self.on_step is not None,
                                            handover=self.handover)
        if self.on_step is not None:
            step.rows = rows
            self.on_step(step)
        coef_g, inter_g, off_g = step.finish()
        return loss, coef_g + inter_g + [g for g in off_g if g is not None]

    def check_finite(self, loss, X, Y, where):
        """Raise :func:`nonfinite_loss` for a non-finite batch loss, before a step uses it."""
        if not np.isfinite(loss):
            raise nonfinite_loss(*nonfinite_cause(self.net, X, Y, self.settings), where)


class Minibatches:
    """The minibatches of one epoch, in the order the rows were shuffled into.

    Parameters
    ----------
    train : tuple (X, Y, sample_weight)
    order : ndarray of int
        The rows' order, shuffled in place between epochs when ``shuffle``.
    batch_size : int
    shuffle : bool
        Whether ``order`` is read (otherwise the batches are contiguous slices).
    """

    def __init__(self, train, order, batch_size, shuffle):
        self.train, self.order, self.batch_size = train, order, batch_size
        self.shuffle = shuffle

    def __iter__(self):
        """``(X, Y, sample_weight, rows)`` of each batch, in order; ``rows`` index X."""
        X, Y, sample_weight = self.train
        order, n_samples = self.order, X.shape[0]
        if not self.shuffle:  # contiguous slices: views
            for start in range(0, n_samples, self.batch_size):
                rows = slice(start, min(start + self.batch_size, n_samples))
                sw = None if sample_weight is None else sample_weight[rows]
                yield X[rows], Y[rows], sw, order[rows]
            return
        take_X, take_Y = (self.batch_size >= 16 and _takes_rows(A) for A in (X, Y))
        for start in range(0, n_samples, self.batch_size):
            rows = order[start:start + self.batch_size]
            sw = None if sample_weight is None else np.take(sample_weight, rows)
            yield (np.take(X, rows, axis=0) if take_X else X[rows],
                   np.take(Y, rows, axis=0) if take_Y else Y[rows], sw, rows)


def _takes_rows(A):
    """Whether ``np.take(A, rows, axis=0)`` may stand in for ``A[rows]``: the same
    C-contiguous copy of a C-contiguous ndarray, at a third to a half of the
    indexing's cost on a 200-row batch (a sparse matrix is indexed; batches under 16
    rows are too, where indexing costs as little or less)."""
    return type(A) is np.ndarray and A.flags.c_contiguous


def _batch_size(settings, n_samples):
    if settings.batch_size != "auto" and settings.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"
        )
    return settings.rows_per_step(n_samples)


def _step_buffers(net, offsets, X, Y, sample_weight):
    """``(arrays, grads, out, flat)``: what the optimiser steps, where backward writes,
    and the :class:`~.layout.FlatParameters` holding both (None when separate).

    When the trainable arrays share one dtype and the gradients share one too,
    the arrays move into one buffer (:class:`~.layout.FlatParameters`) and the
    gradients get another, of their own dtype: the optimiser steps the chunks
    ``arrays`` with the matching chunks ``grads``, and ``out`` holds the
    gradient buffer's per-array views for
    :func:`~centered_nn._network.network.backward`. The gradients' dtype is that of
    the output delta ``P - Y`` (e.g. float64 for float32 X with float64 regression
    targets, as scikit-learn computes them).
    Sample weights of a wider dtype than the delta (float32 X with float64
    weights) would make the intercept gradients wider than the weight
    gradients: then the arrays stay separate, ``grads`` is None (use what
    backward returns) and ``out`` is None.
    """
    layout = ParameterLayout.of(net, offsets.trainable)
    arrays = layout.arrays()
    dtypes = {a.dtype for a in arrays}
    grad_dtype = np.result_type(X.dtype, Y.dtype, *dtypes)
    widened = sample_weight is not None and \
        np.result_type(grad_dtype, sample_weight.dtype) != grad_dtype
    if len(dtypes) > 1 or widened:
        return arrays, None, None, None
    flat = FlatParameters(layout, grad_dtype=grad_dtype)
    return flat.value_chunks(), flat.grad_chunks(), flat.grad_out, flat


def _make_optimizer(settings, arrays):
    if settings.solver == "sgd":
        return SGD(arrays, settings.learning_rate_init, settings.learning_rate,
                   settings.momentum, settings.nesterovs_momentum, settings.power_t)
    return Adam(arrays, settings.learning_rate_init, settings.beta_1, settings.beta_2,
                settings.epsilon)


def fit_stochastic(net, state, settings, train, validation, rng, incremental, score):
    """Minibatch SGD or Adam, epoch by epoch, with scikit-learn's stopping rules.

    Parameters
    ----------
    net : Network
    state : TrainingState
    settings : FitSettings
        The estimator's parameters, as the loops read them.
    train : tuple (X, Y, sample_weight)
    validation : tuple (X, Y, sample_weight) or None
        The early-stopping split, Y encoded as the output layer's target.
    rng : RandomState
    incremental : bool
        One epoch (partial_fit), keeping the optimiser's state.
    score : callable ``score(P, Y, sample_weight) -> float``
        Validation score of the network's output P; NaN counts as no improvement.
    """
    X, Y, sample_weight = train
    arrays, grads, out, flat = _step_buffers(net, state.offsets, X, Y, sample_weight)
    if not incremental or state.optimizer is None:
        state.optimizer = _make_optimizer(settings, arrays)
    optimizer = state.optimizer
    optimizer.match(arrays)
    n_samples = X.shape[0]
    batch_size = _batch_size(settings, n_samples)
    observers = Observers(state.observers())
    gradients = BatchGradients(net, state, settings,
                               state.offsets.tracker(settings.input_bias_rate), observers, out)
    shuffle = settings.shuffle
    order = np.arange(n_samples)
    # the first layer sees the same rows every epoch (a one-row batch is summarised from
    # the row itself, which costs less than a lookup)
    observers.on_fit_begin(X, net.offsets[0], not incremental and batch_size > 1
                           and state.offsets.first_offset_fixed)
    batches = Minibatches(train, order, batch_size, shuffle)
    state.n_iter = 0
    stopping = state.stopping = state.stopping.for_call(validation is not None)
    stopping.begin(net)
    threads = minibatch_blas_threads(batch_size, [c.shape for c in net.coefs])

    def step(batch_grads):  # the buffer's chunks, or the separate arrays backward returned
        optimizer.step(arrays, batch_grads if grads is None else grads)

    # one-row steps in a compiled loop where it takes the fit (else None)
    rows_epoch = RowEpochs.plan(net, settings, train, flat, optimizer, observers, batch_size,
                                gradients, step)

    try:
        with blas_threads(threads):
            for _ in range(settings.max_iter):
                observers.on_iteration_begin(net, state)
                if shuffle:
                    rng.shuffle(order)
                state.loss = (_epoch(gradients, batches, step, state.n_iter + 1)
                              if rows_epoch is None else rows_epoch(order, state.n_iter + 1))
                state.n_iter += 1
                state.t += n_samples
                state.loss_curve.append(state.loss)
                stop = observers.on_iteration_end(net, state)
                if settings.verbose:
                    print("Iteration %d, loss = %.8f" % (state.n_iter, state.loss))
                _update_stopping(net, state, settings, validation, score)
                optimizer.iteration_ends(state.t)
                if stop:
                    break  # an observer (a callback) asked to stop
                if stopping.stalled(settings.n_iter_no_change):
                    what = "Validation score" if validation is not None else "Training loss"
                    msg = ("%s did not improve more than tol=%f for %d consecutive epochs."
                           % (what, settings.tol, settings.n_iter_no_change))
                    if optimizer.trigger_stopping(msg, settings.verbose):
                        break
                    stopping.restart_count()
                if incremental:
                    break
                if state.n_iter == settings.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and the "
                        "optimization hasn't converged yet." % settings.max_iter,
                        ConvergenceWarning,
                    )
    except KeyboardInterrupt:
        if state.n_iter == 0:  # no epoch of this call to keep: the estimator rolls back
            raise
        warnings.warn("Training interrupted by user.")
        observers.on_discard()  # the cut-short epoch has no loss_curve_ entry
    finally:
        observers.on_fit_end()
    state.offsets.inference(net)
    if stopping.restore_best(net):
        state.offsets.sync(net)


def _epoch(gradients, batches, step, epoch):
    """One pass of minibatch steps over ``batches``; the mean loss per sample.

    ``gradients`` is the call's :class:`BatchGradients`, ``step(grads)`` applies
    the optimiser and ``epoch`` counts from 1 (for the error message).
    """
    accumulated, n_samples = 0.0, 0
    for X, Y, sample_weight, rows in batches:
        loss, grads = gradients(X, Y, sample_weight, rows)
        # before the step poisons the weights
        gradients.check_finite(loss, X, Y, f"in epoch {epoch}")
        accumulated += loss * X.shape[0]
        n_samples += X.shape[0]
        step(grads)
    return accumulated / n_samples


def _update_stopping(net, state, settings, validation, score):
    """Feed the stopping rule the epoch's validation score, or else its training loss."""
    if validation is None:
        state.stopping.update_loss(state.loss_curve[-1], settings.tol)
        return
    X_val, Y_val, sw_val = validation
    state.offsets.inference(net)
    P = net.predict(X_val)
    sw_sum = X_val.shape[0] if sw_val is None else sw_val.sum()  # the loss of one batch
    state.stopping.validation_loss_curve.append(float(
        net.output.loss(Y_val, P, sw_val) + l2_penalty(net.coefs, settings.alpha, sw_sum)))
    value = score(P, Y_val, sw_val)
    if settings.verbose:
        print("Validation score: %f" % value)
    state.stopping.update_score(value, settings.tol, net)


def fit_lbfgs(net, state, settings, train):
    """scipy's L-BFGS-B on the whole training set; one loss_curve entry per iteration.

    The network's parameter lists hold float64 views of the optimiser's vector
    during the run (scikit-learn optimises in float64) and the input's dtype at
    the end. Offsets the optimiser does not train stay fixed (the scheme's
    ``start_full_batch`` hook sets them); its ``finish`` hook then re-centres them.
    """
    X, Y, sample_weight = train
    state.offsets.start_full_batch(net, X, sample_weight)
    layout = ParameterLayout.of(net, state.offsets.trainable)
    observers = Observers(state.observers())
    gradients = BatchGradients(net, state, settings,
                               state.offsets.tracker(settings.input_bias_rate, full_batch=True),
                               observers)
    # every evaluation sees all of X
    observers.on_fit_begin(X, net.offsets[0], state.offsets.first_offset_fixed)
    evaluated = {}
    n_before = len(state.loss_curve)
    stopped = []  # a callback asked to stop
    causes = []  # of non-finite evaluations: a line-search trial may overshoot, then recover

    def loss_grad(x):
        layout.place(x)
        observers.on_discard()  # only the evaluation at the iterate counts
        loss, grads = gradients(X, Y, sample_weight)
        if not np.isfinite(loss) and not causes:
            causes.append(nonfinite_cause(net, X, Y, settings))
        evaluated["x"] = x.copy()
        return loss, np.hstack([g.ravel() for g in grads])

    def on_iteration(x, loss):
        state.loss_curve.append(float(loss))
        if observers.watches_steps and not np.array_equal(x, evaluated["x"]):
            loss_grad(x)  # the observers see the step at the iterate
        layout.place(x)  # the iterate, for observers that rebuild the model as of now
        if settings.verbose:
            print("Iteration %d, loss = %.8f" % (len(state.loss_curve), loss))
        if observers.on_iteration_end(net, state):
            stopped.append(True)
            raise StopIteration  # scipy ends the optimisation at this iterate
        observers.on_iteration_begin(net, state)

    observers.on_iteration_begin(net, state)
    try:
        result = minimize_lbfgs(loss_grad, layout.vector(np.float64), settings.max_iter,
                                settings.max_fun, settings.tol, on_iteration)
    finally:
        observers.on_fit_end()
    state.n_iter = min(result.nit, settings.max_iter)
    state.loss = result.fun
    state.stopping.skip(len(state.loss_curve) - n_before)  # no validation split here
    if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
        kind, cause = causes[0] if causes else ("step", "the input data may need preprocessing")
        raise nonfinite_loss(kind, cause, f"in {state.n_iter} L-BFGS iteration(s)")
    if result.status != 0 and not stopped:
        msg = (f"lbfgs failed to converge after {state.n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
        if state.n_iter == settings.max_iter:
            msg += ("\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={settings.max_iter}).")
        warnings.warn(msg, ConvergenceWarning)
    layout.place(result.x.astype(X.dtype))  # a copy, in the input's dtype
    state.offsets.finish(net, X, sample_weight)
