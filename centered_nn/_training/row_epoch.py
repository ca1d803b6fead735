"""A compiled epoch at ``batch_size=1``: every one-row step in one loop, bit for bit numpy's.

At one row per step the numpy path (:mod:`centered_nn._network`, :mod:`.solvers`)
spends about 50 µs per step in Python and numpy call overhead around two tiny
matrix products; the work itself takes 1–3 µs. :class:`RowEpochs` runs the
steps of an epoch in the compiled loop of :mod:`.row_epoch_loops`, with the
same operations in the same order, so that the parameters, ``loss_curve_`` and
the gradient-sign history are those of the numpy path (and scikit-learn's) to
the last bit. It relies on three things of the running process:

- the BLAS library numba calls (scipy's) computes ``dgemv`` and ``ddot`` as the
  one numpy's matmul calls does, at these shapes;
- numpy's float64 ``exp`` and ``tanh`` loops, called through their addresses,
  which :func:`.ufunc_address.ufunc_loop_address` reads from the ufunc object (the layout of
  numpy's public ``PyUFuncObject``, checked against what the ufunc reports);
- the C library's ``exp`` and ``log``, as scipy's ``expit`` and ``xlogy`` call them.

So, before its first use for a given activation, output and optimiser in a
process, it checks itself (:func:`self_check`): a small fit of two epochs
compared with the numpy path. If anything differs, or an address cannot be
read, it warns once and the numpy path trains instead.

It takes the common case and leaves the rest to the numpy path: dense float64
input, no sample weights, no offsets (``input_bias='none'``), no gradient
centralization, scikit-learn's four activations (identity, logistic, tanh,
relu), the softmax, logistic and identity outputs, SGD or Adam, and observers
of steps that take summaries of one-row steps (``on_row_summaries``: the
gradient-sign recorder, when each of its metrics has a batched form) or their
rows in blocks (``on_row_steps``). numba must be installed and switched on
(:mod:`.._compiled`).
"""

import warnings

import numpy as np

from .. import _compiled
from .._network import fused
from .._network.network import BackwardOptions, BackwardStep
from .._network.output import Identity as IdentityOutput
from .._network.output import Logistic as LogisticOutput
from .._network.output import Softmax
from .solvers import SGD, Adam
from .ufunc_address import float64_loop

#: Steps between two calls to the observers when they take the steps' rows.
KEPT_ROWS = 128
#: Steps between two calls to the observers when they take the steps' summaries.
SUMMARISED_ROWS = 512
#: Steps per compiled call when no observer watches them, at most: Ctrl-C is heard
#: between calls, so a call also takes at most about :data:`WORK_PER_CALL` parameter
#: updates (some tens of milliseconds).
ROWS_PER_CALL = 4096
WORK_PER_CALL = 1 << 24

#: The hidden activations and outputs the loop takes, by number (shared with the loop).
IDENTITY, LOGISTIC, TANH, RELU, SOFTMAX = 0, 1, 2, 3, 4
#: The optimisers' updates, by number.
SGD_STEP, NESTEROV_STEP, ADAM_STEP = 0, 1, 2
#: What the loop hands the observers of steps: nothing, each step's rows, or summaries.
NOTHING, ROWS, SUMMARIES = 0, 1, 2

_ACTIVATIONS = {"Identity": IDENTITY, "Logistic": LOGISTIC, "Tanh": TANH, "ReLU": RELU}
_OUTPUTS = {IdentityOutput: IDENTITY, LogisticOutput: LOGISTIC, Softmax: SOFTMAX}
_EPS64 = float(np.finfo(np.float64).eps)

_loops = None  # the compiled module, imported on first use
_checked = {}  # (hidden, output, optimizer) -> whether the self-check passed


def _kernels():
    global _loops
    if _loops is None:
        from . import row_epoch_loops  # compiles (or loads from the cache) on first call

        _loops = row_epoch_loops
    return _loops


def _hidden_kind(activation):
    cls = type(activation)
    if cls.__module__ != "centered_nn.activations":  # a subclass may change the function
        return None
    return _ACTIVATIONS.get(cls.__name__)


