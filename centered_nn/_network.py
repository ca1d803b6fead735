"""Fully connected network arithmetic in plain numpy: no scikit-learn here.

A network with L weight matrices is held as three lists of length L:

- ``coefs[l]``, shape (fan_in, fan_out): one column per unit (its incoming weights);
- ``intercepts[l]``, shape (fan_out,): the unit's bias c;
- ``offsets[l]``, shape (fan_in,) or None: the per-input offset b of the
  reparameterisation f = W(a + b) + c.

Layer l computes ``z = (a + b) @ W + c``. The offset is folded into the
intercept, ``z = a @ W + (b @ W + c)``, so a sparse input is never densified and
dense and sparse inputs share one code path; likewise the weight gradient is
``(a + b)ᵀ δ = aᵀ δ + b ⊗ Σδ``. The hidden activation is an object with
``value(z)`` and ``derivative(z, a)`` (see :mod:`centered_nn.activations`); the
output activation is ``'softmax'`` or ``'logistic'``.
"""

import numpy as np
from scipy.special import expit


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


def apply_output_activation(z, kind):
    """Apply the output activation ``'softmax'`` or ``'logistic'`` in place."""
    if kind == "softmax":
        shifted = z - z.max(axis=1)[:, np.newaxis]
        np.exp(shifted, out=z)
        z /= z.sum(axis=1)[:, np.newaxis]
    else:
        expit(z, out=z)
    return z


def weighted_mean(a, sample_weight=None):
    """Column means of a dense or sparse matrix, optionally sample-weighted."""
    if sample_weight is None:
        mean = a.mean(axis=0)
    else:
        mean = sample_weight @ a / sample_weight.sum()
    return np.asarray(mean, dtype=a.dtype).ravel()


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

    def __call__(self, layer, a, sample_weight, coef, intercept, offset):
        if layer in self.layers:
            self.set_mean(layer, weighted_mean(a, sample_weight), coef, intercept, offset)


def forward(X, coefs, intercepts, offsets, activation, out_activation, tracker=None,
            sample_weight=None):
    """Run the network forward.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    coefs, intercepts, offsets : lists of ndarray (offsets entries may be None)
    activation : object with ``value(z)``
    out_activation : {'softmax', 'logistic'}
    tracker : callable or None
        Called as ``tracker(l, a, sample_weight, W, c, b)`` before layer l uses
        its offset b (which it may move, compensating c); see :class:`OffsetTracker`.
    sample_weight : ndarray or None
        Passed to the tracker.

    Returns
    -------
    inputs : list of length L + 1
        ``inputs[l]`` is the input of weight matrix l (``inputs[0]`` is X) and
        ``inputs[L]`` the output probabilities.
    pre : list of length L - 1
        Hidden pre-activations z, needed by activation derivatives.
    """
    inputs, pre = [X], []
    last = len(coefs) - 1
    a = X
    for layer, (coef, intercept, offset) in enumerate(zip(coefs, intercepts, offsets)):
        z = a @ coef
        if offset is None:
            z += intercept
        else:
            if tracker is not None:
                tracker(layer, a, sample_weight, coef, intercept, offset)
            z += offset @ coef + intercept
        if layer < last:
            pre.append(z)
            a = activation.value(z)
        else:
            a = apply_output_activation(z, out_activation)
        inputs.append(a)
    return inputs, pre


def predict_proba(X, coefs, intercepts, offsets, activation, out_activation):
    """Output-layer probabilities, shape (n_samples, n_outputs)."""
    return forward(X, coefs, intercepts, offsets, activation, out_activation)[0][-1]


def log_loss(Y, P, out_activation, sample_weight=None):
    """Mean (sample-weighted) log-loss summed over output columns.

    Probabilities are clipped to [eps, 1 - eps] of their dtype. With a softmax
    output this is the categorical cross-entropy, with a logistic output the
    binary log-loss of every column (binary and multilabel targets).
    """
    eps = np.finfo(P.dtype).eps
    P = np.clip(P, eps, 1 - eps)
    if out_activation == "softmax":
        per_sample = -(np.log(P) * Y).sum(axis=1)
    else:
        per_sample = -np.log(np.where(Y, P, 1 - P)).sum(axis=1)
    return np.average(per_sample, weights=sample_weight)


def l2_penalty(coefs, alpha, sw_sum):
    """``0.5 * alpha * sum ||W||² / sw_sum`` (intercepts and offsets are free)."""
    squares = 0
    for coef in coefs:
        flat = coef.ravel()
        squares += np.dot(flat, flat)
    return (0.5 * alpha) * squares / sw_sum


def backward(Y, sample_weight, inputs, pre, coefs, offsets, activation, alpha,
             learn_offsets=False, recorder=None):
    """Gradients of the regularised mean log-loss.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
        Binary indicator targets.
    sample_weight : ndarray or None
    inputs, pre : lists returned by :func:`forward`
    coefs, offsets : lists of ndarray
    activation : object with ``derivative(z, a)``
    alpha : float
        L2 penalty on the weights.
    learn_offsets : bool
        Also return the gradient of the offsets, ``dL/db = W @ dL/dc``.
    recorder : object with ``observe(layer, inputs, delta, grad, offset=None)``, optional
        Receives each layer's input, delta (dL/dz summed with the sample
        weights) and data gradient ``(a + b)ᵀ δ`` before the penalty is added.

    Returns
    -------
    coef_grads, intercept_grads, offset_grads : lists of ndarray
        ``offset_grads[l]`` is None unless learn_offsets and layer l has an offset.
    """
    n_layers = len(coefs)
    sw_sum = Y.shape[0] if sample_weight is None else sample_weight.sum()
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers
    offset_grads = [None] * n_layers
    delta = inputs[-1] - Y
    if sample_weight is not None:
        delta *= sample_weight.reshape(-1, 1)
    for layer in range(n_layers - 1, -1, -1):
        a, coef, offset = inputs[layer], coefs[layer], offsets[layer]
        grad = a.T @ delta
        delta_sum = np.sum(delta, axis=0)
        if offset is not None:
            grad += np.outer(offset, delta_sum)
        if recorder is not None:
            recorder.observe(layer, a, delta, grad, offset=offset)
        grad += alpha * coef
        grad /= sw_sum
        coef_grads[layer] = grad
        intercept_grads[layer] = delta_sum / sw_sum
        if learn_offsets and offset is not None:
            offset_grads[layer] = coef @ intercept_grads[layer]
        if layer > 0:
            delta = delta @ coef.T
            delta *= activation.derivative(pre[layer - 1], inputs[layer])
    return coef_grads, intercept_grads, offset_grads
