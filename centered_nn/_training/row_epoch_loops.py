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
fastmath; the numpy error model. numba's cache checks only this file's time stamp:
after editing what these loops call or read (:mod:`.row_summary_loops`,
:mod:`.fused_loops`, :mod:`.row_epoch`'s constants) in a checkout, delete this
folder's ``__pycache__/row_epoch_loops*.nb*`` (an installed package never changes).
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._compiled import jit
from .._network import fused_loops as fl
from .row_epoch import (ADAM_STEP as ADAM, IDENTITY, LOGISTIC, NESTEROV_STEP as NESTEROV,
                        RELU, ROWS, SOFTMAX, SUMMARIES, TANH)
from .row_summary_loops import summarise_step

_jit = jit(nogil=True, fastmath=False, error_model="numpy")
#: For the per-element steps called in loops: inlined where called (not a call per element).
_inline = jit(nogil=True, fastmath=False, error_model="numpy", inline="always")



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
        np.dot(a, w.reshape(a.shape[0], fan_out), out)


@_jit
def _row_times_transposed(d, W, out):
    """``out = d @ W.T`` for a row `d`, as numpy's matmul computes it."""
    if W.shape[0] == 1:
        out[0] = np.dot(d, W[0])
    else:
        np.dot(d, W.T, out)


@_jit
def _activate(kind, z, c, exp_loop, tanh_loop, pointers, sizes):
    """A layer's ``z += c`` and its activation (hidden) or ``apply`` (output), in place,
    as the numpy path does them."""
    k = z.shape[0]
    if kind == RELU:
        fl.bias_relu(z.reshape(1, k), c, 0.0)
        return
    if kind == SOFTMAX:
        Z = z.reshape(1, k)
        fl.softmax_shift(Z, c)
        call_ufunc_loop(exp_loop, z, pointers, sizes)
        fl.softmax_normalize(Z, 0.0)
        return
    for j in range(k):
        z[j] = z[j] + c[j]
    if kind == LOGISTIC:  # scipy's expit
        for j in range(k):
            z[j] = 1.0 / (1.0 + math.exp(-z[j]))
    elif kind == TANH:
        call_ufunc_loop(tanh_loop, z, pointers, sizes)


@_jit
def _loss_and_delta(kind, P, Y, D, sums, terms, eps, no_weights, logged, means):
    """The output's loss at one row, ``D = P - Y`` and the column sums, as the numpy path
    (`terms`, `logged` and `means`: work arrays of the outputs' size)."""
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
                       1.0, kind == LOGISTIC, no_weights, False, D.reshape(1, k), sums, 0.0,
                       logged, means)


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
    optimiser, indexed with unsigned integers (no wraparound test), so that each
    vectorises."""
    n = d.shape[0]
    nesterov = optimizer == NESTEROV
    c1, c2 = 1 - momentum, 1 - beta_2
    for i in range(a.shape[0]):
        first, ai = np.uint64(at + i * n), a[i]
        if optimizer == ADAM:
            for j in range(n):
                e = first + np.uint64(j)
                g = ai * d[j] + alpha * params[e]
                _adam(params, state_1, state_2, e, g, momentum, c1, beta_2, c2, epsilon,
                      neg_rate)
        else:
            for j in range(n):
                e = first + np.uint64(j)
                g = ai * d[j] + alpha * params[e]
                _sgd(params, state_1, e, g, rate, momentum, nesterov)


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
def run_rows(data, start, stop, network, optimizer, observed, accumulated):
    """One-row steps on the rows ``order[start:stop]``, in order; stops before a
    step whose loss is not finite.

    Parameters
    ----------
    data : tuple ``(X, Y, order)``
        X (n_samples, n_features) float64; Y (n_samples, n_outputs), bool (the
        log-losses) or float64 (identity); the epoch's row order, int64.
    start, stop : int
        The positions in `order` to step through.
    network : tuple ``(params, grads, table, units, hidden, output, exp_loop, tanh_loop)``
        The parameter buffer (weights and intercepts) and the gradient buffer (of
        which the loop uses the intercepts' part); ``table`` (n_layers, 5) int64:
        per weight matrix its start in both buffers, fan_in, fan_out, its
        intercept's start and the start of its output in ``units``, a float64
        buffer of twice the layers' total width (their outputs, then their
        deltas at the same offsets plus the total width); the hidden activation
        and the output layer (the module's constants); the addresses of numpy's
        float64 exp and tanh loops (0 when not used).
    optimizer : tuple ``(kind, state_1, state_2, scalars, counters)``
        SGD's velocities (``state_2`` unused) or Adam's moments, of the
        parameters' layout; ``scalars``: the learning rate (SGD's, or Adam's
        initial one), momentum (or beta_1), beta_2, epsilon, alpha, and the
        log-loss's clip eps; ``counters``: ``[Adam's step count]``, updated.
    observed : tuple ``(record, kept_inputs, kept_deltas, kept_table, signs, current,
            known, exact, counts, sums, flips)``
        What the observers get. ``record`` (:mod:`.row_epoch`'s constants) NOTHING; ROWS, each
        step's layer inputs and deltas copied into ``kept_inputs`` and
        ``kept_deltas`` (step s of layer l at ``kept_table[l, 0] + s * fan_in``
        and ``kept_table[l, 1] + s * fan_out``); or SUMMARIES, each
        step's summary per layer (:func:`.row_summary_loops.summarise_step`)
        into ``counts[l]``, ``sums[l]`` and ``flips[l]``, the sign rows ``[sign(a)
        | sign(d)]`` of each layer's last summarised step in ``signs`` (layer l's
        from ``kept_table[l, 0]``), ``known[l]`` telling whether they are the
        signs of its gradient. A step that is not exact in some layer, or follows
        one whose signs are not known, ends the call: its observers must see it
        whole. Its sign rows are then in ``current`` and whether each layer's is
        exact in ``exact``, for the caller to move into ``signs`` and ``known``
        once it has been seen.
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
    X, Y, order = data
    params, grads, table, units, hidden, output, exp_loop, tanh_loop = network
    kind, state_1, state_2, scalars, counters = optimizer
    (record, kept_inputs, kept_deltas, kept_table, signs, current, known, exact, counts, sums,
     flips) = observed
    n_layers = table.shape[0]
    n_features = X.shape[1]
    n_outputs = Y.shape[1]
    total = units.shape[0] // 2  # the layers' widths
    x = np.empty(n_features)
    y = np.empty(n_outputs, Y.dtype)
    terms, means = np.empty(n_outputs), np.empty(n_outputs)
    logged = np.empty(n_outputs, np.int64)
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
            _activate(hidden if layer < n_layers - 1 else output, z,
                      params[bias:bias + fan_out], exp_loop, tanh_loop, pointers, sizes)
            a = z
        # the loss and the output's delta, then the penalty (BLAS's dot per matrix, as numpy's)
        bias, out = table[n_layers - 1, 3], table[n_layers - 1, 4]
        loss = _loss_and_delta(output, units[out:out + n_outputs], y,
                               units[total + out:total + out + n_outputs],
                               grads[bias:bias + n_outputs], terms, eps, no_weights, logged,
                               means)
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
        if kind == ADAM:
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
                exact[layer] = summarise_step(a, d, current, signs, kept_table[layer, 0],
                                              known[layer], counts, layer, step, sums, flips,
                                              tiny, small)
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
            _update(kind, params, state_1, state_2, at, a, d, alpha, rate, momentum,
                    beta_2, epsilon, neg_rate)
            _update_intercept(kind, params, state_1, state_2, bias,
                              grads[bias:bias + fan_out], rate, momentum, beta_2, epsilon,
                              neg_rate)
        if whole:
            return step + 1, accumulated, True
        if record == SUMMARIES:
            for i in range(signs.shape[0]):  # a loop: numba's slice assignment costs more
                signs[i] = current[i]
            for i in range(n_layers):
                known[i] = exact[i]
    return stop - start, accumulated, False
