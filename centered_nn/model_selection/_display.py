"""The Display of a centring study (matplotlib optional)."""

import numpy as np

from .._plot_style import (
    DIVERGED_MARKER,
    REFERENCE_COLOR,
    check_axes,
    check_kwargs,
    check_matplotlib,
    curve_style,
    legend_outside,
)

SIGN_METRICS = ("sample_same_sign_fraction", "same_sign_fraction")


def _stacked(curves):
    """Curves of unequal length as rows of one array, NaN after a curve's end."""
    length = max((len(c) for c in curves), default=0)
    out = np.full((len(curves), length), np.nan)
    for i, curve in enumerate(curves):
        out[i, :len(curve)] = curve
    return out


def _median_and_band(curves):
    """(epochs, median, lowest, highest) over the runs still running at each epoch."""
    stacked = _stacked([np.asarray(c, float) for c in curves if c is not None and len(c)])
    if stacked.size == 0:
        return None
    epochs = np.arange(1, stacked.shape[1] + 1)
    return (epochs, np.nanmedian(stacked, axis=0), np.nanmin(stacked, axis=0),
            np.nanmax(stacked, axis=0))


class CenteringStudyDisplay:
    """Panels of a :class:`CenteringStudy`, one Axes each.

    1. ``'loss'``: the training loss per epoch at each setup's fastest rate,
       the median over runs (log scale) with a band from the lowest to the
       highest run (runs that stopped early drop out of later epochs), the
       validation loss's median dotted when the MLP records one, and the
       median target loss as a grey line;
    2. ``'epochs'``: the mean epochs to the target against the learning rate
       (log scale), at the rates where every run reached it; a cross at the
       bottom marks a rate where a run diverged;
    3. ``'score'``: the mean CV score against the rate over the runs that did
       not diverge (a diverged fit's score, such as an R² of -1e131, neither
       enters the mean nor sets the axis), with the same crosses;
    4. ``'signs'``, only when the fits recorded gradient signs: the first
       weight matrix's sign figure per epoch at the fastest rate, median and
       band over runs.

    The legend, outside the last panel, names each setup with its fastest
    rate, the target line and the divergence marker.

    Use :meth:`from_study`, or build it and call :meth:`plot`.

    Parameters
    ----------
    study : CenteringStudy
        The study to plot.

    sign_metric : {'sample_same_sign_fraction', 'same_sign_fraction'}, \
default='sample_same_sign_fraction'
        The sign figure of the signs panel.

    Attributes
    ----------
    panels_ : list of str
        The panels drawn, in order: ``['loss', 'epochs', 'score']``, then
        ``'signs'`` when gradient signs were recorded.

    axes_ : ndarray of matplotlib Axes
        One Axes per panel.

    lines_ : dict of list of matplotlib Line2D
        ``'loss'``, ``'validation'`` (empty unless the fits have a
        ``validation_loss_curve_``), ``'epochs'``, ``'score'``, ``'signs'``:
        one line per setup, in the study's order (medians where there are
        runs to reduce), and ``'target'``, ``'diverged'``.

    bands_ : dict of list of matplotlib PolyCollection
        ``'loss'`` and ``'signs'``: the band (lowest to highest run) per setup.

    figure_ : matplotlib Figure or SubFigure
        The figure holding the panels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.model_selection import CenteringStudyDisplay, centering_study
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(MinMaxScaler(), MLPClassifier(
    ...     hidden_layer_sizes=(8,), solver="sgd", max_iter=10, random_state=0))
    >>> study = centering_study(pipe, X, y, learning_rates=[0.1, 0.3], cv=2, setups={
    ...     "raw": {}, "mean": {"mlpclassifier__input_bias": "mean"}})
    >>> display = CenteringStudyDisplay.from_study(study)
    >>> display.panels_
    ['loss', 'epochs', 'score', 'signs']
    >>> [ax.get_xscale() for ax in display.axes_]
    ['linear', 'log', 'log', 'linear']
    >>> len(display.lines_["loss"])  # one median per setup
    2
    """

    def __init__(self, study, sign_metric="sample_same_sign_fraction"):
        self.study = study
        self.sign_metric = sign_metric

    @classmethod
    def from_study(cls, study, *, sign_metric="sample_same_sign_fraction", ax=None,
                   figure=None, line_kwargs=None, band_kwargs=None, target_kwargs=None,
                   diverged_kwargs=None):
        """Create the display of `study` and plot it.

        Parameters
        ----------
        study : CenteringStudy
            The study to plot.

        sign_metric : str, default='sample_same_sign_fraction'
            The sign figure of the signs panel.

        ax, figure, line_kwargs, band_kwargs, target_kwargs, diverged_kwargs
            As in :meth:`plot`.

        Returns
        -------
        display : CenteringStudyDisplay
            The display, plotted.
        """
        return cls(study, sign_metric=sign_metric).plot(
            ax=ax, figure=figure, line_kwargs=line_kwargs, band_kwargs=band_kwargs,
            target_kwargs=target_kwargs, diverged_kwargs=diverged_kwargs)

    def _panels(self):
        study = self.study
        recorded = any(len(c) for per_setup in study.curves[self.sign_metric]
                       for per_rate in per_setup for c in per_rate if c is not None)
        return ["loss", "epochs", "score"] + (["signs"] if recorded else [])

    def plot(self, ax=None, *, figure=None, line_kwargs=None, band_kwargs=None,
             target_kwargs=None, diverged_kwargs=None):
        """Draw the panels.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per panel (3, or 4 when gradient signs were recorded: see
            `panels_`). If None, the panels are drawn in `figure`, or in a new
            figure (constrained layout).

        figure : matplotlib Figure or SubFigure, default=None
            An empty figure to draw the panels in, side by side; one that
            already holds Axes is refused (pass `ax` to draw on your Axes).

        line_kwargs : dict, default=None
            Keyword arguments for every setup's lines (``Axes.plot``), over
            the default style (a colour and a staggered marker per setup).

        band_kwargs : dict, default=None
            Keyword arguments for the bands (``Axes.fill_between``); the
            default is the setup's colour at ``alpha=0.2``.

        target_kwargs : dict, default=None
            Keyword arguments for the target loss line (``Axes.axhline``).

        diverged_kwargs : dict, default=None
            Keyword arguments for the divergence markers (``Axes.plot``).

        Returns
        -------
        display : CenteringStudyDisplay
            The display, with `panels_`, `axes_`, `lines_`, `bands_` and
            `figure_` set.
        """
        check_matplotlib(f"{type(self).__name__}.plot")
        if self.sign_metric not in SIGN_METRICS:
            raise ValueError(f"sign_metric must be one of {', '.join(map(repr, SIGN_METRICS))}"
                             f"; got {self.sign_metric!r}.")
        styles = {"line": check_kwargs(line_kwargs, "line_kwargs"),
                  "band": check_kwargs(band_kwargs, "band_kwargs"),
                  "target": check_kwargs(target_kwargs, "target_kwargs"),
                  "diverged": check_kwargs(diverged_kwargs, "diverged_kwargs")}
        panels = self._panels()
        axes = self._axes(ax, figure, panels)
        self.panels_, self.axes_, self.figure_ = panels, axes, axes[0].figure
        on = dict(zip(panels, axes))
        self.lines_ = {key: [] for key in ("loss", "validation", "epochs", "score", "signs",
                                           "target", "diverged")}
        self.bands_ = {"loss": [], "signs": []}
        for s in range(len(self.study.setups)):
            self._plot_setup(on, s, styles)
        self._decorate(on, styles)
        return self

    def _axes(self, ax, figure, panels):
        if ax is not None:
            if figure is not None:
                raise ValueError("Pass either ax or figure, not both.")
            return np.array(check_axes(ax, len(panels), "panel (" + ", ".join(panels) + ")"),
                            dtype=object)
        if figure is None:
            import matplotlib.pyplot as plt

            figure = plt.figure(figsize=(4.3 * len(panels) + 1.5, 4.2), layout="constrained")
        elif figure.axes:
            raise ValueError(f"figure already holds {len(figure.axes)} Axes: pass an empty "
                             f"figure, or ax= with {len(panels)} Axes, one per panel.")
        return np.asarray(figure.subplots(1, len(panels)), dtype=object).ravel()

    def _label(self, s):
        study = self.study
        name = list(study.setups)[s]
        rate = study.summary[name]["fastest_rate"]
        text = f"{name}, reference" if name == study.reference else name
        return f"{text} ({'-' if rate is None else format(rate, 'g')})"

    def _plot_setup(self, on, s, styles):
        study = self.study
        name = list(study.setups)[s]
        n_setups, n_rates = len(study.setups), study.learning_rates.size
        rate = study.summary[name]["fastest_rate"]
        if rate is not None:
            r = int(np.flatnonzero(study.learning_rates == rate)[0])
            for panel, key, curves in (("loss", "loss", study.curves["loss_curve"][s][r]),
                                       ("signs", "signs", study.curves[self.sign_metric][s][r])):
                if panel in on:
                    self._median(on[panel], key, s, curves, styles)
            validation = _median_and_band(study.curves["validation_loss_curve"][s][r])
            if validation is not None:
                self.lines_["validation"] += on["loss"].plot(
                    validation[0], validation[1], linestyle=":", linewidth=1,
                    color=f"C{s % 10}")
        f = study.figures
        # few points: a marker on each, so that a rate that trains alone still shows
        style = {**curve_style(s, n_setups, n_rates, markersize=5), "markevery": None,
                 **styles["line"]}
        trained = f["reached"][s].all(axis=-1)
        epochs = np.where(trained, f["epochs_to_target"][s].mean(axis=-1), np.nan)
        self.lines_["epochs"] += on["epochs"].plot(study.learning_rates, epochs, **style)
        ok = ~(f["diverged"][s] | f["failed"][s])
        score = np.array([v[k].mean() if k.any() else np.nan
                          for v, k in zip(f["test_score"][s], ok)])
        self.lines_["score"] += on["score"].plot(study.learning_rates, score, **style)
        diverged = f["diverged"][s].any(axis=-1)
        if diverged.any():
            marker = {"linestyle": "", "marker": DIVERGED_MARKER, "color": style["color"],
                      "markersize": 7, **styles["diverged"]}
            for panel in ("epochs", "score"):  # at the bottom of the axes
                ax = on[panel]
                self.lines_["diverged"] += ax.plot(
                    study.learning_rates[diverged], np.full(diverged.sum(), 0.02),
                    transform=ax.get_xaxis_transform(), clip_on=False, **marker)

    def _median(self, ax, key, s, curves, styles):
        summary = _median_and_band(curves)
        if summary is None:
            return
        epochs, median, low, high = summary
        style = {**curve_style(s, len(self.study.setups), epochs.size, markersize=4),
                 "linewidth": 1.2, **styles["line"]}
        self.lines_[key] += ax.plot(epochs, median, label=self._label(s), **style)
        self.bands_[key].append(ax.fill_between(
            epochs, low, high, **{"color": style["color"], "alpha": 0.2, "linewidth": 0,
                                  **styles["band"]}))

    def _decorate(self, on, styles):
        from matplotlib.lines import Line2D

        study = self.study
        target = float(np.nanmedian(study.target_loss)) if np.isfinite(
            study.target_loss).any() else np.nan
        if np.isfinite(target) and target > 0:
            self.lines_["target"].append(on["loss"].axhline(
                target, **{"color": REFERENCE_COLOR, "linewidth": 0.9, "linestyle": "--",
                           **styles["target"]}))
        on["loss"].set(yscale="log", xlabel="epoch", ylabel="training loss",
                       title="loss at each setup's fastest rate")
        on["epochs"].set(xscale="log", xlabel="learning_rate_init",
                         ylabel="epochs to the target (mean)",
                         title="epochs to the target loss")
        on["score"].set(xscale="log", xlabel="learning_rate_init",
                        ylabel="CV score (mean, diverged fits left out)",
                        title="CV score against the rate")
        for panel in ("epochs", "score"):  # the grid's rates as written, not 3x10^-1
            on[panel].set_xticks(study.learning_rates,
                                 labels=[f"{r:g}" for r in study.learning_rates])
            on[panel].minorticks_off()
        if "signs" in on:
            on["signs"].set(xlabel="epoch", ylabel=self.sign_metric.replace("_", " ") + " L0",
                            ylim=(-0.04, 1.04), title="first-layer signs at the fastest rate")
        handles = [Line2D([], [], label=self._label(s),
                          **{k: v for k, v in curve_style(s, len(study.setups), 1).items()
                             if k != "markevery"})
                   for s in range(len(study.setups))]
        if self.lines_["target"]:
            handles.append(Line2D([], [], color=REFERENCE_COLOR, linestyle="--",
                                  label="target loss (median over runs)"))
        if self.lines_["diverged"]:
            handles.append(Line2D([], [], color="0.3", linestyle="", marker=DIVERGED_MARKER,
                                  label="a run diverged at this rate"))
        legend_outside(on[self.panels_[-1]], handles=handles, title="setup (fastest rate)",
                       fontsize="small")