def _optimizer_kind(optimizer):
    if type(optimizer) is Adam:
        return ADAM_STEP
    if type(optimizer) is SGD:
        return NESTEROV_STEP if optimizer.nesterov else SGD_STEP
    return None


def _flat_state(optimizer, name, flat):
    """The optimiser's state `name` as one buffer of the parameters' layout, the
    optimiser's own list rebound to chunks of it (the values unchanged)."""
    arrays = getattr(optimizer, name)
    state = np.concatenate([a.ravel() for a in arrays])
    setattr(optimizer, name, [state[part] for part in flat.chunks])
    return state


class RowEpochs:
    """The compiled epochs of one ``batch_size=1`` fit call (see the module docstring).

    Built by :meth:`plan`, which returns None where the numpy path must train.
    """

    @classmethod
    def plan(cls, net, settings, train, flat, optimizer, observers, batch_size, gradients,
             step):
        """A :class:`RowEpochs` for this call, or None where the numpy path trains.

        Parameters
        ----------
        net : Network
        settings : FitSettings
        train : tuple (X, Y, sample_weight)
        flat : FlatParameters or None
            The call's parameter and gradient buffers.
        optimizer : SGD or Adam
        observers : Observers
        batch_size : int
            The call's rows per step.
        gradients, step : callables
            The numpy path's batch gradients (a ``BatchGradients``) and optimiser
            step, for a step whose loss is not finite (which raises as there).
        """
        X, Y, sample_weight = train
        if batch_size != 1 or flat is None or not _compiled.enabled() or not fused.uses_libm():
            return None
        hidden, output = _hidden_kind(net.activation), _OUTPUTS.get(type(net.output))
        kind = _optimizer_kind(optimizer)
        log_loss = output in (LOGISTIC, SOFTMAX)
        if hidden is None or output is None or kind is None or sample_weight is not None \
                or settings.gradient_centralization or any(b is not None for b in net.offsets) \
                or type(X) is not np.ndarray or X.dtype != np.float64 or X.ndim != 2 \
                or type(Y) is not np.ndarray or Y.ndim != 2 \
                or (Y.dtype != np.bool_ if log_loss else Y.dtype.kind not in "biuf") \
                or flat.values.dtype != np.float64 or flat.grads.dtype != np.float64 \
                or not isinstance(settings.alpha, (int, float, np.floating)) \
                or (observers.watches_steps and not observers.takes_row_steps):
            return None
        exp_loop = float64_loop(np.exp) if output == SOFTMAX else 0
        tanh_loop = float64_loop(np.tanh) if hidden == TANH else 0
        if (output == SOFTMAX and not exp_loop) or (hidden == TANH and not tanh_loop):
            return None
        if not self_check(net.activation, net.output, optimizer):
            return None
        if not log_loss:  # numpy casts the targets to float64 in P - Y: once here
            train = (X, Y.astype(np.float64, copy=False), None)
        return cls(net, float(settings.alpha), train, flat, optimizer, observers,
                   (hidden, output, kind), (exp_loop, tanh_loop), gradients, step)

    def __init__(self, net, alpha, train, flat, optimizer, observers, kinds, loops,
                 gradients, step):
        self.X, self.Y, _ = train
        self.net, self.flat, self.optimizer, self.observers = net, flat, optimizer, observers
        self.hidden, self.output, self.kind = kinds
        self.exp_loop, self.tanh_loop = loops
        self.gradients, self.step = gradients, step
        base = flat.values.ctypes.data
        itemsize = flat.values.itemsize
        rows, unit = [], 0
        for coef, intercept in zip(net.coefs, net.intercepts):
            fan_in, fan_out = coef.shape
            rows.append(((coef.ctypes.data - base) // itemsize, fan_in, fan_out,
                         (intercept.ctypes.data - base) // itemsize, unit))
            unit += fan_out
        self.table = np.array(rows, dtype=np.int64)
        self.units = np.empty(2 * unit)
        if self.kind == ADAM_STEP:
            self.state = (_flat_state(optimizer, "ms", flat), _flat_state(optimizer, "vs", flat))
            momentum = optimizer.beta_1
        else:
            velocities = _flat_state(optimizer, "velocities", flat)
            self.state = (velocities, velocities)
            momentum = optimizer.momentum
        self.momentum = float(momentum)
        self.constants = (float(getattr(optimizer, "beta_2", 0.0)),
                          float(getattr(optimizer, "epsilon", 0.0)), alpha,
                          _EPS64)
        self.network = (flat.values, flat.grads, self.table, self.units, self.hidden,
                        self.output, self.exp_loop, self.tanh_loop)
        self._buffers(observers)

    def _buffers(self, observers):
        """What the loop hands the observers: summaries, rows, or nothing (see run_rows)."""
        fans_in, fans_out = self.table[:, 1], self.table[:, 2]
        n_layers = len(self.table)

        def starts(sizes):
            return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

        if not observers.watches_steps:
            self.record = NOTHING
            self.rows_per_call = max(1, min(ROWS_PER_CALL, WORK_PER_CALL // self.flat.values.size))
        elif observers.takes_row_summaries:
            self.record, self.rows_per_call = SUMMARIES, SUMMARISED_ROWS
        else:
            self.record, self.rows_per_call = ROWS, KEPT_ROWS
        n = self.rows_per_call
        kept = n if self.record == ROWS else 0
        self.kept_table = np.stack([starts(fans_in), starts(fans_out)], axis=1) * kept
        self.kept_inputs = np.empty(kept * int(fans_in.sum()))
        self.kept_deltas = np.empty(kept * int(fans_out.sum()))
        summarised = n if self.record == SUMMARIES else 0
        if self.record == SUMMARIES:  # the sign rows' starts
            self.kept_table[:, 0] = starts(fans_in + fans_out)
        width = int((fans_in + fans_out).sum()) if self.record == SUMMARIES else 0
        self.signs = np.zeros(width, np.int8)
        self.current = np.zeros(width, np.int8)
        # the loop takes the first step's flips against no step before (zero signs): the
        # observers, told so (RowSummaries.first), take them against theirs
        self.known = np.ones(n_layers, np.bool_)
        self.first = self.record == SUMMARIES
        self.exact = np.zeros(n_layers, np.bool_)
        self.counts = np.zeros((n_layers, 2, summarised, 2), np.int32)
        self.last_signs = [(self.signs[first:first + fan_in],
                            self.signs[first + fan_in:first + fan_in + fan_out])
                           for first, fan_in, fan_out in zip(self.kept_table[:, 0].tolist(),
                                                             fans_in.tolist(), fans_out.tolist())]
        self.fans_in = fans_in.copy()
        self.sums = np.zeros((n_layers, summarised))
        self.flips = np.zeros((n_layers, summarised))
        self.observed = (self.record, self.kept_inputs, self.kept_deltas, self.kept_table,
                         self.signs, self.current, self.known, self.exact, self.counts,
                         self.sums, self.flips)

    def _scalars(self):
        optimizer = self.optimizer
        rate = optimizer.learning_rate_init if self.kind == ADAM_STEP else optimizer.learning_rate
        return np.array([float(rate), self.momentum, *self.constants])

    def _kept(self, done):
        """The observers' lists of each layer's input and delta rows of the last `done` steps."""
        inputs, deltas = [], []
        for (at_in, at_out), (_, fan_in, fan_out, _, _) in zip(self.kept_table, self.table):
            n = self.rows_per_call
            inputs.append(self.kept_inputs[at_in:at_in + n * fan_in].reshape(n, fan_in)[:done])
            deltas.append(self.kept_deltas[at_out:at_out + n * fan_out]
                          .reshape(n, fan_out)[:done])
        return inputs, deltas

    def _summaries(self, done):
        """The :class:`RowSummaries` of the first `done` steps of the last call."""
        first, self.first = self.first, False
        return RowSummaries(self.counts[:, :, :done], self.sums[:, :done],
                            self.flips[:, :done], self.last_signs, self.fans_in, first)

    def _announce(self, done, whole, row):
        """Tell the observers of the last call's `done` steps (the last one whole if `whole`)."""
        if self.record == ROWS and done:
            self.observers.on_row_steps(*self._kept(done))
        elif self.record == SUMMARIES:
            if done - whole:
                self.observers.on_row_summaries(self._summaries(done - whole))
            if whole:
                self.observers.on_step(self._whole_step(row))
                self.signs[:] = self.current
                self.known[:] = self.exact

    def _whole_step(self, row):
        """The last step's arrays as the numpy path shows them (:class:`BackwardStep`)."""
        inputs = [self.X[row].reshape(1, -1)]
        deltas = []
        total = self.units.shape[0] // 2
        for _, _, fan_out, _, out in self.table.tolist():
            inputs.append(self.units[out:out + fan_out].reshape(1, fan_out).copy())
            deltas.append(self.units[total + out:total + out + fan_out].reshape(1, fan_out))
        step = BackwardStep(inputs, self.net.offsets, None, False)
        step.deltas = deltas
        with np.errstate(all="ignore"):  # as the numpy path's product (not exact: overflows)
            step.weight_gradients = [a.T @ d for a, d in zip(inputs, deltas)]
        step.rows = np.array([row])
        return step

    def __call__(self, order, epoch):
        """One epoch over the rows in `order`; the mean loss per sample, as ``_epoch`` gives it."""
        loops, X, Y = _kernels(), self.X, self.Y
        order = np.ascontiguousarray(order, dtype=np.int64)
        n = order.shape[0]
        counters = np.array([getattr(self.optimizer, "t", 0)], dtype=np.int64)
        data = (X, Y, order)
        optimizer = (self.kind, *self.state, self._scalars(), counters)
        accumulated, start = 0.0, 0
        try:
            while start < n:
                # the call's first step alone, so that its signs are the summary's last
                stop = start + 1 if self.first else min(start + self.rows_per_call, n)
                done, accumulated, whole = loops.run_rows(
                    data, start, stop, self.network, optimizer, self.observed, accumulated)
                self._announce(done, whole, order[start + done - 1] if done else None)
                start += done
                if start < stop and not whole:  # the loss of the step at `start` is not finite
                    accumulated = self._numpy_step(order[start:start + 1], accumulated, epoch)
                    counters[0] = getattr(self.optimizer, "t", 0)
                    start += 1
        finally:
            if self.kind == ADAM_STEP:
                self._sync_adam(int(counters[0]))
        return accumulated / n

    def _numpy_step(self, rows, accumulated, epoch):
        """The step over `rows` by the numpy path (which raises for a non-finite loss)."""
        X, Y = self.X[rows], self.Y[rows]
        if self.kind == ADAM_STEP:
            self._sync_adam(getattr(self.optimizer, "t", 0))
        loss, grads = self.gradients(X, Y, None, rows)
        self.gradients.check_finite(loss, X, Y, f"in epoch {epoch}")
        self.step(grads)  # not reached while both paths agree: the loss is the compiled one's
        return accumulated + loss

    def _sync_adam(self, t):
        """Adam's step count and learning rate as its numpy steps would have left them."""
        optimizer = self.optimizer
        if t != optimizer.t:
            optimizer.t = t
            b1, b2 = optimizer.beta_1, optimizer.beta_2
            optimizer.learning_rate = (optimizer.learning_rate_init * np.sqrt(1 - b2**t)
                                       / (1 - b1**t))


def self_check(activation, output, optimizer):
    """Whether the compiled epoch equals the numpy path here, for this activation, output
    and optimiser (checked once per process and kind of each).

    Two epochs of a small network (two hidden layers; three classes for the
    softmax, one output otherwise, which takes BLAS's ``dot``) on both paths;
    parameters and losses must be equal to the last bit. If not, a
    RuntimeWarning says so and the numpy path trains.
    """
    key = (_hidden_kind(activation), _OUTPUTS[type(output)], _optimizer_kind(optimizer))
    if key not in _checked:
        try:
            passed = _compare(activation, output, key)
            detail = "its parameters or losses differ"
        except Exception as error:  # a missing symbol, a numba error: the numpy path is safe
            passed, detail = False, f"{type(error).__name__}: {error}"
        _checked[key] = passed
        if not passed:
            warnings.warn(
                "centered_nn's compiled batch_size=1 epoch does not match its numpy path in "
                f"this process ({detail}); the numpy path trains instead (as fast as "
                "without numba). Set CENTERED_NN_NUMBA=0 to silence this warning.",
                RuntimeWarning, stacklevel=4)
    return _checked[key]


def _compare(activation, output, kinds):
    """Run the small fit of :func:`self_check` on both paths; whether they agree."""
    from .._network.network import Network, init_parameters
    from .layout import FlatParameters, ParameterLayout
    from .observers import Observers

    kind = kinds[2]
    rng = np.random.RandomState(0)
    n_outputs = 3 if kinds[1] == SOFTMAX else 1
    X = rng.standard_normal((23, 4))
    if kinds[1] == IDENTITY:
        Y = rng.standard_normal((23, n_outputs))
    elif kinds[1] == SOFTMAX:
        Y = np.arange(23).reshape(-1, 1) % 3 == np.arange(3)
    else:
        Y = rng.rand(23, 1) > 0.5
    orders = [rng.permutation(23) for _ in range(2)]
    results = []
    for compiled in (False, True):
        coefs, intercepts = init_parameters(np.random.RandomState(1), [4, 5, 3, n_outputs],
                                            6.0, np.float64)
        net = Network(coefs, intercepts, [None] * 3, activation, output)
        flat = FlatParameters(ParameterLayout.of(net, False))
        arrays = flat.value_chunks()
        optimizer = (Adam(arrays, 0.01, 0.9, 0.999, 1e-8) if kind == ADAM_STEP else
                     SGD(arrays, 0.01, "constant", 0.9, kind == NESTEROV_STEP, 0.5))
        options = BackwardOptions(1e-3)
        losses = []
        if compiled:
            epochs = RowEpochs(net, 1e-3, (X, Y, None), flat, optimizer, Observers([]), kinds,
                               (float64_loop(np.exp), float64_loop(np.tanh)), None, None)
        for epoch, order in enumerate(orders):
            if compiled:
                losses.append(epochs(order, epoch + 1))
                continue
            total = 0.0
            for row in order:
                loss, step = net.gradient_step(X[row:row + 1], Y[row:row + 1], None, options,
                                               None, flat.grad_out, data_terms=False)
                step.finish()
                total += loss
                optimizer.step(arrays, flat.grad_chunks())
            losses.append(total / 23)
        results.append((flat.values.copy(), np.array(losses)))
    (reference, reference_losses), (values, losses) = results
    return np.array_equal(reference, values) and np.array_equal(reference_losses, losses)


class RowSummaries:
    """Summaries of consecutive exact one-row steps, every weight matrix's: what a compiled
    ``batch_size=1`` epoch hands its observers' ``on_row_summaries``.

    A one-row step's weight gradient is the outer product ``aᵀd`` of the layer's
    input row and delta row; it is *exact* when its signs are ``sign(a) ⊗
    sign(d)`` (every entry finite, no product rounding to zero), and then its
    sign statistics follow from the two rows' signs. The arrays are the loop's,
    to read during the call only.

    Attributes
    ----------
    counts : ndarray of int, shape (n_layers, 2, n_steps, 2)
        ``counts[l, s, t, h]``: the entries > 0 (s = 0) or < 0 (s = 1) of step
        t's input row (h = 0) or delta row (h = 1) of weight matrix l.
    input_sums : ndarray of float64, shape (n_layers, n_steps)
        Each input row's sum, as numpy sums the row.
    flips : ndarray of float64, shape (n_layers, n_steps)
        The fraction of the entries nonzero in both the step's gradient and the
        step before's whose signs differ (NaN where none is).
    last_signs : list of (ndarray, ndarray) of int8
        Per weight matrix, the signs of the last step's input and delta rows.
    fans_in : ndarray of int
        Per weight matrix, its fan_in.
    first : bool
        The one step summarised is the loop's first: its flip fractions were taken
        against no step before (NaN), the observer's own previous step unknown to
        the loop.
    """

    __slots__ = ("counts", "input_sums", "flips", "last_signs", "fans_in", "first")

    def __init__(self, counts, input_sums, flips, last_signs, fans_in, first=False):
        self.counts, self.input_sums, self.flips = counts, input_sums, flips
        self.last_signs, self.fans_in, self.first = last_signs, fans_in, first

    def __len__(self):
        return self.counts.shape[2]
