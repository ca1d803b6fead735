"""Reading a fitted history: find the MLP, check a metric or layer, take a column.

Shared by :mod:`centered_nn.metrics`, :mod:`centered_nn.plotting` and the
command line.
"""

from collections.abc import Mapping
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


def _import_pandas(caller):
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(f"{caller} requires pandas, an optional dependency of centered_nn. "
                          'Install it with: pip install "centered_nn[pandas]"') from exc
    return pandas


def _as_history(item):
    if isinstance(item, Mapping):
        held = [key for key, value in item.items() if hasattr(value, "get_params")]
        if held:
            raise TypeError(
                "histories must be a gradient_sign_history_ dict (metric name -> 2-D array "
                "of shape (n_iter, n_weight_matrices)), a fitted MLP or a Pipeline ending in "
                f"one, or a list of these; got a dict holding an estimator under {held[0]!r}. "
                "To label estimators, pass them as a list with labels=[...].")
        return item
    return fitted_history(find_mlp(item))


def history_frame(histories, labels=None):
    """Return gradient-sign histories as one tidy DataFrame.

    ``pd.DataFrame(clf.gradient_sign_history_)`` fails, because every metric
    holds a 2-D array (iterations × weight matrices). This function unrolls
    the arrays into one row per (iteration, weight matrix, metric), the shape
    that ``pandas`` grouping and seaborn-style plotting expect.

    Parameters
    ----------
    histories : dict, estimator, or list of them
        A ``gradient_sign_history_`` dict, a fitted MLP (or a Pipeline ending
        in one) whose history is read, or a list mixing both.

    labels : str or list of str, default=None
        One label per history, stored in a ``label`` column. If None and
        several histories are given, they are labelled "0", "1", ...; a single
        history gets no ``label`` column.

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``label`` (when there is one), ``iteration`` (1-based, as
        ``loss_curve_``), ``layer`` (the ``coefs_`` index), ``metric`` and
        ``value``; histories in the given order, then metrics in the
        history's order, then iterations, then layers.

    Raises
    ------
    ImportError
        If pandas is not installed (``pip install "centered_nn[pandas]"``).

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.diagnostics import history_frame
    >>> history = {"same_sign_fraction": np.array([[1.0, 0.5], [0.8, 0.25]])}
    >>> history_frame(history)
       iteration  layer              metric  value
    0          1      0  same_sign_fraction   1.00
    1          1      1  same_sign_fraction   0.50
    2          2      0  same_sign_fraction   0.80
    3          2      1  same_sign_fraction   0.25
    """
    pd = _import_pandas("history_frame")
    several = isinstance(histories, (list, tuple))
    items = list(histories) if several else [histories]
    if not items:
        raise ValueError("histories is empty: nothing to put in a frame.")
    if labels is not None:
        labels = [labels] if isinstance(labels, str) else list(labels)
        if len(labels) != len(items):
            raise ValueError(f"Got {len(labels)} labels for {len(items)} histories; pass "
                             "one per history.")
    elif several:
        labels = [str(i) for i in range(len(items))]
    parts = []
    for i, item in enumerate(items):
        history = _as_history(item)
        for metric in history:
            values = history_values(history, metric)
            n_iter, n_layers = values.shape
            part = {"iteration": np.repeat(np.arange(1, n_iter + 1), n_layers),
                    "layer": np.tile(np.arange(n_layers), n_iter),
                    "metric": np.full(values.size, metric, dtype=object),
                    "value": values.ravel()}
            if labels is not None:
                part = {"label": np.full(values.size, labels[i], dtype=object), **part}
            parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)
