"""Gradient-sign diagnostics for the zig-zag problem.

A neuron computes ``f = w . e + c``; for one sample ``dL/dw_i = (dL/df) e_i``,
so when every ``e_i > 0`` all its incoming weight gradients share one sign.
Weight matrices have shape ``(fan_in, fan_out)``; one unit is one column.
The effective layer input is ``E = A + offset``; zeros (and NaN) count as
neither sign.

The package holds the metrics of ``gradient_sign_history_`` as objects
(:mod:`._metrics`: :class:`StepMetric` and the one registry of built-ins) and
what they read of one step (:mod:`._step`), the metric functions on plain arrays
(:mod:`._functions`), the recorder (:mod:`._recorder`), the sign statistics
(:mod:`._sign_stats`), the compiled kernels of one recorded step
(:mod:`._kernels`, numba when available, over the loops of
:mod:`._kernel_loops`), the kept one-row steps (:mod:`._kept_steps`), the input
curvature (:mod:`._curvature`) and the reading of a fitted history
(:mod:`._history`), which :mod:`centered_nn.metrics`, :mod:`centered_nn.plotting`
and the command line share (they import those helpers from :mod:`._history`).
"""

from ._functions import (
    InputSignStats,
    input_mean,
    positive_input_fraction,
    same_sign_fraction,
    sample_same_sign_fraction,
    sign_flip_fraction,
)
from ._history import history_frame
from ._metrics import InputEigenvalueRatio, StepMetric
from ._recorder import GradientSignRecorder
from ._step import LayerStep

__all__ = [
    "same_sign_fraction",
    "sample_same_sign_fraction",
    "sign_flip_fraction",
    "input_mean",
    "positive_input_fraction",
    "InputSignStats",
    "GradientSignRecorder",
    "StepMetric",
    "InputEigenvalueRatio",
    "LayerStep",
    "history_frame",
]
