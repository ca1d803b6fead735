"""Offset schemes: how the per-input offsets b of ``f = W(a + b) + c`` are set.

One class per value of the estimators' ``input_bias`` parameter, registered in
:data:`OFFSET_SCHEMES`; the parameter's validation is built from that registry.
A scheme is created at the first fit and held in the training state, so what it
streams (the first layer's mean, which running means are initialised) carries
over warm-started fits and ``partial_fit`` calls. Plain numpy.

The training loops call these hooks, always with the training part of X:

- :meth:`OffsetScheme.prepare` at the start of every fit or partial_fit call;
- :meth:`OffsetScheme.start_full_batch` when L-BFGS is about to optimise on the
  whole training part (after ``prepare``);
- :meth:`OffsetScheme.tracker` for the per-batch hook of the forward pass
  (a minibatch for sgd and adam, the whole training set for L-BFGS);
- :meth:`OffsetScheme.inference` before the network predicts (validation
  scores, the end of a call) and :meth:`OffsetScheme.sync` after early stopping
  restored a snapshot of the offsets;
- :meth:`OffsetScheme.finish` at the end of an L-BFGS optimisation.
"""

import warnings
from functools import partial

import numpy as np

from .network import OffsetTracker, batch_mean, center_layer_inputs, move_offset
from .._stats import RunningMean

__all__ = ["OFFSET_SCHEMES", "BatchOffsets", "LearnedOffsets", "MeanOffsets", "NoOffsets",
           "OffsetScheme"]


class OffsetScheme:
    """Base scheme: offsets on ``layers``, never moved.

    Parameters
    ----------
    layers : iterable of int
        Indices of the weight matrices that have an offset.
    init : {'zeros', 'center'}, default='zeros'
        The estimator's ``input_bias_init``: where a scheme that trains the
        offsets starts them (the other schemes set them from the data).

    Attributes
    ----------
    trainable : bool
        Class attribute: whether the optimiser trains the offsets.
    """

    name = None
    trainable = False

    #: Layers whose offset is the current batch's mean, differentiated through.
    batch_centered = frozenset()

    #: Whether the first layer's offset stays fixed during one fit or partial_fit call
    #: (so the sign statistics of the training rows can be computed once).
    first_offset_fixed = True

    def __init__(self, layers, init="zeros"):
        self.layers = frozenset(layers)
        self.init = init

    def prepare(self, net, X, sample_weight, *, first_pass, incremental):
        """Set the offsets the optimiser does not train, before a fit or partial_fit call.

        Parameters
        ----------
        net : Network
            The network, changed in place.
        X : {ndarray, sparse matrix}
            The training part of the data.
        sample_weight : ndarray or None
        first_pass : bool
            The network was just initialised.
        incremental : bool
            The call is a partial_fit.
        """

    def check_batches(self, rows, n_samples, batch_size):
        """Refuse a training setup the scheme cannot train, before a fit or partial_fit call.

        Parameters
        ----------
        rows : int
            Rows of a regular training step: the training loops' clipping of
            ``batch_size``, or all `n_samples` for L-BFGS.
        n_samples : int
            Rows of the training part of the data.
        batch_size : int, 'auto' or None
            The estimator's ``batch_size`` (None for L-BFGS), for messages.
        """

    def start_full_batch(self, net, X, sample_weight):
        """L-BFGS optimises next on this training part, the whole of it at each step."""

    def tracker(self, rate, full_batch=False):
        """Forward-pass hook for a training batch (``full_batch``: L-BFGS), or None.

        `rate` is the estimator's ``input_bias_rate``, the weight of a new batch
        in the running means a scheme keeps.
        """
        return None

    def inference(self, net):
        """Put the offsets that prediction uses in place."""

    def sync(self, net):
        """The offsets were restored from a snapshot: update what the scheme streams."""

    def finish(self, net, X, sample_weight):
        """Called after an L-BFGS optimisation on the same training part."""


class NoOffsets(OffsetScheme):
    """``input_bias='none'``: the plain network."""

    name = "none"

    def __init__(self, layers=(), init="zeros"):
        super().__init__((), init)


class LearnedOffsets(OffsetScheme):
    """``input_bias='learned'``: b trained by backpropagation, ``dL/db = W dL/dc``.

    With ``input_bias_init='center'`` the first fit starts from
    ``b = -(weighted mean of each layer's input)``, layer after layer through the
    initial network, without compensation (the network starts as the plain
    network on centred inputs).
    """

    name = "learned"
    trainable = True
    first_offset_fixed = False

    def prepare(self, net, X, sample_weight, *, first_pass, incremental):
        if first_pass and self.init == "center":
            center_layer_inputs(net, X, self.layers, sample_weight)


