"""Offset schemes: how the per-input offsets b of ``f = W(a + b) + c`` are set.

One class per value of the estimators' ``input_bias`` parameter, registered in
:data:`OFFSET_SCHEMES`; the parameter's validation is built from that registry.
A scheme is created at the first fit and held in the training state, so what it
streams (the first layer's mean, which running means are initialised) carries
over warm-started fits and ``partial_fit`` calls. Plain numpy.

The training loops call three hooks, always with the training part of X:

- :meth:`OffsetScheme.prepare` at the start of every fit or partial_fit call;
- :meth:`OffsetScheme.tracker` for the per-minibatch hook of the forward pass
  (sgd and adam);
- :meth:`OffsetScheme.finish` at the end of an L-BFGS optimisation.
"""

from functools import partial

from ._network import OffsetTracker, move_offset, weighted_mean

__all__ = ["OFFSET_SCHEMES", "LearnedOffsets", "MeanOffsets", "NoOffsets", "OffsetScheme"]


class OffsetScheme:
    """Base scheme: offsets on ``layers``, never moved.

    Parameters
    ----------
    layers : iterable of int
        Indices of the weight matrices that have an offset.

    Attributes
    ----------
    trainable : bool
        Class attribute: whether the optimiser trains the offsets.
    """

    name = None
    trainable = False

    def __init__(self, layers):
        self.layers = frozenset(layers)

    def prepare(self, net, X, sample_weight, *, first_pass, incremental, lbfgs, init, rate):
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
        lbfgs : bool
            The solver is L-BFGS.
        init : {'zeros', 'center'}
            The estimator's ``input_bias_init``.
        rate : float
            The estimator's ``input_bias_rate``.
        """

    def tracker(self, rate):
        """Per-minibatch forward-pass hook for sgd/adam, or None."""
        return None

    def finish(self, net, X, sample_weight):
        """Called after an L-BFGS optimisation on the same training part."""


class NoOffsets(OffsetScheme):
    """``input_bias='none'``: the plain network."""

    name = "none"

    def __init__(self, layers=()):
        super().__init__(())


class LearnedOffsets(OffsetScheme):
    """``input_bias='learned'``: b trained by backpropagation, ``dL/db = W dL/dc``.

    With ``input_bias_init='center'`` the first fit starts from
    ``b = -(weighted mean of each layer's input)``, layer after layer through the
    initial network, without compensation (the network starts as the plain
    network on centred inputs).
    """

    name = "learned"
    trainable = True

    def prepare(self, net, X, sample_weight, *, first_pass, incremental, lbfgs, init, rate):
        if first_pass and init == "center":
            net.forward(X, OffsetTracker(self.layers, 1.0), sample_weight)


class MeanOffsets(OffsetScheme):
    """``input_bias='mean'``: b tracks ``-mean`` of each layer's input (Wiesler et al., 2014).

    First layer: the exact (sample-weighted) training mean, streamed across
    partial_fit calls. Hidden layers: a running mean over minibatches at rate
    ``input_bias_rate``, initialised by the first; with L-BFGS, one full pass
    at the start of each fit, held fixed, and a compensated re-centring at the
    end. Every move of an initialised offset is compensated in the intercept.
    """

    name = "mean"

    def __init__(self, layers):
        super().__init__(layers)
        self._hidden = OffsetTracker(self.layers - {0}, rate=1.0)
        self._weight = 0.0  # total sample weight behind the first layer's mean

    def prepare(self, net, X, sample_weight, *, first_pass, incremental, lbfgs, init, rate):
        weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        mean = weighted_mean(X, sample_weight)
        if first_pass:
            self._weight = 0.0
        if incremental and self._weight > 0:  # stream: the mean of all data seen
            mean = (-net.offsets[0] * self._weight + mean * weight) / (self._weight + weight)
        if self._weight > 0:
            move_offset(net.coefs[0], net.intercepts[0], net.offsets[0], -mean)
        else:
            net.offsets[0][...] = -mean
        self._weight = self._weight + weight if incremental else weight
        if lbfgs:
            self.finish(net, X, sample_weight)

    def tracker(self, rate):
        return partial(self._hidden, rate=rate)

    def finish(self, net, X, sample_weight):
        """One full pass: move each hidden offset to -(its input's mean on X), compensated."""
        net.forward(X, partial(self._hidden, rate=1.0), sample_weight)


#: ``input_bias`` values and their schemes.
OFFSET_SCHEMES = {cls.name: cls for cls in (NoOffsets, LearnedOffsets, MeanOffsets)}
