"""Fully connected network arithmetic in plain numpy: no scikit-learn here.

A network with L weight matrices is held as three lists of length L:

- ``coefs[l]``, shape (fan_in, fan_out): one column per unit (its incoming weights);
- ``intercepts[l]``, shape (fan_out,): the unit's bias c;
- ``offsets[l]``, shape (fan_in,) or None: the per-input offset b of the
  reparameterisation f = W(a + b) + c (the estimators' ``input_bias``, fitted as
  ``input_biases_``; "offset" here and in the rest of the package's internals).

Layer l computes ``z = (a + b) @ W + c``. The offset is folded into the
intercept, ``z = a @ W + (b @ W + c)``, so a sparse input is never densified and
dense and sparse inputs share one code path; likewise the weight gradient is
``(a + b)ᵀ δ = aᵀ δ + b ⊗ Σδ``. The hidden activation is an object with
``value(z)`` and ``derivative(z, a)`` (see :mod:`centered_nn.activations`); the
output layer is an :class:`centered_nn._network.output.OutputLayer` (or its registered name).
:class:`Network` bundles the three lists with the two activations.
"""

from dataclasses import dataclass

import numpy as np

from . import fused
from .output import OUTPUT_LAYERS
from .activation_calls import derivative_needs_value_only, multiply_by_derivative, write_value
from .._stats import RunningMean, weighted_mean


def init_parameters(rng, layer_units, init_factor, dtype):
    """Glorot-uniform initialisation, drawn as scikit-learn draws it.

    For each layer the weights (fan_in, fan_out) and then the intercepts
    (fan_out,) are drawn in float64 from U(-bound, bound) with
    ``bound = sqrt(init_factor / (fan_in + fan_out))``, then cast to `dtype`.
    """
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(init_factor / (fan_in + fan_out))
        coef = rng.uniform(-bound, bound, (fan_in, fan_out))
        intercept = rng.uniform(-bound, bound, fan_out)
        coefs.append(coef.astype(dtype, copy=False))
        intercepts.append(intercept.astype(dtype, copy=False))
    return coefs, intercepts


def move_offset(coef, intercept, offset, new_offset):
    """Set ``offset`` to ``new_offset`` in place without changing the layer's output.

    ``(a + b) @ W + c`` is unchanged when b moves by Δ and c by ``-Δ @ W``.
    """
    intercept -= (new_offset - offset) @ coef
    offset[...] = new_offset


class OffsetTracker:
    """Offsets that follow the negative running mean of each layer's input.

    This is mean-normalised SGD (Wiesler et al., 2014): the offset is not
    trained; after a layer's input ``a`` for a minibatch is known, its running
    mean ``m`` is updated as ``m <- m + rate * (mean(a) - m)`` (the first batch
    initialises it) and ``b = -m``. Every move of an initialised offset is
    compensated in the intercept so the network's function does not change.

    Parameters
    ----------
    layers : iterable of int
        Indices of the weight matrices whose offsets are tracked per batch.
    rate : float
        Weight of the newest batch in the running mean.
    """

    def __init__(self, layers, rate):
        self.layers = frozenset(layers)
        self.rate = rate
        self.initialised = set()

    def set_mean(self, layer, mean, coef, intercept, offset, rate=None):
        """Move ``offset`` towards ``-mean`` (``rate=None``: the tracker's rate)."""
        if layer not in self.initialised:
            offset[...] = -mean
            self.initialised.add(layer)
            return
        rate = self.rate if rate is None else rate
        move_offset(coef, intercept, offset, offset - rate * (mean + offset))

    def __call__(self, layer, a, sample_weight, coef, intercept, offset, rate=None):
        """Update the offset of ``layer`` (if tracked) from its input ``a``."""
        if layer in self.layers:
            self.set_mean(layer, batch_mean(a, sample_weight), coef, intercept, offset, rate)


def batch_mean(a, sample_weight):
    """``weighted_mean(a, sample_weight, dtype=a.dtype)``: a batch's (weighted) input mean,
    an unweighted one's column sums compiled where allowed (:func:`.fused.column_means`)."""
    mean = fused.column_means(a) if sample_weight is None else None
    return weighted_mean(a, sample_weight, dtype=a.dtype) if mean is None else mean


