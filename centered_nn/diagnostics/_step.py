"""One weight matrix's view of one update step: what a :class:`~._metrics.StepMetric` reads.

A :class:`LayerStep` holds the step's arrays (the caller's, read only while the
step is recorded) and computes, once and only when a metric asks, the shared
statistics the built-in metrics read (the gradient's signs and column flags, the
effective input's row flags, positive count and sum, the compiled counts), so
that metrics recorded together share one pass over the arrays.
"""

import math

import numpy as np
import scipy.sparse as sp

from . import _kernels
from ._sign_stats import (
    _as_columns,
    _delta_rows,
    _effective,
    _grad_stats,
    _input_stats,
    _one_row_values,
    _ratio,
    _sample_fraction,
)


class LayerStep:
    """One weight matrix's arrays at one update step, as a :class:`StepMetric` sees them.

    Parameters
    ----------
    layer : int
        Index of the weight matrix ``coefs_[layer]`` (0 is fed by the raw features).
    inputs : {ndarray, sparse matrix} of shape (n_samples, fan_in)
        The layer's input a over the step's rows.
    delta : ndarray of shape (n_samples, fan_out)
        ``dL/dz`` per sample and unit, sample weights included.
    weight_gradient : ndarray of shape (fan_in, fan_out)
        The data term of the weight gradient, ``(a + b)ᵀ delta`` summed over the
        rows (no L2 term, not divided by the batch size or weight sum, before any
        momentum or Adam scaling); with gradient centralization the centred one,
        each column minus its mean over fan_in.
    offset : ndarray of shape (fan_in,), default=None
        The layer's per-input offset b (``input_biases_[layer]``), or None.
    sample_weight : ndarray of shape (n_samples,), default=None
        The rows' sample weights (``class_weight`` included), None for unit weights.
    centered : bool, default=False
        The step is gradient-centralized.
    previous_gradient_signs : ndarray of int8, default=None
        ``sign(weight_gradient)`` of this layer's previous step, when a metric
        read that step's :attr:`gradient_signs` (the built-in flip fraction
        does); after discarded steps, those of the last iteration's last step.
        None for the fit's first step.
    memory : dict, default=None
        A dict kept for this layer across the fit's steps, for a metric that
        warm-starts from its last step (key it by the metric's name).
    input_stats : InputSignStats, default=None
        Precomputed sign statistics of exactly these rows of the effective input.

    Attributes
    ----------
    effective_input : {ndarray, sparse matrix} of shape (n_samples, fan_in)
        ``inputs + offset`` (dense); the inputs themselves when there is no offset.
    gradient_signs : ndarray of int8, shape (fan_in, fan_out)
        ``sign(weight_gradient)``, NaN counted as 0.
    """

    __slots__ = ("layer", "inputs", "delta", "weight_gradient", "offset", "sample_weight",
                 "centered", "previous_gradient_signs", "memory", "input_stats", "_cache")

    def __init__(self, layer, inputs, delta, weight_gradient, offset=None, sample_weight=None,
                 centered=False, previous_gradient_signs=None, memory=None, input_stats=None):
        self.layer, self.inputs, self.delta = layer, inputs, delta
        self.weight_gradient, self.offset, self.sample_weight = weight_gradient, offset, \
            sample_weight
        self.centered, self.previous_gradient_signs = centered, previous_gradient_signs
        self.memory = {} if memory is None else memory
        self.input_stats, self._cache = input_stats, {}

    @property
    def effective_input(self):
        if "E" not in self._cache:
            a, b = self.inputs, self.offset
            if b is None:
                E = a
            else:
                E = _effective(a.toarray() if sp.issparse(a) else np.asarray(a), b)
            self._cache["E"] = E
        return self._cache["E"]

    @property
    def gradient_signs(self):
        return self._grad_statistics()[2]

    # -- the shared statistics of the built-in metrics (private to the diagnostics) ---

    def _grad_statistics(self):
        """``(same_sign_fraction, signed, signs)`` of the weight gradient (see _grad_stats)."""
        if "grad" not in self._cache:
            self._cache["grad"] = _grad_stats(_as_columns(self.weight_gradient), True, True)
        return self._cache["grad"]

    def _input_values(self, rows):
        """``(sample_same_sign_fraction or NaN, input_mean, positive_input_fraction)``.

        ``rows``: the sample fraction is wanted (its row flags computed). A result
        computed with rows serves a later call without.
        """
        cached = self._cache.get("inputs")
        if cached is not None and (cached[0] or not rows):
            return cached[1]
        values = self._compute_input_values(rows)
        self._cache["inputs"] = (rows, values)
        return values

    def _compute_input_values(self, rows):
        inputs, offset, delta = self.inputs, self.offset, self.delta
        if self.input_stats is None and type(inputs) is np.ndarray and inputs.ndim == 2 \
                and inputs.shape[0] == 1:  # one sample: flags as Python booleans
            E = inputs if offset is None else _effective(inputs, offset)
            return _one_row_values(E, delta, rows)
        # the gradient's signs, when known, spare the negative mask (no offset: with one,
        # rounding can leave G nonzero where every product is zero)
        grad = self._cache.get("grad")
        shortcut = grad is not None and grad[1] and offset is None
        if self.input_stats is None:
            stats = _input_stats(inputs, offset, rows=rows, unless_nonnegative=rows and shortcut)
        else:
            stats = self.input_stats._batch(inputs, offset, rows=rows)
        row_pos, row_neg, n_positive, total, size = stats
        sample = math.nan
        if rows and row_pos is None:
            # no row has both signs, and as G = aᵀ delta has a nonzero entry some
            # counted row has a nonzero delta: the fraction is 1
            _delta_rows(delta, inputs.shape[0])  # the check _sample_fraction makes
            sample = 1.0
        elif rows:
            sample = _sample_fraction(row_pos, row_neg, delta, shortcut)
        return sample, _ratio(total, size), _ratio(n_positive, size)

    def _compiled_counts(self, rows, compare):
        """The compiled kernels' counts of this step (see :func:`._kernels.step_stats`), or
        None where they do not apply (numba off, or arrays they do not take).

        ``rows`` is one of ``_kernels.NO_ROWS/SIGN_ROWS/VARYING_ROWS``; ``compare``: count
        flips against :attr:`previous_gradient_signs`. The signs become
        :attr:`gradient_signs`; the kernels count ``n_signed, n_single, n_both,
        n_differ, n_positive, total, num, den`` (``size`` appended: entries of a).
        """
        if "counts" not in self._cache:
            inputs, G = self.inputs, self.weight_gradient
            counts = None
            if _kernels.available() and _kernels.accepts(inputs, self.delta, G, self.offset):
                if self.input_stats is not None:  # not read: the kernels count the rows
                    self.input_stats._check(inputs)
                previous = self.previous_gradient_signs if compare else None
                counts, signs = _kernels.step_stats(G, previous, inputs, self.offset,
                                                    self.delta, rows)
                counts = (*counts, inputs.shape[0] * inputs.shape[1])
                self._cache["signs"] = signs
            self._cache["counts"] = counts
        return self._cache["counts"]

    def _signs_if_known(self):
        """The gradient's signs if a metric computed them (None otherwise)."""
        grad = self._cache.get("grad")
        return grad[2] if grad is not None else self._cache.get("signs")

    @classmethod
    def _from_signs(cls, layer, signs, previous, memory=None):
        """A step known by its gradient's signs only (a kept step's, see the recorder)."""
        step = cls(layer, None, None, None, previous_gradient_signs=previous, memory=memory)
        step._cache["grad"] = (math.nan, None, signs)
        return step
