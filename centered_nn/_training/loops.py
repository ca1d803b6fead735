"""Training loops (minibatch SGD/Adam, L-BFGS) and the state they carry between calls.

Free of estimator specifics: the loops see a :class:`~._network.Network`, the
estimator's parameters as a plain mapping, a :class:`TrainingState`, and, for
early stopping, a validation scorer passed in. The arithmetic lives in
:mod:`._network` and :mod:`._solvers`.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .layout import FlatParameters
from .solvers import SGD, Adam, blas_threads, minibatch_blas_threads, minimize_lbfgs
from .._network.network import l2_penalty
from ..diagnostics import InputSignStats

#: Attributes of :class:`TrainingState` the estimators publish with a trailing underscore.
PUBLISHED = ("n_iter", "t", "loss", "loss_curve", "best_loss", "validation_scores",
             "best_validation_score", "validation_loss_curve")


class TrainingState:
    """What training carries from one fit or partial_fit call to the next.

    Parameters
    ----------
    offsets : OffsetScheme
        The scheme that sets the per-input offsets.
    stochastic : bool
        Whether the solver is sgd/adam (which keep the stopping counters).
    early_stopping : bool

    Attributes
    ----------
    n_iter, t, loss, loss_curve, best_loss, validation_scores, best_validation_score
        Published by the estimator as ``n_iter_``, ``t_``, ... (scikit-learn's
        meaning; the last three only for stochastic solvers).
    validation_loss_curve
        Published as ``validation_loss_curve_``: with early stopping, the loss
        of the held-out split as one batch (penalty included) after each epoch.
    optimizer : SGD, Adam or None
        Kept for partial_fit.
    recorder : GradientSignRecorder or None
    """

    def __init__(self, offsets, stochastic, early_stopping):
        self.offsets = offsets
        self.n_iter = 0
        self.t = 0
        self.loss = None
        self.loss_curve = []
        self.optimizer = None
        self.recorder = None
        self.nonfinite_cause = None  # set by the first batch whose loss is not finite
        self.callbacks = None  # during a fit with callbacks set: the estimator's FitRun
        self._best = None  # parameter copies at the best validation score, during a fit
        if stochastic:
            self.no_improvement_count = 0
            self.best_loss = None if early_stopping else np.inf
            self.validation_scores = [] if early_stopping else None
            self.validation_loss_curve = [] if early_stopping else None
            self.best_validation_score = -np.inf if early_stopping else None

    def published(self):
        """``{name: value}`` of the :data:`PUBLISHED` attributes this state has."""
        return {name: getattr(self, name) for name in PUBLISHED if hasattr(self, name)}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_best"] = None  # only meaningful inside a fit
        return state


def _trainable_slots(net, offsets):
    """``(list, index)`` of each array the optimiser updates, in :func:`trainable` order."""
    slots = [(net.coefs, i) for i in range(len(net.coefs))]
    slots += [(net.intercepts, i) for i in range(len(net.intercepts))]
    if offsets.trainable:
        slots += [(net.offsets, i) for i, b in enumerate(net.offsets) if b is not None]
    return slots


def trainable(net, offsets):
    """The arrays the optimiser updates: weights, intercepts, trained offsets."""
    return [target[i] for target, i in _trainable_slots(net, offsets)]


def _loss_and_grads(net, state, params, X, Y, sample_weight, tracker, first_input_stats=None,
                    out=None):
    loss, coef_g, inter_g, off_g = net.loss_and_gradients(
        X, Y, sample_weight, params["alpha"], tracker=tracker,
        learn_offsets=state.offsets.trainable, recorder=state.recorder,
        batch_centred=state.offsets.batch_centred,
        centralize=params["gradient_centralization"], first_input_stats=first_input_stats,
        out=out,
    )
    if not np.isfinite(loss) and state.nonfinite_cause is None:
        state.nonfinite_cause = _nonfinite_cause(net, X, params)
    return loss, coef_g + inter_g + [g for g in off_g if g is not None]


def _nonfinite_cause(net, X, params):
    """Why a forward pass on X gives a non-finite loss: the activation, or the step size."""
    inputs, pre = net.forward(X, keep_pre=True)
    for z, a in zip(pre, inputs[1:]):
        if np.isfinite(z).all() and not np.isfinite(a).all():
            return (f"the activation {type(net.activation).__name__} returned non-finite "
                    "values for finite input")
    return (f"the learning rate may be too large (learning_rate_init="
            f"{params['learning_rate_init']!r}); try a smaller one or scale the input")


def raise_nonfinite(state, where):
    """End the fit: the loss or the parameters are not finite."""
    cause = state.nonfinite_cause or "the input data may need preprocessing"
    state.nonfinite_cause = None
    raise ValueError(
        "Solver produced non-finite parameter weights. The input data may contain large "
        f"values and need to be preprocessed. The training loss became non-finite {where}; "
        f"{cause}."
    )


def _batch_size(params, n_samples):
    if params["batch_size"] == "auto":
        return min(200, n_samples)
    if params["batch_size"] > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"
        )
    return int(np.clip(params["batch_size"], 1, n_samples))


def _step_buffers(net, offsets, X, Y, sample_weight):
    """``(arrays, grads, out)``: what the optimiser steps and where backward writes.

    When the trainable arrays share one dtype and the gradients share one too,
    the arrays move into one buffer (:class:`~.layout.FlatParameters`) and the
    gradients get another, of their own dtype: the optimiser steps the chunks
    ``arrays`` with the matching chunks ``grads``, and ``out`` holds the
    gradient buffer's per-array views for :func:`~._network.backward`. The
    gradients' dtype is that of the output delta ``P - Y`` (e.g. float64 for
    float32 X with float64 regression targets, as scikit-learn computes them).
    Sample weights of a wider dtype than the delta (float32 X with float64
    weights) would make the intercept gradients wider than the weight
    gradients: then the arrays stay separate, ``grads`` is None (use what
    backward returns) and ``out`` is None.
    """
    slots = _trainable_slots(net, offsets)
    dtypes = {target[i].dtype for target, i in slots}
    grad_dtype = np.result_type(X.dtype, Y.dtype, *dtypes)
    widened = sample_weight is not None and \
        np.result_type(grad_dtype, sample_weight.dtype) != grad_dtype
    if len(dtypes) > 1 or widened:
        return [target[i] for target, i in slots], None, None
    flat = FlatParameters(slots, grad_dtype=grad_dtype)
    out = ([None] * len(net.coefs), [None] * len(net.coefs), [None] * len(net.coefs))
    for (target, i), view in zip(slots, flat.grad_views):  # the same lists as _trainable_slots
        kind = 0 if target is net.coefs else 1 if target is net.intercepts else 2
        out[kind][i] = view
    return flat.value_chunks(), flat.grad_chunks(), out


def _make_optimizer(params, arrays):
    if params["solver"] == "sgd":
        return SGD(arrays, params["learning_rate_init"], params["learning_rate"],
                   params["momentum"], params["nesterovs_momentum"], params["power_t"])
    return Adam(arrays, params["learning_rate_init"], params["beta_1"], params["beta_2"],
                params["epsilon"])


def fit_stochastic(net, state, params, train, validation, rng, incremental, score):
    """Minibatch SGD or Adam, epoch by epoch, with scikit-learn's stopping rules.

    Parameters
    ----------
    net : Network
    state : TrainingState
    params : mapping
        The estimator's parameters (``get_params()``).
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
    arrays, grads, out = _step_buffers(net, state.offsets, X, Y, sample_weight)
    if not incremental or state.optimizer is None:
        state.optimizer = _make_optimizer(params, arrays)
    optimizer = state.optimizer
    optimizer.match(arrays)
    n_samples = X.shape[0]
    batch_size = _batch_size(params, n_samples)
    tracker = state.offsets.tracker(params["input_bias_rate"])
    shuffle, recorder = params["shuffle"], state.recorder
    order = np.arange(n_samples)
    # the first layer sees the same rows every epoch; a one-row batch is summarised from
    # the row itself, which costs less than a lookup
    row_stats = None if incremental or batch_size == 1 else _first_layer_stats(net, state, X)
    state.n_iter = 0
    if validation is not None and state.best_validation_score > -np.inf:
        # a warm start: the weights in hand are those of the best score so far
        state._best = _snapshot(net)
    threads = minibatch_blas_threads(batch_size, [c.shape for c in net.coefs])

    def step(batch_grads):  # the buffer's chunks, or the separate arrays backward returned
        optimizer.step(arrays, batch_grads if grads is None else grads)

    try:
        with blas_threads(threads):
            for _ in range(params["max_iter"]):
                if state.callbacks is not None:
                    state.callbacks.epoch_begin(net, state)
                if shuffle:
                    rng.shuffle(order)
                state.loss = _epoch(net, state, params, train, order, batch_size, tracker,
                                    row_stats, out, step)
                state.n_iter += 1
                state.t += n_samples
                state.loss_curve.append(state.loss)
                if recorder is not None:
                    recorder.end_iteration()
                if params["verbose"]:
                    print("Iteration %d, loss = %.8f" % (state.n_iter, state.loss))
                _update_no_improvement_count(net, state, params, validation, score)
                optimizer.iteration_ends(state.t)
                if state.callbacks is not None and state.callbacks.epoch_end(net, state):
                    break  # a callback asked to stop
                if state.no_improvement_count > params["n_iter_no_change"]:
                    what = "Validation score" if validation is not None else "Training loss"
                    msg = ("%s did not improve more than tol=%f for %d consecutive epochs."
                           % (what, params["tol"], params["n_iter_no_change"]))
                    if optimizer.trigger_stopping(msg, params["verbose"]):
                        break
                    state.no_improvement_count = 0
                if incremental:
                    break
                if state.n_iter == params["max_iter"]:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and the "
                        "optimization hasn't converged yet." % params["max_iter"],
                        ConvergenceWarning,
                    )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        if recorder is not None:  # the cut-short epoch has no loss_curve_ entry
            recorder.discard_steps()
    state.offsets.inference(net)
    if validation is not None and state._best is not None:
        for current, best in zip(arrays_with_offsets(net), state._best):
            np.copyto(current, best)
        state.offsets.sync(net)
    state._best = None