def forward(X, net, tracker=None, sample_weight=None, keep_pre=False):
    """Run the network forward.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    net : Network
        Its three parameter lists (``offsets`` entries may be None), its hidden
        activation (an object with ``value(z)``) and its output layer (an
        OutputLayer, or its name in :data:`centered_nn._network.output.OUTPUT_LAYERS`).
    tracker : callable or None
        Called as ``tracker(l, a, sample_weight, W, c, b)`` before layer l uses
        its offset b (which it may move, compensating c); see :class:`OffsetTracker`.
    sample_weight : ndarray or None
        Passed to the tracker.
    keep_pre : bool, default=False
        Keep the hidden pre-activations even when the activation's derivative
        is a function of its value (its ``derivative_from_value``); such an
        activation is otherwise written over z, as scikit-learn does, saving
        one array per hidden layer.

    Returns
    -------
    inputs : list of length L + 1
        ``inputs[l]`` is the input of weight matrix l (``inputs[0]`` is X) and
        ``inputs[L]`` the output (probabilities, or predicted values).
    pre : list of length L - 1
        Hidden pre-activations z, needed by activation derivatives, or the
        same arrays as ``inputs[1:-1]`` when written over (see `keep_pre`;
        :func:`~.activation_calls.multiply_by_derivative` tells them apart).
    """
    coefs, activation, output = net.coefs, net.activation, net.output
    if isinstance(output, str):
        output = OUTPUT_LAYERS[output]()
    inputs, pre = [X], []
    in_place = not keep_pre and derivative_needs_value_only(activation)
    last = len(coefs) - 1
    a = X
    for layer, (coef, intercept, offset) in enumerate(zip(coefs, net.intercepts, net.offsets)):
        if offset is not None and tracker is not None:
            tracker(layer, a, sample_weight, coef, intercept, offset)
        z, c = a @ coef, layer_bias(coef, intercept, offset)
        if layer < last:
            pre.append(z)
            if in_place and fused.activate(activation, z, c):  # one compiled pass
                a = z
            else:
                z += c
                a = write_value(activation, z, z) if in_place else activation.value(z)
        else:
            a = z if fused.output(output, z, c) else output.apply(_add(z, c))
        inputs.append(a)
    return inputs, pre


def layer_bias(coef, intercept, offset):
    """What a layer adds to ``a @ W``: ``c``, or ``b @ W + c`` with an offset b."""
    return intercept if offset is None else offset @ coef + intercept


def pre_activation(a, coef, intercept, offset):
    """One layer's ``z = (a + b) @ W + c``, the offset folded into the intercept.

    `a` may be sparse (``a @ W`` is dense); `offset` is None for a layer without one.
    """
    return _add(a @ coef, layer_bias(coef, intercept, offset))


def center_layer_inputs(net, X, layers, sample_weight=None, chunk_rows=1024):
    """Set the offsets of `layers` to minus the (weighted) mean of each one's input on X.

    Layer after layer through the network as it stands, without compensation
    (the offsets a forward pass with an ``OffsetTracker`` at rate 1 would set),
    but in chunks of `chunk_rows` rows and only as deep as each layer: the
    memory is a chunk of the widest layer, not every layer's activations for
    all of X. The chunks' means are combined in float64 (a
    :class:`~centered_nn._stats.RunningMean`) and rounded once to the offsets' dtype.

    Parameters
    ----------
    net : Network
        Changed in place: ``net.offsets[l]`` for each l in `layers`.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    layers : iterable of int
        Weight matrices whose offsets are set; each must have one.
    sample_weight : ndarray of shape (n_samples,), default=None
    chunk_rows : int, default=1024
    """
    for target in sorted(layers):
        seen = RunningMean(np.zeros(net.coefs[target].shape[0]))  # in float64
        for start in range(0, X.shape[0], chunk_rows):
            rows = slice(start, start + chunk_rows)
            a = X[rows]
            for layer in range(target):  # the layers before `target`, as forward runs them
                z = pre_activation(a, net.coefs[layer], net.intercepts[layer], net.offsets[layer])
                a = write_value(net.activation, z, z)  # in place where the activation can
            seen.add(a, None if sample_weight is None else sample_weight[rows])
        net.offsets[target][...] = -seen.mean


