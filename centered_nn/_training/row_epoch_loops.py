"""The compiled loop behind :mod:`.row_epoch` (imported by it only once numba is switched on).

One function, :func:`run_rows`, runs consecutive one-row SGD or Adam steps of a
fully connected network whose parameters (and gradients) live in one flat
buffer each, with the arithmetic of the numpy path (:mod:`centered_nn._network`
and :mod:`.solvers`) in the same order and dtypes:

- the products are the BLAS routines numpy's matmul calls at these shapes:
  ``dgemv`` for a row times a matrix, ``ddot`` where the result is a single
  number (numpy's matmul then calls ``dot``), an exact product per element for
  the weight gradient's outer product (one term per sum);
- numpy's own ``exp`` and ``tanh`` loops are called through their addresses
  (:func:`call_ufunc_loop`): numpy's vectorised versions differ from the C
  library's in the last bit of some values; ``1 / (1 + exp(-z))`` is scipy's
  ``expit`` with the C library's exp, as here;
- the sums, the softmax, the log-loss and the derivatives are the loops of
  :mod:`centered_nn._network.fused_loops`, which copy numpy's order.

Module-level functions, so that numba's on-disk cache serves later processes; no
fastmath; the numpy error model.
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._compiled import jit
from .._network import fused_loops as fl

_jit = jit(nogil=True, fastmath=False, error_model="numpy")
#: For the per-element steps called in loops: inlined where called (not a call per element).
_inline = jit(nogil=True, fastmath=False, error_model="numpy", inline="always")

#: Hidden activations and outputs, by number (see :mod:`.row_epoch`).
IDENTITY, LOGISTIC, TANH, RELU, SOFTMAX = 0, 1, 2, 3, 4
_LARGEST = np.finfo(np.float64).max
#: Optimisers, by number.
SGD, NESTEROV, ADAM = 0, 1, 2


@intrinsic
def _call(typingctx, function, args, dims, steps):
    """Call the C function at address `function` as a numpy inner loop
    ``loop(char **args, npy_intp *dims, npy_intp *steps, void *data)``, data NULL."""
    sig = types.void(function, args, dims, steps)

    def codegen(context, builder, signature, llargs):
        byte_ptr = ir.IntType(8).as_pointer()
        loop_type = ir.FunctionType(ir.VoidType(), [byte_ptr] * 4)
        loop = builder.inttoptr(llargs[0], loop_type.as_pointer())
        builder.call(loop, [builder.inttoptr(value, byte_ptr) for value in llargs[1:]]
                     + [ir.Constant(byte_ptr, None)])
        return context.get_dummy_value()

    return sig, codegen


@_jit
def call_ufunc_loop(function, x, pointers, sizes):
    """numpy's float64 inner loop at address `function` over contiguous `x`, in place.

    `pointers` (uint64, 2) and `sizes` (int64, 3) are scratch: the loop's argument
    pointers, then its length and the two strides.
    """
    pointers[0] = x.ctypes.data
    pointers[1] = x.ctypes.data
    sizes[0] = x.shape[0]
    sizes[1] = 8
    sizes[2] = 8
    _call(function, pointers.ctypes.data, sizes.ctypes.data, sizes[1:].ctypes.data)


@_jit
def _row_times(a, w, fan_out, out):
    """``out = a @ W`` for a row `a` and the weights `W` (flat `w`, C order), as numpy's
    matmul computes a (1, k) @ (k, m) product: ``dot`` when the result is one number,
    else ``gemv``."""
    if fan_out == 1:
        out[0] = np.dot(a, w)
    else:
        out[:] = np.dot(a, w.reshape(a.shape[0], fan_out))


@_jit
def _row_times_transposed(d, W, out):
    """``out = d @ W.T`` for a row `d`, as numpy's matmul computes it."""
    if W.shape[0] == 1:
        out[0] = np.dot(d, W[0])
    else:
        out[:] = np.dot(d, W.T)


@_jit
def _activate(kind, z, c, exp_loop, tanh_loop, pointers, sizes):
    """A hidden layer's ``z += c`` and activation, in place, as the numpy path does them."""
    k = z.shape[0]
    if kind == RELU:
        fl.bias_relu(z.reshape(1, k), c, 0.0)
        return
    for j in range(k):
        z[j] = z[j] + c[j]
    if kind == LOGISTIC:
        for j in range(k):
            z[j] = 1.0 / (1.0 + math.exp(-z[j]))
    elif kind == TANH:
        call_ufunc_loop(tanh_loop, z, pointers, sizes)


