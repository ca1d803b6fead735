"""Display objects for gradient-sign diagnostics, in scikit-learn's style.

matplotlib is an optional dependency (``pip install "centered_nn[plot]"``);
it is imported only when something is drawn.
"""

import warnings
from collections.abc import Mapping

import numpy as np

from ._plot_style import (
    LINESTYLES,
    check_axes,
    check_kwargs,
    check_matplotlib,
    curve_style,
    legend_outside,
)
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


def _renamed(name, label, old="label"):
    """``name``, or the deprecated ``label`` spelling of it with a FutureWarning."""
    if label is None:
        return name
    if name is not None:
        raise TypeError(f"Pass name only; {old} is its deprecated spelling.")
    warnings.warn(f"{old} was renamed name (scikit-learn's word) in 0.1 and will be removed "
                  "in 0.2.", FutureWarning, stacklevel=3)
    return label


@document_metrics
class GradientSignDisplay:
    """Gradient-sign diagnostics over training iterations.

    Draws one line per (estimator, weight matrix): a metric of
    ``gradient_sign_history_`` against the iteration number, on one Axes or
    on one Axes per weight matrix. Several estimators share each Axes, which
    makes centring setups easy to compare.

    It is recommended to use :meth:`from_estimator` or :meth:`from_history`
    to create a display. All parameters are stored as attributes.

    Parameters
    ----------
    histories : list of dict
        One gradient-sign history per estimator: a dict mapping metric names
        to arrays of shape (n_records, n_weight_matrices), as in
        ``MLPClassifier.gradient_sign_history_``.

    name : str or list of str, default=None
        The name of the estimator in the legend, or one per history. If None,
        a single history is labelled by layer only and several histories are
        called "estimator 0", ...

    metric : METRIC_CHOICES or StepMetric, default='same_sign_fraction'
        The metric to draw (a user's :class:`~centered_nn.diagnostics.StepMetric`:
        the one recorded).

    layers : int or list of int, default=None
        The weight matrices (``coefs_`` indices) to draw; negative values
        count from the end. If None, all of them.

    labels : list of str, default=None
        Deprecated spelling of `name`.

        .. deprecated:: 0.1
           Use `name`; `labels` will be removed in 0.2.

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        The drawn lines, estimator-major: all layers of the first estimator,
        then those of the second, and so on.

    ax_ : matplotlib Axes or None
        The Axes with the lines; None when they are drawn on one Axes per
        weight matrix (see `axes_`).

    axes_ : ndarray of matplotlib Axes
        Every Axes drawn on: one, or one per weight matrix.

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
    >>> display.ax_.get_title()
    'same sign fraction per iteration'
    """

    def __init__(self, histories, name=None, metric="same_sign_fraction", layers=None, *,
                 labels=None):
        self.histories = histories
        self.name = name
        self.metric = metric
        self.layers = layers
        self.labels = labels

    def _curves(self, metric):
        """(estimator index, layer, values) of every curve, resolved before any drawing."""
        if self.layers is None:
            layers = None
        elif isinstance(self.layers, (list, tuple, np.ndarray)):
            layers = [check_layer(layer) for layer in self.layers]
        else:
            layers = [check_layer(self.layers)]
        curves = []
        for i, history in enumerate(self._histories()):
            wanted = (range(history_values(history, metric).shape[1]) if layers is None
                      else layers)
            for layer in wanted:
                values, layer = history_column(history, metric, layer)
                curves.append((i, layer, values))
        return curves

    def _histories(self):
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
        return histories

    def plot(self, ax=None, *, line_kwargs=None, **kwargs):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of matplotlib Axes, default=None
            One Axes to draw every line on, or one Axes per drawn weight
            matrix (in the order of `layers`, else ascending), each holding
            that layer's lines. If None, a new figure and Axes are created.

        line_kwargs : dict or list of dict, default=None
            Keyword arguments passed to ``ax.plot``: one dict for every line,
            or one per estimator. When several estimators share an Axes, each
            gets its own colour and marker (markers staggered, so identical
            curves stay visible) and each layer its own line style; `color`,
            `marker`, `markevery`, `linestyle` (or their aliases) override that.

        **kwargs : dict
            More keyword arguments for ``ax.plot``, applied after
            `line_kwargs`.

        Notes
        -----
        The legend is placed outside the (last) Axes, to its right, so that it
        never covers a curve. A figure created here uses the constrained
        layout, which makes room for it; with your own `ax`, use
        ``layout="constrained"`` or ``figure.tight_layout()`` likewise. An Axes
        without a title gets one.

        Returns
        -------
        display : GradientSignDisplay
            Object that stores the computed values.
        """
        check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes
        from matplotlib.cbook import normalize_kwargs
        from matplotlib.lines import Line2D

        metric = check_metric(self.metric)
        histories = self._histories()
        n = len(histories)
        names = _as_list(_renamed(self.name, self.labels, "labels"), "names", n, str)
        per_estimator = (line_kwargs if isinstance(line_kwargs, (list, tuple))
                         else [line_kwargs] * n)
        if len(per_estimator) != n:
            raise ValueError(f"Got {len(per_estimator)} dicts in line_kwargs for {n} "
                             "estimator(s); pass one dict, or one per estimator.")
        per_estimator = [normalize_kwargs(check_kwargs(k, "line_kwargs"), Line2D)
                         for k in per_estimator]
        curves = self._curves(metric)  # a bad layer leaves no half plot
        drawn = list(dict.fromkeys(layer for _, layer, _ in curves))
        axes = None
        if ax is not None and not isinstance(ax, Axes):
            axes = check_axes(ax, len(drawn), "drawn weight matrix")
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        on = {layer: ax for layer in drawn} if axes is None else dict(zip(drawn, axes))
        user_kwargs = normalize_kwargs(kwargs, Line2D)
        lines = []
        for i, layer, values in curves:
            label = (f"{names[i]}, layer {layer}" if names[i] is not None
                     else f"estimator {i}, layer {layer}" if n > 1 else f"layer {layer}")
            style = {"label": label}
            if n > 1:
                style.update(curve_style(i, n, values.size))
                style["linestyle"] = LINESTYLES[layer % len(LINESTYLES)]
            style.update(per_estimator[i])
            style.update(user_kwargs)
            lines.extend(on[layer].plot(np.arange(1, values.size + 1), values, **style))

        words = metric.replace("_", " ")
        for layer, target in on.items():
            target.set_xlabel("iteration")
            target.set_ylabel(words)
            if not target.get_title():
                target.set_title(f"{words} per iteration" if axes is None
                                 else f"{words}, layer {layer}")
        if lines:
            legend_outside(on[drawn[-1]])

        self.lines_ = lines
        self.axes_ = np.array([ax] if axes is None else axes, dtype=object)
        self.ax_ = ax if axes is None else None
        self.figure_ = self.axes_[0].figure
        return self

    @classmethod
    def from_history(cls, history, *, metric="same_sign_fraction", layers=None,
                     name=None, ax=None, line_kwargs=None, label=None, **kwargs):
        """Plot recorded gradient-sign histories.

        Parameters
        ----------
        history : dict or list of dict
            A ``gradient_sign_history_`` dict, or a list of them.

        metric : METRIC_CHOICES or StepMetric, default='same_sign_fraction'
            The metric to draw.

        layers : int or list of int, default=None
            The weight matrices to draw. If None, all of them.

        name : str or list of str, default=None
            Legend name of the history, or one per history.

        ax : matplotlib Axes or array-like of matplotlib Axes, default=None
            One Axes, or one per drawn weight matrix. If None, a new figure
            and Axes are created.

        line_kwargs : dict or list of dict, default=None
            Keyword arguments passed to ``ax.plot``, for every line or one
            dict per history.

        label : str or list of str, default=None
            Deprecated spelling of `name`.

            .. deprecated:: 0.1
               Use `name`; `label` will be removed in 0.2.

        **kwargs : dict
            More keyword arguments passed to ``ax.plot``.

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
        ...     history, metric="sign_flip_fraction", name="raw")
        >>> display.lines_[0].get_label()
        'raw, layer 0'
        >>> display.ax_.get_ylabel()
        'sign flip fraction'
        """
        check_matplotlib(f"{cls.__name__}.from_history")
        histories = [history] if isinstance(history, Mapping) else list(history)
        return cls._plotted(histories, _renamed(name, label), metric, layers, ax,
                            line_kwargs, kwargs)

    @classmethod
    def _plotted(cls, histories, name, metric, layers, ax, line_kwargs, kwargs):
        names = _as_list(name, "names", len(histories), str)
        display = cls(histories, name=None if all(n is None for n in names) else names,
                      metric=metric, layers=layers)
        return display.plot(ax=ax, line_kwargs=line_kwargs, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, metric="same_sign_fraction", layers=None,
                       name=None, ax=None, line_kwargs=None, label=None, **kwargs):
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

        name : str or list of str, default=None
            Legend name of the estimator, or one per estimator.

        ax : matplotlib Axes or array-like of matplotlib Axes, default=None
            One Axes, or one per drawn weight matrix. If None, a new figure
            and Axes are created.

        line_kwargs : dict or list of dict, default=None
            Keyword arguments passed to ``ax.plot``, for every line or one
            dict per estimator.

        label : str or list of str, default=None
            Deprecated spelling of `name`.

            .. deprecated:: 0.1
               Use `name`; `label` will be removed in 0.2.

        **kwargs : dict
            More keyword arguments passed to ``ax.plot``.

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
        ...     name=["raw", "centred"])
        >>> [line.get_label() for line in display.lines_]
        ['raw, layer 0', 'centred, layer 0']
        >>> display.lines_[0].get_xdata()
        array([1, 2, 3, 4, 5])
        """
        check_matplotlib(f"{cls.__name__}.from_estimator")
        estimators = list(estimator) if isinstance(estimator, (list, tuple)) else [estimator]
        histories = [fitted_history(find_mlp(est)) for est in estimators]
        return cls._plotted(histories, _renamed(name, label), metric, layers, ax,
                            line_kwargs, kwargs)