def l2_penalty(coefs, alpha, sw_sum):
    """``0.5 * alpha * sum ||W||² / sw_sum`` (intercepts and offsets are free)."""
    squares = 0
    for coef in coefs:
        flat = coef.ravel()
        squares += np.dot(flat, flat)
    return (0.5 * alpha) * squares / sw_sum


@dataclass(frozen=True)
class BackwardOptions:
    """What :func:`backward` needs to know about the fit's options.

    Parameters
    ----------
    alpha : float
        L2 penalty on the weights.
    learn_offsets : bool, default=False
        Also return the gradient of the offsets, ``dL/db = W @ dL/dc``.
    batch_centered : frozenset of int, default=frozenset()
        Layers whose offset is minus the (sample-weighted) mean of their input
        over this batch, differentiated through: the input gradient of such a
        layer is ``g_s - p_s sum_t g_t`` with ``g = delta W^T`` and ``p`` the
        normalised sample weights.
    centralize : bool, default=False
        Gradient centralization (Yong et al., 2020): subtract from each column
        of each weight gradient (L2 term included) its mean over fan_in.
    """

    alpha: float
    learn_offsets: bool = False
    batch_centered: frozenset = frozenset()
    centralize: bool = False


def backward(delta, sample_weight, inputs, pre, net, options, out=None, step=None,
             delta_sum=None):
    """Backpropagate the output gradient: gradients of the regularised mean loss.

    Parameters
    ----------
    delta : ndarray of shape (n_samples, n_outputs)
        Per-sample gradient of the data term with respect to the output
        pre-activation (``OutputLayer.gradient``, ``P - Y``); a new array,
        overwritten.
    sample_weight : ndarray or None
    inputs, pre : lists returned by :func:`forward`
    net : Network
        Its ``coefs``, ``offsets`` and ``activation`` are read.
    options : BackwardOptions
    out : tuple of three lists, optional
        Arrays to write the gradients into, shaped and ordered as the returned
        lists (``None`` where no offset gradient is returned), of the dtype the
        gradients have (e.g. views of :class:`~centered_nn._training.layout.FlatParameters.grads`).
    step : BackwardStep, optional
        Filled with each layer's delta; when it keeps the data terms, the weight
        gradients are returned as such, the penalty left to
        :meth:`BackwardStep.finish` (see :meth:`Network.gradient_step`).
    delta_sum : ndarray of shape (n_outputs,), optional
        The column sums of `delta` when the caller has already multiplied it by
        the sample weights (:func:`.fused.loss_and_delta`).

    Returns
    -------
    coef_grads, intercept_grads, offset_grads : lists of ndarray
        ``offset_grads[l]`` is None unless ``options.learn_offsets`` and layer l
        has an offset.
    """
    coefs, offsets, activation = net.coefs, net.offsets, net.activation
    alpha, centralize = options.alpha, options.centralize
    data_terms = step is not None and step.data_terms  # the penalty waits for finish()
    # a step an observer may finish leaves the offset terms pending where they can join
    # the penalty's pass (see BackwardStep.take_penalty)
    defer = data_terms and step.handover and not centralize
    n_layers = len(coefs)
    sw_sum = delta.shape[0] if sample_weight is None else sample_weight.sum()
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers
    offset_grads = [None] * n_layers
    if sample_weight is not None and delta_sum is None:
        delta *= sample_weight.reshape(-1, 1)
    coef_out, intercept_out, offset_out = ([None] * n_layers,) * 3 if out is None else out
    for layer in range(n_layers - 1, -1, -1):
        a, coef, offset = inputs[layer], coefs[layer], offsets[layer]
        grad = _product(a.T, delta, coef_out[layer])
        if delta_sum is None:
            delta_sum = np.add.reduce(delta, axis=0, out=intercept_out[layer])
        # the offset's term, the penalty and the scale in one compiled pass where allowed
        fold = not (centralize or data_terms) and fused.penalty_fits(grad, coef, alpha, sw_sum)
        if defer and offset is not None and fused.penalty_fits(grad, coef, alpha, sw_sum, True) \
                and fused.shift_fits(grad, offset, delta_sum):
            # a copy: writing the intercept gradient below may overwrite delta_sum
            step._pending[layer] = (offset, delta_sum.copy())
        elif offset is not None and not fold and not fused.shift(grad, offset, delta_sum):
            grad += np.outer(offset, delta_sum)
        if centralize:
            _centralize(grad)
        if step is not None:
            step.deltas[layer] = delta
        if fold:
            fused.penalize(grad, coef, offset, delta_sum, alpha, sw_sum)
        elif not data_terms:
            add_penalty(grad, coef, options, sw_sum)
        coef_grads[layer] = grad
        # in place when writing into `out`, whose dtype the caller matched to this quotient
        intercept_grads[layer] = np.divide(delta_sum, sw_sum, out=intercept_out[layer])
        if options.learn_offsets and offset is not None:
            offset_grads[layer] = _product(coef, intercept_grads[layer], offset_out[layer])
        if layer > 0:
            delta = delta @ coef.T
            if layer in options.batch_centered:  # the path through the batch mean
                _center_columns(delta, sample_weight, sw_sum)
            # with its column sums in one compiled pass where allowed; else numpy's,
            # in place, pre[layer - 1] as scratch unless it is the activation itself
            delta_sum = fused.multiply_by_derivative(activation, inputs[layer], delta,
                                                     intercept_out[layer - 1])
            if delta_sum is None:
                multiply_by_derivative(activation, pre[layer - 1], inputs[layer], delta)
    return coef_grads, intercept_grads, offset_grads


