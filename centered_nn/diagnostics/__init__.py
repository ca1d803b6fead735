"""Gradient-sign diagnostics for the zig-zag problem.

A neuron computes ``f = w . e + c``; for one sample ``dL/dw_i = (dL/df) e_i``,
so when every ``e_i > 0`` all its incoming weight gradients share one sign.
Weight matrices have shape ``(fan_in, fan_out)``; one unit is one column.
The effective layer input is ``E = A + offset``; zeros (and NaN) count as
neither sign.

The package holds the metric functions (:mod:`._functions`), the recorder
behind ``gradient_sign_history_`` (:mod:`._recorder`) with its metric names and
their columns (:mod:`._columns`), the sign kernels (:mod:`._sign_stats`), the
compiled kernels of one recorded step (:mod:`._kernels`, numba when available,
over the loops of :mod:`._kernel_loops`), the kept one-row steps
(:mod:`._kept_steps`) and the reading of a fitted history (:mod:`._history`),
which :mod:`centered_nn.metrics`, :mod:`centered_nn.plotting` and the command
line share.
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
from ._recorder import GradientSignRecorder

# For the package's other layers (metrics, plotting, the estimators, the command
# line): reading a fitted history and checking metric names. Not in __all__.
from ._history import (  # noqa: F401
    check_layer,
    check_metric,
    find_mlp,
    fitted_history,
    history_column,
    history_values,
)
from ._recorder import check_metrics  # noqa: F401

__all__ = [
    "same_sign_fraction",
    "sample_same_sign_fraction",
    "sign_flip_fraction",
    "input_mean",
    "positive_input_fraction",
    "InputSignStats",
    "GradientSignRecorder",
    "history_frame",
]