class MeanOffsets(OffsetScheme):
    """``input_bias='mean'``: b tracks ``-mean`` of each layer's input (Wiesler et al., 2014).

    First layer: the exact (sample-weighted) training mean, streamed across
    partial_fit calls. Hidden layers: a running mean over minibatches at rate
    ``input_bias_rate``, initialised by the first; with L-BFGS, one full pass
    at the start of each fit, held fixed, and a compensated re-centring at the
    end. Every move of an initialised offset is compensated in the intercept.
    """

    name = "mean"

    def __init__(self, layers, init="zeros"):
        super().__init__(layers, init)
        self._hidden = OffsetTracker(self.layers - {0}, rate=1.0)
        self._weight = 0.0  # total sample weight behind the first layer's mean

    def prepare(self, net, X, sample_weight, *, first_pass, incremental):
        if first_pass:
            self._weight = 0.0
        offset = net.offsets[0]
        streamed = incremental and self._weight > 0  # the mean of all data seen
        seen = RunningMean(-offset if streamed else None, self._weight if streamed else 0.0)
        mean = seen.add(X, sample_weight).mean.astype(offset.dtype, copy=False)
        if self._weight > 0:
            move_offset(net.coefs[0], net.intercepts[0], offset, -mean)
        else:
            offset[...] = -mean
        self._weight = seen.weight

    def start_full_batch(self, net, X, sample_weight):
        """Hidden offsets held fixed during L-BFGS: the means of one full pass."""
        self.finish(net, X, sample_weight)

    def tracker(self, rate, full_batch=False):
        return None if full_batch else partial(self._hidden, rate=rate)

    def finish(self, net, X, sample_weight):
        """One full pass: move each hidden offset to -(its input's mean on X), compensated."""
        net.forward(X, partial(self._hidden, rate=1.0), sample_weight)


class BatchOffsets(OffsetScheme):
    """``input_bias='batch'``: mean-only batch normalisation (Salimans and Kingma, 2016).

    In a training step b is minus the (sample-weighted) mean of the layer's
    input over the current minibatch (the whole training set for L-BFGS), and
    the gradient flows through that mean. Prediction uses running means of
    those batch means at rate ``input_bias_rate`` (the first batch
    initialises them), like BatchNorm's inference statistics; after L-BFGS,
    the final full-data means. Adding a constant vector to every sample of X
    therefore changes neither the trajectory nor the predictions on equally
    shifted data.

    Batch statistics of one sample centre every input to zero, so the centred
    layers get no data gradient: a regular minibatch of one sample is refused
    (:meth:`check_batches`), and a step on a minibatch of one row (the last one,
    when ``n_samples % batch_size == 1``) or whose sample weight sits on one
    row is taken as it is, with a warning once per call.
    """

    name = "batch"
    first_offset_fixed = False

    def __init__(self, layers, init="zeros"):
        super().__init__(layers, init)
        self.batch_centered = self.layers
        self._running = {}  # layer -> running mean of the batch means
        self._warned = False

    def prepare(self, net, X, sample_weight, *, first_pass, incremental):
        self._warned = False  # warn about one-sample minibatches once per call

    def check_batches(self, rows, n_samples, batch_size):
        if rows >= 2:
            return
        how = (f"solver='lbfgs' on {n_samples} training sample" if batch_size is None
               else f"batch_size={batch_size!r} on {n_samples} training sample(s)")
        raise ValueError(
            f"input_bias='batch' expected more than 1 value per channel when training, got "
            f"minibatches of 1 sample ({how}): the mean of one sample centres every input to "
            "zero, so the centred layers would not train. Use a batch_size of at least 2 "
            "(and at least 2 training samples), or input_bias='mean'."
        )

    def _center(self, layer, a, sample_weight, coef, intercept, offset, rate):
        if layer not in self.layers:
            return
        if not self._warned and layer == min(self.layers):
            self._warn_if_one_sample(a.shape[0], sample_weight)
        mean = batch_mean(a, sample_weight)
        offset[...] = -mean
        running = self._running.get(layer)
        if running is None or rate == 1.0:
            self._running[layer] = mean.copy()
        else:
            running += rate * (mean - running)

    def _warn_if_one_sample(self, n_rows, sample_weight):
        weighted = n_rows if sample_weight is None else np.count_nonzero(sample_weight)
        if weighted >= 2:
            return
        self._warned = True
        warnings.warn(
            f"input_bias='batch': a minibatch of {n_rows} row(s), {weighted} of them with nonzero "
            "sample weight, was centred on its one sample, so the centred layers' weights got "
            "no data gradient in that step (warned once per fit call). With "
            "n_samples % batch_size == 1 the last minibatch is such a row: choose a batch_size "
            "that leaves at least 2 samples in it.",
            UserWarning,
        )

    def tracker(self, rate, full_batch=False):
        return partial(self._center, rate=1.0 if full_batch else rate)

    def inference(self, net):
        for layer, mean in self._running.items():
            net.offsets[layer][...] = -mean

    def sync(self, net):
        for layer in self._running:
            self._running[layer] = -net.offsets[layer]

    def finish(self, net, X, sample_weight):
        """The final full-data means, as the last training forward pass saw them."""
        net.forward(X, self.tracker(1.0, full_batch=True), sample_weight)


#: ``input_bias`` values and their schemes.
OFFSET_SCHEMES = {cls.name: cls for cls in (NoOffsets, LearnedOffsets, MeanOffsets,
                                            BatchOffsets)}