def add_penalty(grad, coef, options, sw_sum):
    """Turn a weight gradient's data term into the gradient: add the L2 term (centred
    under gradient centralization), divide by the batch's size or weight sum; in place."""
    if not options.centralize and fused.penalty_fits(grad, coef, options.alpha, sw_sum):
        fused.penalize(grad, coef, None, None, options.alpha, sw_sum)  # one compiled pass
        return grad
    if fused.centered_penalty(grad, coef, options.alpha, sw_sum) if options.centralize \
            else fused.wider_penalty(grad, coef, options.alpha, sw_sum):
        return grad  # the same in one compiled call (centred; or float32 weights)
    grad += options.alpha * coef
    if options.centralize:
        grad -= options.alpha * coef.mean(axis=0)
    grad /= sw_sum
    return grad


class BackwardStep:
    """One batch's backward pass, every layer's arrays at once: what training's observers see.

    Built by :meth:`Network.gradient_step`. With ``data_terms``, until
    :meth:`finish` the weight gradients hold their data terms, ``(a + b)ᵀ δ``
    (centred under gradient centralization), without the L2 term and not
    divided by the batch size; without, they are the gradients already.

    With ``handover`` (the step's one observer may finish it), an observer may
    take a layer's penalty pass with :meth:`take_penalty` and make its data term
    the gradient in its own pass over it; the offset term ``b ⊗ Σδ`` of such a
    layer waits for that pass too, and :attr:`weight_gradients` adds it (as
    ``np.outer`` would, bit for bit) when first read.

    Attributes
    ----------
    inputs : list of ndarray or sparse matrix
        ``inputs[l]``: the input a of weight matrix l (``inputs[0]`` is X).
    offsets : list of ndarray or None
        The offsets b the step used.
    deltas : list of ndarray
        ``dL/dz`` of each layer's output, sample weights included.
    weight_gradients : list of ndarray
        The data terms until :meth:`finish`, the weight gradients after.
    intercept_gradients, offset_gradients : lists
        As :func:`backward` returns them.
    sample_weight : ndarray or None
    centered : bool
        Gradient centralization.
    rows : ndarray of int or None
        The batch's rows of the fit's training X, set by the training loop
        (None: all of them, in order).
    data_terms : bool
        Whether the weight gradients wait for :meth:`finish` to become gradients.
    handover : bool
        Whether :meth:`take_penalty` may hand a layer's penalty to an observer.
    """

    __slots__ = ("inputs", "offsets", "deltas", "_weight_gradients", "intercept_gradients",
                 "offset_gradients", "sample_weight", "centered", "rows", "data_terms",
                 "handover", "_finish", "_pending", "_taken")

    def __init__(self, inputs, offsets, sample_weight, centered, data_terms=True,
                 handover=False):
        self.data_terms, self.handover = data_terms, handover and data_terms
        self.inputs, self.offsets = inputs, list(offsets)
        n_layers = len(self.offsets)
        self.deltas = [None] * n_layers
        self.sample_weight, self.centered, self.rows = sample_weight, centered, None
        self._weight_gradients = self.intercept_gradients = self.offset_gradients = None
        self._finish = None
        # per layer: the offset term (offset, delta sums) not yet added; taken by an observer
        self._pending, self._taken = [None] * n_layers, [False] * n_layers

    @property
    def weight_gradients(self):
        grads = self._weight_gradients
        for layer, pending in enumerate(self._pending):
            if pending is not None:
                self._pending[layer] = None
                fused.shift(grads[layer], *pending)  # fused.shift_fits was checked
        return grads

    @weight_gradients.setter
    def weight_gradients(self, grads):
        self._weight_gradients = grads

    def take_penalty(self, layer):
        """Hand the penalty pass of weight matrix `layer` to the caller (an observer).

        Returns ``(grad, coef, offset, sums, alpha, scale)`` and leaves the layer
        to the caller, who must make ``grad`` the weight gradient in place,
        bit for bit as :func:`.fused_loops.penalize` does with these arguments:
        each entry ``g`` (plus ``offset[i] * sums[j]`` when `offset` is not None:
        the offset term, still pending) becomes ``(g + alpha * coef[i, j]) / scale``
        (`alpha` and `scale` in grad's dtype). :meth:`finish` then leaves the layer
        as it is. Read ``grad`` from this tuple, not from :attr:`weight_gradients`.

        Returns None where the penalty is not handed over: the step is not
        ``handover`` (several observers, or none, watch it, or it holds no data
        terms), gradient centralization, arrays or scalars the compiled penalty
        does not take (see :func:`.fused.penalty_fits`), or taken already.
        """
        if not self.handover or self._finish is None or self._taken[layer]:
            return None
        coefs, options, sw_sum = self._finish
        grad, coef = self._weight_gradients[layer], coefs[layer]
        scalars = None if options.centralize else fused.penalty_scalars(
            grad, coef, options.alpha, sw_sum)
        if scalars is None:
            return None
        self._taken[layer] = True
        pending, self._pending[layer] = self._pending[layer], None
        offset, sums = (None, None) if pending is None else pending
        return grad, coef, offset, sums, *scalars

    def finish(self):
        """Add the penalty to the weight gradients (once); returns the three gradient lists.

        A layer whose penalty an observer took is left as that observer made it;
        one whose offset term is pending gets it in the penalty's pass.
        """
        if self._finish is not None:
            coefs, options, sw_sum = self._finish
            grads = self._weight_gradients
            for layer, (grad, coef) in enumerate(zip(grads, coefs)):
                pending = self._pending[layer]
                if self._taken[layer]:
                    continue
                if pending is not None:  # penalty_fits(..., any_size=True) was checked
                    self._pending[layer] = None
                    fused.penalize(grad, coef, *pending, options.alpha, sw_sum)
                else:
                    add_penalty(grad, coef, options, sw_sum)
            self._finish = None
        return self.weight_gradients, self.intercept_gradients, self.offset_gradients