def _first_layer_stats(net, state, X):
    """The first layer's row sign statistics, computed once for a fit that revisits X.

    None unless signs are recorded and the first offset stays fixed during the fit.
    """
    if state.recorder is None or not state.offsets.first_offset_fixed:
        return None
    return InputSignStats(X, net.offsets[0])


def _epoch(net, state, params, train, order, batch_size, tracker, row_stats, out, step):
    """One pass of minibatch steps over the rows in ``order``; the mean loss per sample.

    ``step(grads)`` applies the optimiser; ``out`` is where backward writes the
    gradients (see :func:`_step_buffers`); ``row_stats`` the first layer's
    precomputed row statistics, or None.
    """
    X, Y, sample_weight = train
    n_samples = X.shape[0]
    accumulated = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        rows = order[start:stop] if params["shuffle"] else slice(start, stop)
        sw = None if sample_weight is None else sample_weight[rows]
        stats = None if row_stats is None else row_stats.take(order[start:stop])
        loss, grads = _loss_and_grads(net, state, params, X[rows], Y[rows], sw, tracker, stats,
                                      out)
        if state.nonfinite_cause is not None:  # before the step poisons the weights
            raise_nonfinite(state, f"in epoch {state.n_iter + 1}")
        accumulated += loss * (stop - start)
        step(grads)
    return accumulated / n_samples