@_jit
def _output(kind, z, c, exp_loop, pointers, sizes):
    """The output layer's ``apply(z + c)`` in place."""
    k = z.shape[0]
    if kind == SOFTMAX:
        Z = z.reshape(1, k)
        fl.softmax_shift(Z, c)
        call_ufunc_loop(exp_loop, z, pointers, sizes)
        fl.softmax_normalize(Z, 0.0)
        return
    for j in range(k):
        z[j] = z[j] + c[j]
    if kind == LOGISTIC:
        for j in range(k):
            z[j] = 1.0 / (1.0 + math.exp(-z[j]))


@_jit
def _loss_and_delta(kind, P, Y, D, sums, terms, eps, no_weights):
    """The output's loss at one row, ``D = P - Y`` and the column sums, as the numpy path."""
    k = P.shape[0]
    if kind == IDENTITY:  # 0.5 * mean over outputs of (Y - P)² (its mean over one row)
        for j in range(k):
            s = Y[j] - P[j]
            terms[j] = (0.0 + s * s) / 1.0
        loss = 0.5 * (fl.pairwise(terms, 0, k, 1, 0.0) / k)
        fl.output_delta(P.reshape(1, k), Y.reshape(1, k), no_weights, False,
                        D.reshape(1, k), sums, 0.0)
        return loss
    return fl.log_loss(P.reshape(1, k), Y.reshape(1, k), terms.reshape(1, k), eps, 1 - eps,
                       1.0, kind == LOGISTIC, no_weights, False, D.reshape(1, k), sums, 0.0)


@_jit
def _multiply_by_derivative(kind, a, d, sums):
    """``d *= the activation's derivative at its value a``, with the column sums."""
    k = a.shape[0]
    A, D = a.reshape(1, k), d.reshape(1, k)
    if kind == RELU:
        fl.relu_delta(A, D, sums, 0.0, 1.0)
    elif kind == LOGISTIC:
        fl.logistic_delta(A, D, sums, 0.0, 1.0)
    elif kind == TANH:
        fl.square_delta(A, D, sums, 0.0, 1.0, 1.0, 1.0, False)
    else:
        fl.identity_delta(D, sums, 0.0)


#: What a step's observers are handed (see :func:`run_rows`).
NOTHING, ROWS, SUMMARIES = 0, 1, 2


@_jit
def _signs(x, signs, previous, first, counts, t, h, small):
    """Signs of `x` into ``signs[first:]``, their counts into ``counts[:, t, h]``;
    returns the smallest nonzero magnitude (or `small` when none is smaller),
    whether every entry is finite, and the sum and the count of the nonzero
    products with ``previous[first:]``. Integer counts only, so the loop vectorises."""
    pos = neg = net = both = finite = tiny = 0
    n = x.shape[0]
    for i in range(n):
        v = x[i]
        up, down = np.int64(v > 0.0), np.int64(v < 0.0)
        s = up - down
        signs[first + i] = s
        pos += up
        neg += down
        magnitude = abs(v)
        finite += np.int64(magnitude <= _LARGEST)  # not for inf or NaN
        tiny += np.int64(magnitude < small) & (up | down)
        p = s * np.int64(previous[first + i])
        net += p
        both += p * p
    counts[0, t, h], counts[1, t, h] = pos, neg
    smallest = small
    if tiny:  # a rare second pass: the exact smallest nonzero magnitude
        for i in range(n):
            if x[i] != 0.0 and abs(x[i]) < smallest:
                smallest = abs(x[i])
    return smallest, finite == n, net, both


@_jit
def _summarise(a, d, signs, previous, known, counts, t, sums, flips, tiny, small):
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
    a_min, a_finite, net_a, both_a = _signs(a, signs, previous, 0, counts, t, 0, small)
    d_min, d_finite, net_d, both_d = _signs(d, signs, previous, m, counts, t, 1, small)
    sums[t] = fl.pairwise(a, 0, m, 1, 0.0)
    exact = a_finite and d_finite and a_min * d_min >= tiny
    both = both_a * both_d
    flips[t] = (both - net_a * net_d) / (2 * both) if known and exact and both > 0 \
        else math.nan
    return exact


@_inline
def _sgd(params, velocity, e, g, rate, momentum, nesterov):
    """One element's SGD update, as :func:`.kernel_loops.sgd` and ``nesterov`` do it."""
    scaled = rate * g
    v = velocity[e] * momentum
    v = v - scaled
    velocity[e] = v
    if nesterov:
        params[e] = params[e] + (momentum * v - scaled)
    else:
        params[e] = params[e] + v


@_inline
def _adam(params, first, second, e, g, beta_1, c1, beta_2, c2, epsilon, neg_rate):
    """One element's Adam update, as :func:`.kernel_loops.adam` does it."""
    m = first[e] * beta_1
    m = m + c1 * g
    first[e] = m
    v = second[e] * beta_2
    v = v + c2 * (g * g)
    second[e] = v
    params[e] = params[e] + (neg_rate * m) / (np.sqrt(v) + epsilon)


