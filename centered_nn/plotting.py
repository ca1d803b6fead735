"""Display objects for gradient-sign diagnostics, in scikit-learn's style.

matplotlib is an optional dependency (``pip install "centered_nn[plot]"``);
it is imported only when something is drawn.
"""

from collections.abc import Mapping

import numpy as np

from .diagnostics._metrics import document_metrics
from .diagnostics._history import (
    check_layer,
    check_metric,
    find_mlp,
    fitted_history,
    history_column,
    history_values,
)

__all__ = ["GradientSignDisplay"]

_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")
#: roughly how many markers a curve gets
_MARKERS_PER_CURVE = 8


def _curve_style(i, n, n_points):
    """Colour, marker and staggered marker positions of curve ``i`` of ``n``.

    Curves that coincide stay distinguishable: each has its own colour and
    marker, and the markers of curve ``i`` sit at points ``offset_i + k * step``
    with a distinct offset per curve (step >= n), so identical curves show
    every marker side by side instead of one hiding the other (when there
    are at least ``n`` points).
    """
    step = max(n, n_points // _MARKERS_PER_CURVE)
    offset = (i * step // n) % max(n_points, 1)  # fewer points than curves: share
    return {"color": f"C{i % 10}", "marker": _MARKERS[i % len(_MARKERS)],
            "markevery": (offset, step), "markersize": 5}


def _legend_outside(ax):
    """Draw the legend of ``ax`` to the right of the axes, where it covers no data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _check_matplotlib(caller_name="centered_nn.plotting"):
    """Raise an ImportError naming the ``plot`` extra if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"{caller_name} requires matplotlib, an optional dependency of "
            'centered_nn. Install it with: pip install "centered_nn[plot]"'
        ) from e


def _as_list(value, name, n, kind):
    """Turn ``value`` (None, one ``kind`` or a list of them) into a list of n."""
    if value is None:
        return [None] * n
    if isinstance(value, kind):
        value = [value]
    value = list(value)
    if len(value) != n:
        raise ValueError(f"Got {len(value)} {name} for {n} estimator(s); pass one per "
                         "estimator.")
    return value


@document_metrics
class GradientSignDisplay:
    """Gradient-sign diagnostics over training iterations.

    Draws one line per (estimator, weight matrix): a metric of
    ``gradient_sign_history_`` against the iteration number. Several
    estimators share one axis, which makes centring setups easy to compare.

    It is recommended to use :meth:`from_estimator` or :meth:`from_history`
    to create a display. All parameters are stored as attributes.

    Parameters
    ----------
    histories : list of dict
        One gradient-sign history per estimator: a dict mapping metric names
        to arrays of shape (n_records, n_weight_matrices), as in
        ``MLPClassifier.gradient_sign_history_``.

    labels : list of str, default=None
        One legend label per history. If None, a single history is labelled
        by layer only and several histories are called "estimator 0", ...

    metric : METRIC_CHOICES or StepMetric, default='same_sign_fraction'
        The metric to draw (a user's :class:`~centered_nn.diagnostics.StepMetric`:
        the one recorded).

    layers : int or list of int, default=None
        The weight matrices (``coefs_`` indices) to draw; negative values
        count from the end. If None, all of them.

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        The drawn lines, estimator-major: all layers of the first estimator,
        then those of the second, and so on.

    ax_ : matplotlib Axes
        Axes with the lines.

    figure_ : matplotlib Figure
        Figure containing the axes.

    See Also
    --------
    centered_nn.metrics.gradient_sign_scorer : The same diagnostics as a
        single number, for GridSearchCV.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from centered_nn.plotting import GradientSignDisplay
    >>> history = {"same_sign_fraction": np.array([[1.0, 0.5], [0.8, 0.25]])}
    >>> display = GradientSignDisplay([history]).plot()
    >>> [line.get_label() for line in display.lines_]
    ['layer 0', 'layer 1']
    >>> display.lines_[1].get_ydata()
    array([0.5 , 0.25])
    """

    def __init__(self, histories, labels=None, metric="same_sign_fraction", layers=None):
        self.histories = histories
        self.labels = labels
        self.metric = metric
        self.layers = layers

    def plot(self, ax=None, **kwargs):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        **kwargs : dict
            Keyword arguments passed to ``ax.plot`` for every line. When
            several estimators share the axes, each gets its own colour and
            marker (markers staggered, so identical curves stay visible) and
            each layer its own line style; `color`, `marker`, `markevery`,
            `linestyle` (or their aliases) override that.

        Notes
        -----
        The legend is placed outside the axes, to their right, so that it
        never covers a curve. A figure created here uses the constrained
        layout, which makes room for it; with your own `ax`, use
        ``layout="constrained"`` or ``figure.tight_layout()`` likewise.

        Returns
        -------
        display : GradientSignDisplay
            Object that stores the computed values.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.cbook import normalize_kwargs
        from matplotlib.lines import Line2D

        metric = check_metric(self.metric)
        histories = self.histories
        if isinstance(histories, Mapping):
            histories = [histories]
        histories = list(histories)
        if not histories:
            raise ValueError("histories is empty: nothing to plot.")
        for history in histories:
            if not isinstance(history, Mapping):
                raise TypeError("histories must be a list of dicts (gradient_sign_history_"
                                f"); got an element of type {type(history).__name__}.")
        labels = _as_list(self.labels, "labels", len(histories), str)
        if self.layers is None:
            layers = None
        elif isinstance(self.layers, (list, tuple, np.ndarray)):
            layers = [check_layer(layer) for layer in self.layers]
        else:
            layers = [check_layer(self.layers)]

        # Resolve every column before drawing, so a bad layer leaves no half plot.
        curves = []  # (estimator index, layer, values)
        for i, history in enumerate(histories):
            if layers is None:
                wanted = range(history_values(history, metric).shape[1])
            else:
                wanted = layers
            for layer in wanted:
                values, layer = history_column(history, metric, layer)
                curves.append((i, layer, values))

        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        user_kwargs = normalize_kwargs(kwargs, Line2D)
        several = len(histories) > 1
        lines = []
        for i, layer, values in curves:
            if labels[i] is not None:
                name = f"{labels[i]}, layer {layer}"
            elif several:
                name = f"estimator {i}, layer {layer}"
            else:
                name = f"layer {layer}"
            style = {"label": name}
            if several:
                style.update(_curve_style(i, len(histories), values.size))
                style["linestyle"] = _LINESTYLES[layer % len(_LINESTYLES)]
            style.update(user_kwargs)
            x = np.arange(1, values.size + 1)
            lines.extend(ax.plot(x, values, **style))

        ax.set_xlabel("iteration")
        ax.set_ylabel(metric.replace("_", " "))
        if lines:
            _legend_outside(ax)

        self.lines_ = lines
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_history(cls, history, *, metric="same_sign_fraction", layers=None,
                     label=None, ax=None, **kwargs):
        """Plot recorded gradient-sign histories.

        Parameters
        ----------
        history : dict or list of dict
            A ``gradient_sign_history_`` dict, or a list of them.

        metric : METRIC_CHOICES or StepMetric, default='same_sign_fraction'
            The metric to draw.

        layers : int or list of int, default=None
            The weight matrices to draw. If None, all of them.

        label : str or list of str, default=None
            Legend label of the history, or one per history.

        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        **kwargs : dict
            Keyword arguments passed to ``ax.plot``.

        Returns
        -------
        display : GradientSignDisplay
            The display, already plotted.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from centered_nn.plotting import GradientSignDisplay
        >>> history = {"sign_flip_fraction": np.array([[np.nan], [0.4], [0.3]])}
        >>> display = GradientSignDisplay.from_history(
        ...     history, metric="sign_flip_fraction", label="raw")
        >>> display.lines_[0].get_label()
        'raw, layer 0'
        >>> display.ax_.get_ylabel()
        'sign flip fraction'
        """
        _check_matplotlib(f"{cls.__name__}.from_history")
        histories = [history] if isinstance(history, Mapping) else list(history)
        labels = _as_list(label, "labels", len(histories), str)
        if all(lab is None for lab in labels):
            labels = None
        display = cls(histories, labels=labels, metric=metric, layers=layers)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, metric="same_sign_fraction", layers=None,
                       label=None, ax=None, **kwargs):
        """Plot the gradient-sign history of one or several fitted estimators.

        Parameters
        ----------
        estimator : estimator instance or list of estimator instances
            Fitted MLP (fitted with ``record_gradient_signs=True``), or a
            Pipeline, possibly nested, ending in one; or a list of them.

        metric : METRIC_CHOICES or StepMetric, default='same_sign_fraction'
            The metric to draw.

        layers : int or list of int, default=None
            The weight matrices (``coefs_`` indices) to draw; negative values
            count from the end. If None, all of them.

        label : str or list of str, default=None
            Legend label of the estimator, or one per estimator.

        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        **kwargs : dict
            Keyword arguments passed to ``ax.plot``.

        Returns
        -------
        display : GradientSignDisplay
            The display, already plotted.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import warnings
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.exceptions import ConvergenceWarning
        >>> from sklearn.pipeline import make_pipeline
        >>> from centered_nn import Centerer, MLPClassifier
        >>> from centered_nn.plotting import GradientSignDisplay
        >>> X, y = make_classification(n_samples=60, random_state=0)
        >>> X = abs(X)
        >>> def mlp():
        ...     return MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", ConvergenceWarning)
        ...     raw = mlp().fit(X, y)
        ...     centred = make_pipeline(Centerer(), mlp()).fit(X, y)
        >>> display = GradientSignDisplay.from_estimator(
        ...     [raw, centred], metric="sample_same_sign_fraction", layers=0,
        ...     label=["raw", "centred"])
        >>> [line.get_label() for line in display.lines_]
        ['raw, layer 0', 'centred, layer 0']
        >>> display.lines_[0].get_xdata()
        array([1, 2, 3, 4, 5])
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        estimators = list(estimator) if isinstance(estimator, (list, tuple)) else [estimator]
        histories = [fitted_history(find_mlp(est)) for est in estimators]
        labels = _as_list(label, "labels", len(estimators), str)
        if all(lab is None for lab in labels):
            labels = None
        display = cls(histories, labels=labels, metric=metric, layers=layers)
        return display.plot(ax=ax, **kwargs)