def arrays_with_offsets(net):
    """Every parameter array: weights, intercepts, offsets (for snapshots)."""
    return net.coefs + net.intercepts + [b for b in net.offsets if b is not None]


def _snapshot(net):
    return [p.copy() for p in arrays_with_offsets(net)]


def _update_no_improvement_count(net, state, params, validation, score):
    tol = params["tol"]
    if validation is not None:
        X_val, Y_val, sw_val = validation
        state.offsets.inference(net)
        P = net.predict(X_val)
        sw_sum = X_val.shape[0] if sw_val is None else sw_val.sum()  # the loss of one batch
        state.validation_loss_curve.append(float(
            net.output.loss(Y_val, P, sw_val) + l2_penalty(net.coefs, params["alpha"], sw_sum)))
        value = score(P, Y_val, sw_val)
        state.validation_scores.append(value)
        if params["verbose"]:
            print("Validation score: %f" % value)
        if not value >= state.best_validation_score + tol:  # NaN: no improvement
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if value > state.best_validation_score:
            state.best_validation_score = value
            state._best = _snapshot(net)
    else:
        if state.loss_curve[-1] > state.best_loss - tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if state.loss_curve[-1] < state.best_loss:
            state.best_loss = state.loss_curve[-1]


def fit_lbfgs(net, state, params, train):
    """scipy's L-BFGS-B on the whole training set; one loss_curve entry per iteration.

    The network's parameter lists hold float64 views of the optimiser's vector
    during the run (scikit-learn optimises in float64) and the input's dtype at
    the end. Offsets the optimiser does not train stay fixed; the scheme's
    ``finish`` hook then re-centres them.
    """
    X, Y, sample_weight = train
    slots = _trainable_slots(net, state.offsets)
    arrays = [target[i] for target, i in slots]
    shapes = [p.shape for p in arrays]
    bounds = np.cumsum([0] + [p.size for p in arrays])
    recorder = state.recorder
    tracker = state.offsets.tracker(params["input_bias_rate"], full_batch=True)
    row_stats = _first_layer_stats(net, state, X)  # every evaluation sees all of X
    evaluated = {}

    def place(x):
        for (target, i), a, b, shape in zip(slots, bounds[:-1], bounds[1:], shapes):
            target[i] = x[a:b].reshape(shape)

    def loss_grad(x):
        place(x)
        if recorder is not None:
            recorder.discard_steps()
        loss, grads = _loss_and_grads(net, state, params, X, Y, sample_weight, tracker,
                                      row_stats)
        evaluated["x"] = x.copy()
        return loss, np.hstack([g.ravel() for g in grads])

    def on_iteration(x, loss):
        state.loss_curve.append(float(loss))
        if recorder is not None:
            if not np.array_equal(x, evaluated["x"]):
                loss_grad(x)
            recorder.end_iteration()
        if params["verbose"]:
            print("Iteration %d, loss = %.8f" % (len(state.loss_curve), loss))
        if state.callbacks is not None:
            place(x)  # the iterate, for callbacks that rebuild the model as of now
            state.callbacks.lbfgs_iteration(net, state)

    start = np.hstack([p.ravel() for p in arrays]).astype(np.float64)
    if state.callbacks is not None:
        state.callbacks.lbfgs_begin(net, state)
    result = minimize_lbfgs(loss_grad, start, params["max_iter"], params["max_fun"],
                            params["tol"], on_iteration)
    state.n_iter = min(result.nit, params["max_iter"])
    state.loss = result.fun
    if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
        raise_nonfinite(state, f"in {state.n_iter} L-BFGS iteration(s)")
    state.nonfinite_cause = None  # a line-search trial that overshot, then recovered
    if result.status != 0:
        msg = (f"lbfgs failed to converge after {state.n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
        if state.n_iter == params["max_iter"]:
            msg += ("\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={params['max_iter']}).")
        warnings.warn(msg, ConvergenceWarning)
    place(result.x.astype(X.dtype))  # a copy, in the input's dtype
    state.offsets.finish(net, X, sample_weight)