@_jit
def _update(optimizer, params, state_1, state_2, at, a, d, alpha, rate, momentum, beta_2,
            epsilon, neg_rate):
    """The optimiser's update of the weight matrix ``params[at:at + len(a) * len(d)]``
    (C order) from its one-row gradient ``a[i] d[j] + alpha W[i, j]``; one loop per
    optimiser, so that each vectorises."""
    n = d.shape[0]
    if optimizer == ADAM:
        c1, c2 = 1 - momentum, 1 - beta_2
        for i in range(a.shape[0]):
            first, ai = at + i * n, a[i]
            for j in range(n):
                g = ai * d[j] + alpha * params[first + j]
                _adam(params, state_1, state_2, first + j, g, momentum, c1, beta_2, c2,
                      epsilon, neg_rate)
    else:
        nesterov = optimizer == NESTEROV
        for i in range(a.shape[0]):
            first, ai = at + i * n, a[i]
            for j in range(n):
                g = ai * d[j] + alpha * params[first + j]
                _sgd(params, state_1, first + j, g, rate, momentum, nesterov)


@_jit
def _update_intercept(optimizer, params, state_1, state_2, at, grad, rate, momentum, beta_2,
                      epsilon, neg_rate):
    """The optimiser's update of ``params[at:at + len(grad)]`` from the gradient `grad`."""
    if optimizer == ADAM:
        c1, c2 = 1 - momentum, 1 - beta_2
        for j in range(grad.shape[0]):
            _adam(params, state_1, state_2, at + j, grad[j], momentum, c1, beta_2, c2,
                  epsilon, neg_rate)
    else:
        nesterov = optimizer == NESTEROV
        for j in range(grad.shape[0]):
            _sgd(params, state_1, at + j, grad[j], rate, momentum, nesterov)


