"""Reading a fitted history: find the MLP, check a metric or layer, take a column.

Shared by :mod:`centered_nn.metrics`, :mod:`centered_nn.plotting` and the
command line.
"""

from numbers import Integral

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from ._recorder import GradientSignRecorder


def find_mlp(estimator):
    """Return the fitted MLP inside ``estimator``.

    ``estimator`` itself is returned when it has ``loss_curve_``; a Pipeline
    is searched through its last step, recursively.
    """
    found = estimator
    while not hasattr(found, "loss_curve_"):
        if isinstance(found, Pipeline) or (
            hasattr(found, "steps") and hasattr(found, "_final_estimator")
        ):
            found = found.steps[-1][1]
            continue
        if hasattr(found, "record_gradient_signs"):  # one of ours, not fitted
            raise NotFittedError(
                f"This {type(found).__name__} instance is not fitted yet. Fit it (or the "
                "Pipeline holding it) before scoring or plotting its diagnostics."
            )
        where = "" if found is estimator else f" at the end of {type(estimator).__name__}"
        raise TypeError(
            "Expected a fitted MLP (an estimator with a loss_curve_ attribute, such "
            "as centered_nn.MLPClassifier or MLPRegressor) or a Pipeline ending in one; found "
            f"{type(found).__name__}{where}."
        )
    return found


def check_metric(metric):
    """Validate a gradient-sign metric name and return it."""
    valid = GradientSignRecorder.METRICS
    if not isinstance(metric, str) or metric not in valid:
        raise ValueError(
            f"metric must be one of {', '.join(map(repr, valid))}; got {metric!r}."
        )
    return metric


def check_layer(layer):
    """Validate a layer index (an int, negative counts from the end)."""
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, Integral):
        raise ValueError(f"layer must be an int; got {layer!r} of type "
                         f"{type(layer).__name__}.")
    return int(layer)


def fitted_history(mlp):
    """Return ``gradient_sign_history_`` of a fitted MLP, or raise."""
    history = getattr(mlp, "gradient_sign_history_", None)
    if history is None:
        raise ValueError(
            f"{type(mlp).__name__} has no gradient-sign history: fit "
            "centered_nn.MLPClassifier with record_gradient_signs=True."
        )
    return history


def history_values(history, metric):
    """Return the 2-D array (n_records, n_weight_matrices) of one metric."""
    if metric not in history:
        raise ValueError(f"The gradient-sign history has no metric {metric!r}; it "
                         f"holds {', '.join(map(repr, history))}.")
    values = np.asarray(history[metric], dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"History arrays must be 2-D (n_records, n_weight_matrices); "
                         f"got shape {values.shape} for {metric!r}.")
    return values


def history_column(history, metric, layer):
    """Return ``(values, layer)``: the metric's column for one weight matrix.

    ``layer`` is returned resolved to a non-negative index.
    """
    values = history_values(history, metric)
    n_matrices = values.shape[1]
    if not -n_matrices <= layer < n_matrices:
        raise ValueError(
            f"layer={layer} is out of range: the estimator has {n_matrices} weight "
            f"matrices (coefs_), so layer must be in [{-n_matrices}, {n_matrices - 1}]."
        )
    layer %= n_matrices
    return values[:, layer], layer