def _center_columns(delta, sample_weight, sw_sum):
    """The backward path through a batch mean: ``delta`` minus the outer product of the
    normalised sample weights with its column sums, in place."""
    if fused.center_columns(delta, sample_weight, sw_sum):  # one compiled call
        return
    if sample_weight is None:  # every share 1/n: one row of products, broadcast
        delta -= np.full(1, 1.0 / delta.shape[0]) * delta.sum(axis=0)
    else:
        delta -= np.outer(sample_weight / sw_sum, delta.sum(axis=0))


def _centralize(grad):
    """Gradient centralization of a weight gradient in place: ``grad -= grad.mean(axis=0)``."""
    if not fused.centralize(grad):  # else numpy's two calls
        grad -= grad.mean(axis=0)


def _add(z, c):
    z += c
    return z


def _product(a, b, out=None):
    """``a @ b``, written into `out` when given (a copy if `a` is sparse)."""
    if out is None:
        return a @ b
    if isinstance(a, np.ndarray):
        return np.matmul(a, b, out=out)
    out[...] = a @ b
    return out


class Network:
    """A network's parameters with its hidden activation and output layer.

    The lists are held by reference (an estimator's ``coefs_``,
    ``intercepts_`` and ``input_biases_``); every method that changes a
    parameter does so in place.

    Parameters
    ----------
    coefs, intercepts, offsets : lists of ndarray
        See the module docstring (``offsets`` entries may be None).
    activation : object with ``value(z)`` and ``derivative(z, a)``
    output : OutputLayer (or its name, see :func:`forward`)
    """

    def __init__(self, coefs, intercepts, offsets, activation, output):
        self.coefs = coefs
        self.intercepts = intercepts
        self.offsets = offsets
        self.activation = activation
        self.output = output

    def forward(self, X, tracker=None, sample_weight=None, keep_pre=False):
        """:func:`forward` through this network."""
        return forward(X, self, tracker, sample_weight, keep_pre)

    def predict(self, X):
        """The output layer's values, shape (n_samples, n_outputs)."""
        return self.forward(X)[0][-1]

    def gradient_step(self, X, Y, sample_weight, options, tracker=None, out=None,
                      data_terms=True, handover=False):
        """Reported loss (with the L2 penalty) and the backward pass on one batch.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
        Y : ndarray of shape (n_samples, n_outputs)
            The output layer's target.
        sample_weight : ndarray or None
        options : BackwardOptions
        tracker : callable or None
            See :func:`forward`.
        out
            See :func:`backward`.
        data_terms : bool, default=True
            Keep the weight gradients' data terms until ``step.finish()`` (for
            observers of the step); False adds the penalty at once.
        handover : bool, default=False
            The step's one observer may take a layer's penalty pass
            (:meth:`BackwardStep.take_penalty`); only with `data_terms`.

        Returns
        -------
        loss : float
            ``output.loss`` plus :func:`l2_penalty`.
        step : BackwardStep
            The step's arrays; ``step.finish()`` gives the gradients
            :func:`backward` returns.
        """
        sw_sum = X.shape[0] if sample_weight is None else sample_weight.sum()
        if not sw_sum > 0:
            negative = sample_weight is not None and bool((sample_weight < 0).any())
            remedy = ("sample weights must be non-negative, with a positive sum in every "
                      "minibatch" if negative else
                      "drop the zero-weight samples or use a larger batch_size")
            raise ValueError(
                f"The sample weights of a batch of {X.shape[0]} sample(s) sum to {sw_sum}"
                f"{' and include negative weights' if negative else ''}: the batch loss is "
                f"undefined; {remedy}."
            )
        inputs, pre = self.forward(X, tracker, sample_weight)
        # the loss, the weighted delta and its column sums in compiled passes where allowed
        fused_output = fused.loss_and_delta(self.output, Y, inputs[-1], sample_weight,
                                            None if out is None else out[1][-1])
        if fused_output is None:
            loss = self.output.loss(Y, inputs[-1], sample_weight)
            delta, delta_sum = self.output.gradient(Y, inputs[-1]), None
        else:
            loss, delta, delta_sum = fused_output
        loss += l2_penalty(self.coefs, options.alpha, sw_sum)
        step = BackwardStep(inputs, self.offsets, sample_weight, options.centralize,
                            data_terms, handover)
        (step.weight_gradients, step.intercept_gradients,
         step.offset_gradients) = backward(delta, sample_weight, inputs, pre, self, options,
                                           out, step, delta_sum)
        if data_terms:
            step._finish = (self.coefs, options, sw_sum)
        return loss, step