@_jit
def run_rows(X, Y, order, start, stop, params, grads, table, units, hidden, output,
             optimizer, state_1, state_2, scalars, counters, exp_loop, tanh_loop,
             record, kept_inputs, kept_deltas, kept_table, signs, current, known, exact,
             counts, sums, flips, accumulated):
    """One-row steps on the rows ``order[start:stop]``, in order; stops before a
    step whose loss is not finite.

    Parameters
    ----------
    X : ndarray (n_samples, n_features), float64
    Y : ndarray (n_samples, n_outputs), bool (log-losses) or float64 (identity)
    order : int64 array
        The epoch's row order.
    start, stop : int
        The positions in `order` to step through.
    params, grads : 1-D float64
        The parameter buffer (weights and intercepts) and the gradient buffer,
        of which the loop uses the intercepts' part.
    table : int64 (n_layers, 5)
        Per weight matrix: its start in both buffers, fan_in, fan_out, its
        intercept's start, and the start of its output in `units`.
    units : 1-D float64 of twice the layers' total width
        The layers' outputs, then their deltas (at the same offsets plus the
        total width).
    hidden, output : int
        The hidden activation and the output layer (see the module's constants).
    optimizer : int
    state_1, state_2 : 1-D float64
        SGD's velocities (`state_2` unused) or Adam's first and second moments.
    scalars : float64 array
        The learning rate (SGD's, or Adam's initial one), momentum (or beta_1),
        beta_2, epsilon, alpha, and the log-loss's clip eps.
    counters : int64 array
        ``[Adam's step count]``, updated.
    exp_loop, tanh_loop : int
        Addresses of numpy's float64 exp and tanh loops (0 when not used).
    record : int
        What the observers get: :data:`NOTHING`; :data:`ROWS`, each step's layer
        inputs and deltas copied into `kept_inputs` and `kept_deltas` (step s of
        layer l at ``kept_table[l, 0] + s * fan_in`` and ``kept_table[l, 1] + s *
        fan_out``); or :data:`SUMMARIES`, each step's summary per layer (see
        :func:`_summarise`) into ``counts[l]``, ``sums[l]`` and ``flips[l]``, the
        sign rows ``[sign(a) | sign(d)]`` of each layer's last summarised step
        in `signs` (layer l's from ``kept_table[l, 0]``), ``known[l]`` telling
        whether they are the signs of its gradient. A step that is not exact in
        some layer, or follows one whose signs are not known, ends the call: its
        observers must see it whole. Its sign rows are then in `current` and
        whether each layer's is exact in `exact`, for the caller to move into
        `signs` and `known` once it has been seen.
    accumulated : float
        The epoch's loss sum so far.

    Returns
    -------
    done : int
        The steps taken: ``stop - start`` unless a loss was not finite (that
        step is then neither taken nor recorded) or a step must be seen whole.
    accumulated : float
    whole : bool
        Whether the last step taken must be seen whole (its summary is not written).
    """
    n_layers = table.shape[0]
    n_features = X.shape[1]
    n_outputs = Y.shape[1]
    total = units.shape[0] // 2  # the layers' widths
    x = np.empty(n_features)
    y = np.empty(n_outputs, Y.dtype)
    terms = np.empty(n_outputs)
    no_weights = np.zeros(0)
    pointers = np.empty(2, np.uint64)
    sizes = np.empty(3, np.int64)
    rate, momentum, beta_2 = scalars[0], scalars[1], scalars[2]
    epsilon, alpha, eps = scalars[3], scalars[4], scalars[5]
    half_alpha = 0.5 * alpha
    neg_rate = 0.0
    tiny = np.finfo(np.float64).tiny
    small = math.sqrt(tiny) * 2.0  # small * small >= tiny
    for step in range(stop - start):
        row = order[start + step]
        for f in range(n_features):
            x[f] = X[row, f]
        for j in range(n_outputs):
            y[j] = Y[row, j]
        # forward
        a = x
        for layer in range(n_layers):
            at, fan_in, fan_out, bias, out = table[layer]
            z = units[out:out + fan_out]
            _row_times(a, params[at:at + fan_in * fan_out], fan_out, z)
            if layer < n_layers - 1:
                _activate(hidden, z, params[bias:bias + fan_out], exp_loop, tanh_loop,
                          pointers, sizes)
            else:
                _output(output, z, params[bias:bias + fan_out], exp_loop, pointers, sizes)
            a = z
        # the loss and the output's delta, then the penalty (BLAS's dot per matrix, as numpy's)
        bias, out = table[n_layers - 1, 3], table[n_layers - 1, 4]
        loss = _loss_and_delta(output, units[out:out + n_outputs], y,
                               units[total + out:total + out + n_outputs],
                               grads[bias:bias + n_outputs], terms, eps, no_weights)
        squares = 0.0
        for layer in range(n_layers):
            at, size = table[layer, 0], table[layer, 1] * table[layer, 2]
            w = params[at:at + size]
            squares += np.dot(w, w)
        loss = loss + half_alpha * squares / 1.0
        if not math.isfinite(loss):
            return step, accumulated, False
        accumulated += loss
        whole = False
        # backward, layer by layer: the delta it sends down, then its update (the
        # intercept gradients already hold the deltas' column sums over the one row);
        # SGD's or Adam's update of each element is that of the numpy path's step
        if optimizer == ADAM:
            counters[0] += 1
            t = float(counters[0])
            neg_rate = -(rate * math.sqrt(1 - math.pow(beta_2, t)) / (1 - math.pow(momentum, t)))
        for layer in range(n_layers - 1, -1, -1):
            at, fan_in, fan_out, bias, out = table[layer]
            a = x if layer == 0 else units[table[layer - 1, 4]:table[layer - 1, 4] + fan_in]
            d = units[total + out:total + out + fan_out]
            if record == ROWS:
                into = kept_table[layer, 0] + step * fan_in
                kept_inputs[into:into + fan_in] = a
                into = kept_table[layer, 1] + step * fan_out
                kept_deltas[into:into + fan_out] = d
            elif record == SUMMARIES:
                first, last = kept_table[layer, 0], kept_table[layer, 0] + fan_in + fan_out
                exact[layer] = _summarise(a, d, current[first:last], signs[first:last],
                                          known[layer], counts[layer], step, sums[layer],
                                          flips[layer], tiny, small)
                whole = whole or not exact[layer] or not known[layer]
            W = params[at:at + fan_in * fan_out]
            if layer > 0:  # with the weights before this step's update
                below = table[layer - 1, 4]
                down = units[total + below:total + below + fan_in]
                _row_times_transposed(d, W.reshape(fan_in, fan_out), down)
                bias_below = table[layer - 1, 3]
                _multiply_by_derivative(hidden, a, down, grads[bias_below:bias_below + fan_in])
            # the optimiser's update of the layer's weights from their gradient
            # a[i] d[j] + alpha W (over one row), then of its intercept
            _update(optimizer, params, state_1, state_2, at, a, d, alpha, rate, momentum,
                    beta_2, epsilon, neg_rate)
            _update_intercept(optimizer, params, state_1, state_2, bias,
                              grads[bias:bias + fan_out], rate, momentum, beta_2, epsilon,
                              neg_rate)
        if whole:
            return step + 1, accumulated, True
        if record == SUMMARIES:
            signs[:] = current
            known[:] = exact
    return stop - start, accumulated, False
